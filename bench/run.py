"""Benchmarks at national scale: how vmeeting's cost grows from one province to the country.

    python bench/run.py [--backend postgresql|sqlite|both] [--workers 4] [--scale full|small|sites]
                        [--only book,slots,calendar,feed,probe,network,meeting_page,weights,delivery]

For each backend: make a fresh database (PostgreSQL: its own database on the
local server, dropped at the end), generate the country into it
(bench/generate.py), start the app under gunicorn with several workers and
`sipp` responders for the probes, and time each figure through HTTP. Every
figure is a median, and also a ratio to the median of `/healthz` taken through
the same server in the same run, so that a busy or slow machine moves both and
the ratio stays comparable between runs. The bookings are also reported as
server time: the app's own `Server-Timing: app;dur=` header (vmeeting/__init__.py,
from the first before-request hook to the response built, commit included),
which leaves out the HTTP round trip and gunicorn; its ratio is to the same
/healthz median as the other figures. `--only` measures some figures (after
the same generation), for a quick look at one change. Writes
bench/results/results.md and results.json and prints the table.
"""

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime, time as clock, timedelta, timezone
from pathlib import Path
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path[:0] = [str(BENCH), str(ROOT)]

import sqlalchemy as sa  # noqa: E402

import delivery  # noqa: E402
import generate  # noqa: E402
import sweep  # noqa: E402
import weights  # noqa: E402
from config import Config  # noqa: E402
from client import Client, expect, load, median_ms, timed  # noqa: E402
from peers import Peers  # noqa: E402
from tests.pg import create_postgres_database  # noqa: E402

PG_SERVER = os.environ.get("BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
RESULTS = BENCH / "results"
ADMIN, PASSWORD = "bench-admin", "cau-vong-bay-sac-1"
SIP_PEERS = 4
PROBE_SIZES = (213, 2000, 10_000)
BOOK_SAMPLES = {213: 9, 2000: 3, 10_000: 3}
#: bookings sent first and not counted: each gunicorn worker's first booking pays for its imports and first
#: queries (about 0.3 s), and which worker answers is chance; the first figure of the run warms them
BOOK_WARMUP = {213: 4, 2000: 0, 10_000: 0}
COLD_FEEDS = 5
#: the figures, in the order they are measured; probe sweeps the meetings the bookings made
FIGURES = ("book", "slots", "calendar", "feed", "probe", "network", "meeting_page", "weights", "delivery")
SCALES = {"full": generate.Scale(),
          "small": generate.Scale(endpoints=2_300, provinces=10, days=730, small_meetings=30_000),
          # the country's sites with a fortnight of meetings: enough for the page weights (--only weights)
          "sites": generate.Scale(endpoints=10_000, provinces=63, days=14, small_meetings=3_000)}


# -- the database and the server --------------------------------------------------------------


def create_database(backend, workdir):
    """Return (url, drop) of a fresh, empty database for this run."""
    if backend == "sqlite":
        return f"sqlite:///{workdir / 'bench.db'}", lambda: None
    return create_postgres_database(PG_SERVER, "vmeeting_bench")


class Server:
    """The app under gunicorn on a free loopback port, as production runs it."""

    def __init__(self, url, workers, workdir):
        self.port = _free_tcp_port()
        self.log = workdir / "gunicorn.log"
        env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": "bench-" + uuid.uuid4().hex,
               "VMEETING_ENV": "production", "SESSION_COOKIE_SECURE": "0", "SCHEDULER": "off",
               "VMEETING_INSTANCE": str(workdir)}
        gunicorn = Path(sys.executable).with_name("gunicorn")
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [str(gunicorn), "--workers", str(workers), "--bind", f"127.0.0.1:{self.port}",
                 "--timeout", "900", "--log-level", "warning", "wsgi:app"],
                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while True:
            try:
                if Client("127.0.0.1", self.port, timeout=5).get("/healthz").status == 200:
                    return
            except OSError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"gunicorn did not start:\n{self.log.read_text()[-3000:]}")
            time.sleep(0.3)

    def client(self, token=None):
        return Client("127.0.0.1", self.port, token=token)

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _free_tcp_port():
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def prepare(url, country, peers):
    """Add what the measurements need: an admin with an API token, feed tokens, sites answering SIP."""
    from vmeeting.auth import service as auth
    from vmeeting.core.extensions import db
    from vmeeting.invites import feeds
    from vmeeting.registry.models import Endpoint

    app = generate.make_app(url)
    with app.app_context():
        user = auth.create_user(ADMIN, "admin", password=PASSWORD, email="bench-admin@example.vn")
        token = auth.issue_token(user)
        tokens = [feeds.create_feed("endpoint", country.feed_endpoint_id, user)[1] for _ in range(COLD_FEEDS + 1)]
        for index, port in enumerate(peers.ports):
            uri = sa.literal("sip:") + sa.func.lower(Endpoint.code) + sa.literal(f"@127.0.0.1:{port}")
            db.session.execute(sa.update(Endpoint).where(Endpoint.id % len(peers.ports) == index)
                               .values(sip_uri=uri))
        db.session.commit()
        db.engine.dispose()
    return token, tokens


# -- the figures ----------------------------------------------------------------------------------


class Bench:
    """The measurements of one backend, through one running server."""

    def __init__(self, server, token, feed_tokens, country):
        self.server, self.country, self.feed_tokens = server, country, feed_tokens
        self.api = server.client(token)
        self.page = server.client()
        self.page.login(ADMIN, PASSWORD)
        self.figures = {}
        self.zone = ZoneInfo(Config.TIMEZONE)
        self.next_day = datetime.now(self.zone).date() + timedelta(days=7)
        self.meetings_by_size = {}

    def record(self, key, label, seconds, **extra):
        self.figures[key] = {"label": label, "median_ms": median_ms(seconds), "samples": len(seconds), **extra}
        print(f"  {label}: {self.figures[key]['median_ms']} ms", flush=True)

    def healthz(self, repeat=100):
        return timed(lambda: expect(self.page.get("/healthz"), 200, "healthz"), repeat, warmup=10)

    def _free_noon(self):
        """A weekday noon (12:00–13:00 local) that no benchmark booking has used yet."""
        while self.next_day.weekday() >= 5:
            self.next_day += timedelta(days=1)
        day, self.next_day = self.next_day, self.next_day + timedelta(days=1)
        start = datetime.combine(day, clock(12, 0), tzinfo=self.zone)
        return start.isoformat(), (start + timedelta(hours=1)).isoformat()

    def book(self, size):
        endpoint_ids = self.country.reference_endpoint_ids if size == 213 else self.country.endpoint_ids[:size]
        server_seconds = []

        def send():
            starts_at, ends_at = self._free_noon()
            answer = expect(self.api.request("POST", "/api/v1/meetings", json_body={
                "title": f"Hội nghị đo tải {size} điểm cầu", "starts_at": starts_at, "ends_at": ends_at,
                "chair_endpoint_id": endpoint_ids[0], "endpoint_ids": endpoint_ids,
                # the lunch break is outside working hours: free of the generated meetings, booked on purpose
                "allow_non_working_time": True}), 201, f"booking {size}")
            self.meetings_by_size[size] = answer.json()["id"]
            server_seconds.append(server_time(answer))
            return answer

        self.record(f"book_{size}", f"book a meeting of {len(endpoint_ids):,} endpoints (API)",
                    timed(send, BOOK_SAMPLES[size], warmup=BOOK_WARMUP[size]), size=size)
        self.record(f"book_{size}_server", f"book a meeting of {len(endpoint_ids):,} endpoints (API), server time",
                    server_seconds[-BOOK_SAMPLES[size]:], size=size)

    def slots(self, size):
        today = datetime.now(self.zone).date()
        monday = today + timedelta(days=7 - today.weekday())
        window_from = datetime.combine(monday, clock(0), tzinfo=self.zone)
        query = {"duration_minutes": 60, "limit": 5, "from": window_from.isoformat(),
                 "to": (window_from + timedelta(days=42)).isoformat()}
        query.update({"unit_ids": self.country.reference_province_id} if size == 213 else {"all_endpoints": 1})
        path = "/api/v1/slots?" + urlencode(query)
        answer = expect(self.api.get(path), 200, "slots").json()
        self.record(f"slots_{size}", f"slot finder, {answer['endpoint_count']:,} endpoints, 30 working days",
                    timed(lambda: expect(self.api.get(path), 200, "slots"), 5), size=size,
                    found=len(answer["items"]))

    def slots_busy_week(self, size):
        """The slot finder over a week whose first three days are taken (generate.take_first_slots): the first
        free slots are on Thursday, after every start of Monday to Wednesday has been ruled out."""
        monday, provinces = self.country.busy_week
        unit_ids = provinces[:1] if size == 213 else provinces
        window_from = datetime.combine(monday, clock(0), tzinfo=self.zone)
        query = {"duration_minutes": 60, "limit": 5, "from": window_from.isoformat(),
                 "to": (window_from + timedelta(days=7)).isoformat(), "unit_ids": ",".join(map(str, unit_ids))}
        path = "/api/v1/slots?" + urlencode(query)
        answer = expect(self.api.get(path), 200, "slots").json()
        first = datetime.fromisoformat(answer["items"][0]["starts_at"]).astimezone(self.zone)
        if first.date() != monday + timedelta(days=3):
            raise RuntimeError(f"the busy week's first free slot is {first}, not on its Thursday")
        self.record(f"slots_week_{size}", f"slot finder, {answer['endpoint_count']:,} endpoints, a week whose "
                    f"first 3 days are taken", timed(lambda: expect(self.api.get(path), 200, "slots"), 7, warmup=1),
                    size=size, endpoints=answer["endpoint_count"], found=len(answer["items"]))

    def calendar(self):
        day = datetime.now(self.zone).date() + timedelta(days=14)
        path = f"/calendar?view=week&date={day.isoformat()}"
        self.record("calendar_week", "week calendar page", timed(lambda: expect(self.page.get(path), 200, "calendar"),
                                                                 5, warmup=1))

    def feed(self):
        paths = [f"/calendar/{token}.ics" for token in self.feed_tokens]
        cold = [expect(self.page.get(path), 200, "feed").seconds for path in paths[:-1]]
        warm_path = paths[-1]
        first = expect(self.page.get(warm_path), 200, "feed")
        self.record("feed_cold", "endpoint's year feed (.ics), cold", cold, bytes=len(first.body),
                    events=first.body.count(b"BEGIN:VEVENT"))
        self.record("feed_warm", "endpoint's year feed (.ics), warm",
                    timed(lambda: expect(self.page.get(warm_path), 200, "feed"), 20, warmup=12))
        etag = first.headers["ETag"]
        self.record("feed_304", "endpoint's year feed, revalidated (304)",
                    timed(lambda: expect(self.page.get(warm_path, headers={"If-None-Match": etag}), 304, "feed"), 20))

    def probe(self, size):
        meeting_id = self.meetings_by_size[size]
        summaries = []

        def send():
            answer = expect(self.api.request("POST", f"/api/v1/meetings/{meeting_id}/probe"), 200, "probe")
            summaries.append(answer.json()["summary"])
            return answer

        seconds = timed(send, 3)
        unreachable = max(s["unreachable"] for s in summaries)
        self.record(f"probe_{size}", f"probe sweep of {summaries[-1]['total']:,} endpoints (sipp)", seconds,
                    size=size, unreachable=unreachable)

    def network_sweep(self, url, peer_ports):
        """The worker's sweep of every active site (no HTTP: it is the scheduler's work), recorded in the database;
        then with half the sites silent, each waiting the whole timeout (bench/sweep.py)."""
        self.figures.update(sweep.network_figures(url, peer_ports))

    def page_weights(self):
        """Page weights (bytes, DOM elements) of the pages that carry the meeting of all sites, before any section
        is opened (issue 25): its readiness board, its page, the roll-call of its first sitting (not begun: the
        sites by district, unmarked) and its booking form (the edit form, the sites chosen), for each meeting
        booked (213 sites: the reference province, as the demo's; 2,000; 10,000: every site). Each should stay
        flat as the sites grow past what one screen shows: weights.WEIGHT_PAGES, growth in with_ratios."""
        for size, meeting_id in sorted(self.meetings_by_size.items()):
            meeting = expect(self.api.get(f"/api/v1/meetings/{meeting_id}"), 200, "meeting").json()
            sitting = meeting["occurrences"][0]["id"]
            paths = {"readiness": f"/meetings/{meeting_id}/readiness", "meeting_page": f"/meetings/{meeting_id}",
                     "roll_call": f"/meetings/{meeting_id}/occurrences/{sitting}/attendance",
                     "booking_form": f"/meetings/{meeting_id}/edit"}
            for key, label in weights.WEIGHT_PAGES.items():
                weight = weights.page_weight(expect(self.page.get(paths[key]), 200, label).body)
                self.figures[f"weight_{key}_{size}"] = {
                    "label": f"{label} of {size:,} sites: {weight['bytes']:,} bytes, {weight['nodes']:,} elements",
                    "page": key, "size": size, **weight}
                print(f"  {self.figures[f'weight_{key}_{size}']['label']}", flush=True)
        # the empty form offers the country's sites: the pickers search the server past PICKER_INLINE_SITES
        weight = weights.page_weight(expect(self.page.get("/meetings/new"), 200, "booking form").body)
        self.figures["weight_new_form"] = {
            "label": f"new booking form, {len(self.country.endpoint_ids):,} sites on offer: {weight['bytes']:,} "
                     f"bytes, {weight['nodes']:,} elements", "page": "new_form",
            "size": len(self.country.endpoint_ids), **weight}
        print(f"  {self.figures['weight_new_form']['label']}", flush=True)

    def meeting_page(self, seconds=10):
        path = f"/meetings/{self.country.province_meeting_id}"
        sites = len(self.country.reference_endpoint_ids)
        self.record("meeting_page", f"meeting page ({sites} sites, a monthly series)",
                    timed(lambda: expect(self.page.get(path), 200, "meeting page"), 10, warmup=2))
        # a large meeting's page fetches these two sections after it has loaded (the sites when opened)
        for section, label in (("sites", "its sites section"), ("invites-panel", "its invites panel")):
            self.record(f"meeting_page_{section.replace('-', '_')}", f"meeting page ({sites} sites), {label}",
                        timed(lambda: expect(self.page.get(f"{path}/{section}"), 200, section), 10, warmup=1))
        cookie = "; ".join(f"{k}={v}" for k, v in self.page.cookies.items())
        healthz_rps, tool = load("127.0.0.1", self.server.port, "/healthz", seconds=seconds)
        page_rps, tool = load("127.0.0.1", self.server.port, path, seconds=seconds, headers={"Cookie": cookie})
        self.figures["meeting_page_rps"] = {"label": f"meeting page under load ({tool}, 8 connections)",
                                            "rps": round(page_rps, 1), "healthz_rps": round(healthz_rps, 1)}
        print(f"  meeting page: {page_rps:.1f} req/s (healthz {healthz_rps:.1f} req/s)", flush=True)




def server_time(response):
    """Return the seconds the app says it worked on the response (its Server-Timing `app;dur=` in ms)."""
    for part in (response.headers.get("Server-Timing") or "").split(","):
        name, _, params = part.strip().partition(";")
        if name == "app" and params.startswith("dur="):
            return float(params[4:]) / 1000
    raise RuntimeError("the response has no Server-Timing app;dur= header")


def run_backend(backend, args, workdir):
    """Generate, serve and measure one backend; return its results."""
    url, drop = create_database(backend, workdir)
    peers = None
    server = None
    try:
        print(f"[{backend}] generating the country…", flush=True)
        started = time.perf_counter()
        app = generate.make_app(url)
        with app.app_context():
            from flask_migrate import upgrade

            from vmeeting.core.extensions import db

            upgrade()
            country = generate.generate(SCALES[args.scale])
            if "slots" in args.only:
                country.busy_week = generate.busy_week(country)
            db.engine.dispose()
        generation = time.perf_counter() - started
        print(f"  {generation:.0f} s: " + ", ".join(f"{v:,} {k}" for k, v in country.counts.items()), flush=True)
        if args.only == {"delivery"}:  # no web server needed: bookings written in-process, workers as processes
            return {"counts": country.counts, "figures": delivery.measure(url, country, workdir)}
        peers = Peers(shutil.which("sipp") or "/usr/bin/sipp", workdir, SIP_PEERS)
        token, feed_tokens = prepare(url, country, peers)
        server = Server(url, args.workers, workdir)
        bench = Bench(server, token, feed_tokens, country)
        print(f"[{backend}] measuring through gunicorn ({args.workers} workers)…", flush=True)
        baseline = bench.healthz()
        only = args.only
        if "book" in only or "probe" in only:
            for size in (213, 2000, 10_000):
                bench.book(size)
        if "slots" in only:
            bench.slots(213)
            bench.slots(10_000)
            bench.slots_busy_week(213)
            bench.slots_busy_week(2000)
        if "calendar" in only:
            bench.calendar()
        if "feed" in only:
            bench.feed()
        if "probe" in only:
            for size in PROBE_SIZES:
                bench.probe(size)
        if "network" in only:
            bench.network_sweep(url, peers.ports)
        if "meeting_page" in only:
            bench.meeting_page()
        if "weights" in only:
            if not bench.meetings_by_size:
                for size in (213, 10_000):
                    bench.book(size)
            bench.page_weights()
            bench.figures["weight_new_form_213"] = {**weights.one_province_form(workdir), "page": "new_form",
                                                    "size": 213, "label": "new booking form, 213 sites on offer"}
        if "delivery" in only:
            bench.figures.update(delivery.measure(url, country, workdir))
        baseline += bench.healthz()
        return {"generation_seconds": round(generation, 1), "counts": country.counts, "workers": args.workers,
                "healthz_ms": median_ms(baseline), "figures": bench.figures}
    finally:
        if server is not None:
            server.stop()
        if peers is not None:
            peers.stop()
        drop()


# -- the report ---------------------------------------------------------------------------------


def machine():
    """nproc and the CPU model, to read the absolute figures against."""
    model = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"nproc": os.cpu_count(), "cpu": model, "python": platform.python_version()}


def with_ratios(result):
    """Add each figure's ratio to /healthz, and the growth from 213 to 10,000 endpoints."""
    base = result["healthz_ms"]
    figures = result["figures"]
    for figure in figures.values():
        if "median_ms" in figure:
            figure["ratio"] = round(figure["median_ms"] / base, 1)
    rps = figures.get("meeting_page_rps")
    if rps:
        rps["ratio"] = round(rps["healthz_rps"] / rps["rps"], 1)
    result["growth"] = {}
    for kind in ("book", "probe", "slots"):
        small, large = figures.get(f"{kind}_213"), figures.get(f"{kind}_10000")
        if small and large:
            result["growth"][kind] = round(large["median_ms"] / small["median_ms"], 1)
    small, large = figures.get("slots_week_213"), figures.get("slots_week_2000")
    if small and large:
        # the busy week's sites grow by their own factor (whole provinces): the cost should grow no faster
        result["growth"]["slots_week"] = {"sites": round(large["endpoints"] / small["endpoints"], 1),
                                          "cost": round(large["median_ms"] / small["median_ms"], 1)}
    result["weight_growth"] = weights.weight_growth(figures)
    return result


def markdown(results):
    """The table of every backend's figures, with the machine they ran on."""
    lines = [f"Machine: {results['machine']['nproc']} CPUs, {results['machine']['cpu']}; "
             f"run {results['started_at']}.", ""]
    for backend, result in results["backends"].items():
        counts = result["counts"]
        lines += [f"**{backend}**, {result['workers']} gunicorn workers; generated in {result['generation_seconds']} s: "
                  f"{counts['endpoints']:,} endpoints, {counts['occurrences']:,} occurrences, "
                  f"{counts['reservations']:,} reservations.", "",
                  "| figure | median | × /healthz |", "| --- | ---: | ---: |",
                  f"| `/healthz` (baseline) | {result['healthz_ms']} ms | 1 |"]
        weighed = []
        for key, figure in result["figures"].items():
            if key.startswith("weight_"):
                weighed.append(figure)
            elif "median_ms" in figure:
                lines.append(f"| {figure['label']} | {figure['median_ms']:,} ms | {figure['ratio']:,} |")
            elif "nodes" in figure:
                lines.append(f"| {figure['label']} | {figure['nodes']:,} elements, {figure['bytes']:,} bytes | |")
            else:
                lines.append(f"| {figure['label']} | {figure['rps']:,} req/s | {figure['ratio']} "
                             f"(`/healthz` {figure['healthz_rps']:,} req/s) |")
        lines += ["", "| growth from 213 to 10,000 endpoints (work ×47) | × |", "| --- | ---: |"]
        names = {"book": "booking through the API", "probe": "probe sweep", "slots": "slot finder"}
        lines += [f"| {names[kind]} | {value} |" for kind, value in result["growth"].items() if kind in names]
        week = result["growth"].get("slots_week")
        if week:
            lines += ["", f"| slot finder, a week whose first 3 days are taken: sites ×{week['sites']} | × |",
                      "| --- | ---: |", f"| cost | {week['cost']} |"]
        if weighed:
            lines += weights.weight_table(result["figures"], result.get("weight_growth") or {})
        lines.append("")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("postgresql", "sqlite", "both"), default="postgresql")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--scale", choices=tuple(SCALES), default="full")
    parser.add_argument("--output", type=Path, default=RESULTS)
    parser.add_argument("--only", default=",".join(FIGURES),
                        help="comma-separated figures to measure (default: all): " + ", ".join(FIGURES))
    args = parser.parse_args(argv)
    args.only = {name.strip() for name in args.only.split(",") if name.strip()}
    if args.only - set(FIGURES):
        parser.error(f"--only: unknown figures {', '.join(sorted(args.only - set(FIGURES)))}")
    started = time.perf_counter()
    results = {"machine": machine(), "started_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
               "scale": args.scale, "only": sorted(args.only), "backends": {}}
    backends = ("postgresql", "sqlite") if args.backend == "both" else (args.backend,)
    for backend in backends:
        with tempfile.TemporaryDirectory(prefix="vmeeting-bench-") as workdir:
            result = run_backend(backend, args, Path(workdir))
            results["backends"][backend] = result if args.only == {"delivery"} else with_ratios(result)
    results["total_seconds"] = round(time.perf_counter() - started, 1)
    args.output.mkdir(parents=True, exist_ok=True)
    table = delivery.markdown(results) if args.only == {"delivery"} else markdown(results)
    # a figure measured alone has its own file, beside the whole run's
    name = {frozenset({"delivery"}): "results-delivery", frozenset({"weights"}): "results-weights"}.get(
        frozenset(args.only), "results")
    (args.output / f"{name}.md").write_text(table + "\n")
    (args.output / f"{name}.json").write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    print()
    print(table)
    print(f"Total {results['total_seconds']:.0f} s; written to {args.output}/{name}.md and {name}.json")

if __name__ == "__main__":
    main()
