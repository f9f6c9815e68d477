"""The demo's network as `make run` lives it, for tests: the demo loaded with every site at the SIP simulator,
and the real sweeps run against it until the silent sites count as down.

A demo aid, never a test peer of the probes (their tests use sipp: tests/readiness/sip_peers.py).
"""

import socket

import sqlalchemy as sa

from vmeeting.core.extensions import db
from vmeeting.demo.loader import load_demo
from vmeeting.demo.simulator import SipSimulator, plan
from vmeeting.network import service as network
from vmeeting.registry.models import Endpoint


def free_udp_port():
    """A UDP port on 127.0.0.1 that nothing holds now."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def simulator_users(address):
    """Each demo site's SIP user part (the demo gives every site `sip:<user>@<address>`), in id order."""
    uris = db.session.scalars(sa.select(Endpoint.sip_uri).order_by(Endpoint.id)).all()
    return [uri[len("sip:"):-len(address) - 1] for uri in uris]


def swept_demo(app, address=None):
    """Load the demo at a simulator on `address` (a free port by default), sweep it NETWORK_DOWN_AFTER times
    with the real probes, stop the simulator; return (address, silent user parts, flaky user parts).

    The simulator answers as `make run`'s does (demo.simulator.plan), its flaky site held in its on turn.
    """
    address = address or f"127.0.0.1:{free_udp_port()}"
    load_demo(sip_simulator=address)
    db.session.commit()
    silent, flaky = plan(simulator_users(address))
    host, port = address.rsplit(":", 1)
    simulator = SipSimulator(host, int(port), silent=silent, flaky=flaky, period=3600, clock=lambda: 0.0).start()
    app.config["PROBE_TIMEOUT_SECONDS"] = 1.0
    try:
        for _ in range(app.config["NETWORK_DOWN_AFTER"]):
            network.sweep()
    finally:
        simulator.stop()
    return address, silent, flaky
