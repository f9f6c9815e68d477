"""The demo's SIP simulator (`make run`): the real probes and the real sweep find a living network.

A demo aid, never a test peer: the probes' own tests use sipp (tests/readiness/sip_peers.py).
"""

from collections import Counter

import pytest
import sqlalchemy as sa

from tests.demo_network import free_udp_port, simulator_users, swept_demo
from vmeeting.core.extensions import db
from vmeeting.demo.loader import load_demo
from vmeeting.demo.simulator import SipSimulator
from vmeeting.network.models import NetworkState
from vmeeting.probes import ProbeTarget, probe_many
from vmeeting.registry.models import Endpoint


@pytest.fixture
def simulator_address():
    return f"127.0.0.1:{free_udp_port()}"


def test_it_answers_the_real_probes_but_for_the_silent_and_the_flaky_in_its_off_turn():
    now = [0.0]
    simulator = SipSimulator("127.0.0.1", 0, silent={"ls-off"}, flaky={"ls-flaky"}, period=60,
                             clock=lambda: now[0]).start()
    host, port = simulator.address
    try:
        targets = [ProbeTarget(i, "sip-options", f"sip:{user}@{host}:{port}")
                   for i, user in enumerate(("ls-tinh", "ls-off", "ls-flaky"), start=1)]
        first = {r.endpoint_id: r for r in probe_many(targets, timeout=1.0, allow_loopback=True)}
        assert (first[1].reachable, first[2].reachable, first[3].reachable) == (True, False, True)
        assert first[1].method == "sip-udp" and first[2].error
        now[0] = 61.0  # the flaky line's off turn
        second = {r.endpoint_id: r for r in probe_many(targets, timeout=1.0, allow_loopback=True)}
        assert (second[1].reachable, second[3].reachable) == (True, False)
    finally:
        simulator.stop()
    assert simulator.answered == 3


def test_a_request_that_is_not_options_gets_no_answer():
    simulator = SipSimulator("127.0.0.1", 0)
    try:
        assert simulator.reply(b"INVITE sip:ls-tinh@127.0.0.1 SIP/2.0\r\nCall-ID: x\r\n\r\n") is None
        answer = simulator.reply(b"OPTIONS sip:ls-tinh@127.0.0.1:5070 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:1;"
                                 b"branch=z9hG4bKa\r\nCall-ID: abc@x\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:c@d>\r\n"
                                 b"CSeq: 1 OPTIONS\r\n\r\n")
        assert answer.startswith(b"SIP/2.0 200 OK\r\n") and b"Call-ID: abc@x" in answer
        assert b"To: <sip:c@d>;tag=" in answer and b"CSeq: 1 OPTIONS" in answer
    finally:
        simulator.stop()


def test_a_sweep_of_the_demo_against_it_finds_most_sites_up_and_a_few_down(app, simulator_address):
    """The demo as `make run` loads it: every site at the simulator, a user part of its own; two real sweeps."""
    address, silent, flaky = swept_demo(app, simulator_address)
    uris = db.session.scalars(sa.select(Endpoint.sip_uri)).all()
    assert len(uris) == 213 and all(u.endswith("@" + address) for u in uris)
    assert len(set(simulator_users(address))) == 213
    assert 1 <= len(silent) <= 10 and len(flaky) == 1 and not silent & flaky
    states = Counter(db.session.scalars(sa.select(NetworkState.state)))
    assert states == {"up": 213 - len(silent), "down": len(silent)}


def test_the_command_stays_off_outside_development(runner, monkeypatch):
    monkeypatch.delenv("VMEETING_ENV", raising=False)
    result = runner.invoke(args=["demo", "sip-simulator"])
    assert result.exit_code == 0 and "only with VMEETING_ENV=development" in result.output


def test_the_command_stays_off_without_the_demo(runner, app, monkeypatch, simulator_address):
    monkeypatch.setenv("VMEETING_ENV", "development")
    app.config["DEMO_SIP_SIMULATOR"] = simulator_address
    try:
        result = runner.invoke(args=["demo", "sip-simulator"])
    finally:
        app.config.pop("DEMO_SIP_SIMULATOR")
    assert result.exit_code == 0 and "No site points at" in result.output


def test_production_has_no_simulator_and_the_demo_keeps_made_up_addresses(app):
    from config import ProductionConfig, TestingConfig

    assert not hasattr(ProductionConfig, "DEMO_SIP_SIMULATOR") and not hasattr(TestingConfig, "DEMO_SIP_SIMULATOR")
    load_demo()
    db.session.commit()
    assert all(u.endswith("@vc.langson.example.vn") for u in db.session.scalars(sa.select(Endpoint.sip_uri)))
