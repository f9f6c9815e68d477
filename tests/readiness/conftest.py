"""Readiness fixtures: a meeting starting soon across the booking fixtures' sites, with two technicians."""

from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import pytest

from tests.booking.conftest import book, sites  # noqa: F401 (fixtures used here)
from tests.invites.conftest import smtp  # noqa: F401 (the escalation goes out through a real SMTP server)
from tests.conftest import make_certificate
from tests.readiness.sip_peers import TlsSipPeer, sipp_path, start_peers, stop_peers
from vmeeting.core.extensions import db
from vmeeting.registry import service as registry


def soon(minutes=120):
    """An aware instant minutes from now, on a whole minute."""
    return (datetime.now(timezone.utc) + timedelta(minutes=minutes)).replace(second=0, microsecond=0)


@pytest.fixture
def sitting(sites, book, make_user):
    """A meeting in two hours: the hall (no technician), two communes for tech_a, two for tech_b."""
    organizer = make_user("scheduler", email="van.phong@langson.gov.vn", full_name="Văn phòng UBND tỉnh")
    tech_a = make_user("technician", email="ktv.a@langson.gov.vn", full_name="Nguyễn Văn An")
    tech_b = make_user("technician", email="ktv.b@langson.gov.vn", full_name="Trần Thị Bình")
    communes = sites["communes"]
    for endpoint, tech in zip(communes, (tech_a, tech_a, tech_b, tech_b)):
        registry.update_endpoint(endpoint, {"technician_id": tech.id})
    db.session.commit()
    # whatever the hour the suite runs at: an urgent meeting, booked outside working time on purpose
    meeting = book([sites["hall"], *communes], soon(), actor=organizer, title="Giao ban trực tuyến",
                   allow_non_working_time=True)
    return SimpleNamespace(meeting=meeting, occurrence=meeting.occurrences[0], organizer=organizer,
                           tech_a=tech_a, tech_b=tech_b, hall=sites["hall"], communes=communes)


ALL_CHECKS = {"camera": True, "microphone": True, "display": True, "network": True, "test_call": True}


@pytest.fixture(scope="session")
def sip_peers(tmp_path_factory):
    """Forty sipp peers answering OPTIONS with 200 OK over UDP, shared by the whole run."""
    peers = start_peers(sipp_path(), tmp_path_factory.mktemp("sipp-udp"), 40)
    yield peers
    stop_peers(peers)


@pytest.fixture(scope="session")
def tls_peer(tmp_path_factory):
    """A device answering SIP OPTIONS over TLS (sips:) with a self-signed certificate, for the whole run."""
    workdir = tmp_path_factory.mktemp("sipp-tls")
    peer = TlsSipPeer(sipp_path(), workdir, make_certificate(workdir))
    yield peer
    peer.stop()
