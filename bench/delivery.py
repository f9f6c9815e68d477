"""How fast a booking's invites reach the SMTP server, with one and with two worker processes.

    python bench/run.py --only delivery [--backend postgresql] [--scale full]

(`make bench` runs it too, after the page figures.) For 213 sites (the
reference province) and 10,000, with 1 and 2 `flask scheduler run` processes:
the worker processes start and settle, a meeting is booked through the
booking service and committed, and the clock runs from that commit until a
local SMTP server (aiosmtpd, in this process) has accepted the meeting's last
invite. Mails per second are the meeting's mails over that time. The cost
of the outbox listener inside the booking's transaction is timed on the
largest booking. Each figure is one sample: a drain of thousands of mails
is its own average.

Invites queued earlier by the page benchmarks (booked with no worker
running) are set aside first (status failed, last_error "bench"), so each
figure counts one booking's mails only.
"""

import os
import re
import socket
import subprocess
import sys
import threading
import time
import uuid
from datetime import datetime, time as clock, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import sqlalchemy as sa

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import generate  # noqa: E402
from config import Config  # noqa: E402

SIZES = (213, 10_000)
WORKER_COUNTS = (1, 2)
#: the longest a drain may take before the benchmark gives up on it
PATIENCE_SECONDS = 45 * 60
MESSAGE_ID = re.compile(rb"^Message-ID: (<[^>]+>)", re.MULTILINE | re.IGNORECASE)


class Receiver:
    """An aiosmtpd server that notes when it accepted each Message-ID."""

    def __init__(self):
        from aiosmtpd.controller import Controller

        self.accepted = {}
        self.lock = threading.Lock()
        with socket.socket() as probe:  # aiosmtpd needs the port before it starts
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, server, session, envelope):
        found = MESSAGE_ID.search(envelope.original_content or envelope.content)
        at = time.time()
        with self.lock:
            if found:
                self.accepted.setdefault(found.group(1).decode(), at)
        return "250 Message accepted for delivery"

    def start(self):
        self.controller.start()
        return self

    def stop(self):
        self.controller.stop()

    @property
    def url(self):
        return f"smtp://127.0.0.1:{self.port}"

    def times_of(self, message_ids):
        with self.lock:
            return [self.accepted[m] for m in message_ids if m in self.accepted]


def _start_workers(url, smtp_url, workdir, count):
    env = {**os.environ, "DATABASE_URL": url, "SMTP_URL": smtp_url, "SECRET_KEY": "bench-" + uuid.uuid4().hex,
           "VMEETING_ENV": "production", "SESSION_COOKIE_SECURE": "0", "SCHEDULER": "off",
           "VMEETING_INSTANCE": str(workdir)}
    return [subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "scheduler", "run"], cwd=ROOT, env=env,
                             stdout=subprocess.DEVNULL, stderr=(workdir / f"worker-{n}.log").open("ab"))
            for n in range(count)]


def _stop_workers(workers):
    for worker in workers:
        worker.terminate()
    for worker in workers:
        worker.wait(timeout=120)


def _wait_for_lease(started_after):
    from vmeeting.core.extensions import db
    from vmeeting.jobs import WorkerLease

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        acquired = db.session.scalar(sa.select(WorkerLease.acquired_at))
        db.session.commit()
        if acquired is not None and acquired.timestamp() >= started_after - 1:
            time.sleep(3)  # the other worker, and each one's first look at the outbox
            return
        time.sleep(0.2)
    raise RuntimeError("the worker processes did not start")


def _book(endpoint_ids, day, listener_seconds):
    """Book a noon meeting of the sites on day and commit; return (commit instant, the meeting's Message-IDs)."""
    from flask import current_app

    from vmeeting.booking import service as booking
    from vmeeting.core.extensions import db
    from vmeeting.invites import service as invites
    from vmeeting.outbox.mail import message_id
    from vmeeting.outbox.models import OutboxMail

    zone = ZoneInfo(Config.TIMEZONE)
    start = datetime.combine(day, clock(12, 0), tzinfo=zone)

    def timed_listener(*args, **kwargs):
        began = time.perf_counter()
        invites.on_booking_change(*args, **kwargs)
        listener_seconds.append(time.perf_counter() - began)

    connected = current_app.extensions["vmeeting.hooks"][booking.change_listeners.name]  # the app's own list
    listeners = list(connected)
    connected[:] = [timed_listener if f is invites.on_booking_change else f for f in listeners]
    try:
        meeting = booking.book_meeting(
            {"title": f"Hội nghị đo thư mời {len(endpoint_ids)} điểm cầu", "starts_at": start,
             "ends_at": start + timedelta(hours=1), "chair_endpoint_id": endpoint_ids[0]},
            booking.resolve_sites(endpoint_ids=endpoint_ids),
            choices=booking.BookingChoices(allow_non_working_time=True))
        db.session.commit()
        committed_at = time.time()
    finally:
        connected[:] = listeners
    # a national booking wrote one change record; its invites exist once a worker has expanded it
    deadline = time.monotonic() + 600
    while db.session.scalar(sa.select(sa.func.count()).where(OutboxMail.meeting_id == meeting.id,
                                                             OutboxMail.recipient == "")):
        db.session.commit()
        if time.monotonic() > deadline:
            raise RuntimeError("the booking's change record was not expanded")
        time.sleep(0.05)
    keys = db.session.scalars(sa.select(OutboxMail.key).where(OutboxMail.meeting_id == meeting.id)).all()
    db.session.commit()
    return committed_at, {message_id(key) for key in keys}


def measure(url, country, workdir):
    """Return the delivery figures ({key: {label, median_ms, samples, ...}}) of the generated country at url."""
    from vmeeting.core.extensions import db
    from vmeeting.outbox.models import OutboxMail

    receiver = Receiver().start()
    app = generate.make_app(url)
    figures = {}
    day = datetime.now(ZoneInfo(Config.TIMEZONE)).date() + timedelta(days=400)  # clear of the page benchmarks
    try:
        with app.app_context():
            db.session.execute(sa.update(OutboxMail).where(OutboxMail.status == "pending")
                               .values(status="failed", last_error="bench"))
            db.session.commit()
            for size in SIZES:
                ids = country.reference_endpoint_ids if size == 213 else country.endpoint_ids[:size]
                for count in WORKER_COUNTS:
                    while day.weekday() >= 5:
                        day += timedelta(days=1)
                    started = time.time()
                    workers = _start_workers(url, receiver.url, workdir, count)
                    listener = []
                    try:
                        _wait_for_lease(started)
                        committed_at, expected = _book(ids, day, listener)
                        deadline = time.monotonic() + PATIENCE_SECONDS
                        while len(receiver.times_of(expected)) < len(expected):
                            if time.monotonic() > deadline:
                                raise RuntimeError(f"{len(expected)} invites not all delivered in time")
                            time.sleep(0.05)
                    finally:
                        _stop_workers(workers)
                    seconds = max(receiver.times_of(expected)) - committed_at
                    rate = len(expected) / seconds
                    plural = "process" if count == 1 else "processes"
                    figures[f"delivery_{size}_{count}"] = {
                        "label": f"{len(ids):,}-site booking: commit → last of {len(expected):,} invites accepted "
                                 f"by SMTP, {count} worker {plural} ({rate:,.0f} mails/s)",
                        "median_ms": round(seconds * 1000), "samples": 1, "mails": len(expected),
                        "mails_per_second": round(rate, 1), "workers": count}
                    print(f"  {figures[f'delivery_{size}_{count}']['label']}: {seconds:.1f} s", flush=True)
                    if size == SIZES[-1] and count == WORKER_COUNTS[0]:
                        figures[f"outbox_listener_{size}"] = {
                            "label": f"the outbox's part of the booking's transaction, {len(ids):,} sites (one change record)",
                            "median_ms": round(listener[0] * 1000, 1), "samples": 1}
                        print(f"  {figures[f'outbox_listener_{size}']['label']}: {listener[0] * 1000:.0f} ms",
                              flush=True)
                    day += timedelta(days=1)
            db.session.remove()
            db.engine.dispose()
    finally:
        receiver.stop()
    return figures


def markdown(results):
    """The delivery figures of every backend as a table (for `--only delivery`)."""
    lines = [f"Machine: {results['machine']['nproc']} CPUs, {results['machine']['cpu']}; "
             f"run {results['started_at']}.", ""]
    for backend, result in results["backends"].items():
        counts = result["counts"]
        lines += [f"**{backend}**: {counts['endpoints']:,} endpoints; SMTP_CONNECTIONS {Config.SMTP_CONNECTIONS}.",
                  "", "| figure | time |", "| --- | ---: |"]
        lines += [f"| {f['label']} | {f['median_ms'] / 1000:,.1f} s |" if f["median_ms"] >= 1000 else
                  f"| {f['label']} | {f['median_ms']:,} ms |" for f in result["figures"].values()]
        lines.append("")
    return "\n".join(lines)
