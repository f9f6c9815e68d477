"""The network sweep of every site at national scale, with answering and silent sites.

    python bench/sweep.py [--backend sqlite|postgresql] [--endpoints 10000] [--silent 0.5]

`make bench` (bench/run.py) takes these figures along with the others; run
alone, this makes a fresh database with the country's registry only (no
meetings: the sweep does not read them), points the sites at `sipp`
responders, and times the worker's sweep as the worker runs it, in-process,
probes and recording together:

- every site answering: the first sweep (every state written), then the next ones;
- a share of the sites silent (`--silent`, half by default): UDP ports bound
  and never read, so each of those probes waits the whole
  PROBE_TIMEOUT_SECONDS. The sweep should last about one timeout, the probes
  alone and the sweep with its recording; the figures say by how much more.
"""

import argparse
import random
import shutil
import socket
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path[:0] = [str(BENCH), str(BENCH.parent)]

import sqlalchemy as sa  # noqa: E402

import generate  # noqa: E402
from client import median_ms  # noqa: E402
from peers import Peers  # noqa: E402
from tests.pg import create_postgres_database  # noqa: E402

PG_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
SIP_PEERS = 4
SILENT_PORTS = 4


class SilentPorts:
    """UDP ports bound on loopback and never read: devices whose SIP stack hangs (no answer, no ICMP refusal)."""

    def __init__(self, count):
        self.sockets = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(count)]
        for sock in self.sockets:
            sock.bind(("127.0.0.1", 0))
        self.ports = [sock.getsockname()[1] for sock in self.sockets]

    def close(self):
        for sock in self.sockets:
            sock.close()


def point_at(ports, where=None):
    """Point the endpoints (those `where` selects, or all) round-robin at the loopback ports."""
    from vmeeting.core.extensions import db
    from vmeeting.registry.models import Endpoint

    for index, port in enumerate(ports):
        uri = sa.literal("sip:") + sa.func.lower(Endpoint.code) + sa.literal(f"@127.0.0.1:{port}")
        query = sa.update(Endpoint).where(Endpoint.id % len(ports) == index)
        if where is not None:
            query = query.where(where)
        db.session.execute(query.values(sip_uri=uri))
    db.session.commit()


def _figure(label, seconds, **extra):
    figure = {"label": label, "median_ms": median_ms(seconds), "samples": len(seconds), **extra}
    print(f"  {label}: {figure['median_ms']:,} ms", flush=True)
    return figure


def network_figures(url, peer_ports, silent_share=0.5, rounds=3):
    """Time the worker's sweep of every active site; return {key: figure} as bench/run.py keeps them.

    The sites must answer at peer_ports to begin with; they do again at the end.
    """
    from vmeeting import probes
    from vmeeting.core.extensions import db
    from vmeeting.network import service
    from vmeeting.registry.models import Endpoint

    app = generate.make_app(url)
    figures = {}
    with app.app_context():
        timeout = app.config["PROBE_TIMEOUT_SECONDS"]
        samples, summaries = [], []
        for _ in range(rounds):
            started = time.perf_counter()
            summaries.append(service.sweep())
            samples.append(time.perf_counter() - started)
        sites = summaries[0].probed
        figures["network_sweep_first"] = _figure(f"network sweep of {sites:,} endpoints, first (sipp, states written)",
                                                 samples[:1])
        figures["network_sweep"] = _figure(f"network sweep of {sites:,} endpoints (sipp, recorded)", samples[1:],
                                           up=service.summary()["up"])

        # every n-th site goes silent (ids are spread over the country's provinces)
        every = max(1, round(1 / silent_share)) if silent_share else 0
        silent = SilentPorts(SILENT_PORTS)
        try:
            if every:
                point_at(silent.ports, where=Endpoint.id % every == 0)
            targets, _unprobed = service.sweep_targets()
            db.session.commit()
            hushed = {f"127.0.0.1:{port}" for port in silent.ports}
            count = sum(1 for t in targets if t.uri.rpartition("@")[2] in hushed)
            started = time.perf_counter()
            results = probes.probe_many(targets, timeout=timeout, max_streams=app.config["PROBE_MAX_STREAMS"],
                                        allow_loopback=True)
            probing = time.perf_counter() - started
            unanswered = sum(1 for r in results if not r.reachable)
            started = time.perf_counter()
            service.sweep()
            sweeping = time.perf_counter() - started
        finally:
            silent.close()
            point_at(peer_ports)
        label = f"{len(targets):,} endpoints, {count:,} silent, timeout {timeout:g} s"
        figures["network_sweep_silent_probes"] = _figure(f"probes of {label}", [probing], unanswered=unanswered,
                                                         timeouts=round(probing / timeout, 2))
        figures["network_sweep_silent"] = _figure(f"network sweep of {label} (recorded)", [sweeping],
                                                  timeouts=round(sweeping / timeout, 2))
        db.engine.dispose()
    return figures


def main(argv=None):
    from flask_migrate import upgrade

    from vmeeting.core.extensions import db

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--endpoints", type=int, default=generate.Scale.endpoints)
    parser.add_argument("--silent", type=float, default=0.5, help="share of the sites that never answer")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="vmeeting-sweep-") as workdir:
        workdir = Path(workdir)
        if args.backend == "sqlite":
            url, drop = f"sqlite:///{workdir / 'sweep.db'}", (lambda: None)
        else:
            url, drop = create_postgres_database(PG_SERVER, "vmeeting_sweep")
        peers = None
        try:
            app = generate.make_app(url)
            with app.app_context():
                upgrade()
                scale = generate.Scale(endpoints=args.endpoints)
                generate.make_country(scale, random.Random(scale.seed), datetime.now(timezone.utc))
                generate._reset_sequences()
                db.session.commit()
                db.engine.dispose()
            peers = Peers(shutil.which("sipp") or "/usr/bin/sipp", workdir, SIP_PEERS)
            with app.app_context():
                point_at(peers.ports)
                db.engine.dispose()
            print(f"[{args.backend}] network sweep of {args.endpoints:,} endpoints…", flush=True)
            network_figures(url, peers.ports, args.silent)
        finally:
            if peers is not None:
                peers.stop()
            drop()


if __name__ == "__main__":
    main()
