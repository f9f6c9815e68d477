"""Network fixtures: sites in a district with technicians, real sipp peers that can go down and come back."""

import signal
import socket
from types import SimpleNamespace

import pytest

from tests.booking.conftest import book, sites  # noqa: F401 (fixtures used here)
from tests.invites.conftest import smtp  # noqa: F401 (alarms go out through a real SMTP server)
from tests.readiness.conftest import tls_peer  # noqa: F401 (a device answering over TLS)
from tests.readiness.sip_peers import sipp_path, start_peers, stop_peers
from vmeeting.core.extensions import db
from vmeeting.probes import ProbeTarget, probe_many
from vmeeting.registry import service as registry

NOC = "noc@langson.gov.vn"


class SwitchablePeer:
    """A sipp peer that the test freezes (the device hangs: the site goes down) and thaws (it comes back).

    SIGSTOP rather than stopping it: the port stays the peer's, so no other test takes it meanwhile.
    """

    def __init__(self, sipp, workdir):
        (self.peer,) = start_peers(sipp, workdir, 1)
        self.uri = self.peer.uri

    def stop(self):
        self.peer.process.send_signal(signal.SIGSTOP)

    def start(self):
        self.peer.process.send_signal(signal.SIGCONT)
        for _ in range(100):
            if probe_many([ProbeTarget(1, "sip-options", self.uri)], timeout=0.5, allow_loopback=True)[0].reachable:
                return
        raise AssertionError("the sipp peer did not come back")

    def close(self):
        self.peer.process.send_signal(signal.SIGCONT)
        self.peer.stop()


@pytest.fixture
def switchable(tmp_path):
    peer = SwitchablePeer(sipp_path(), tmp_path)
    yield peer
    peer.close()


@pytest.fixture(scope="session")
def live_peers(tmp_path_factory):
    """Three sipp peers answering OPTIONS, for the whole run."""
    peers = start_peers(sipp_path(), tmp_path_factory.mktemp("sipp-network"), 3)
    yield peers
    stop_peers(peers)


def closed_udp_uri():
    """A SIP URI on a loopback UDP port nobody listens on: the probe is refused at once (a dead site)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"sip:dead@127.0.0.1:{port}"


@pytest.fixture
def net(app, sites, make_user):
    """The booking fixtures' sites with technicians: tech_a has the first two communes, tech_b the others."""
    app.config.update(PROBE_TIMEOUT_SECONDS=2.0, NETWORK_DOWN_AFTER=2, NETWORK_ALERT_EMAILS=(NOC,),
                      NETWORK_SWEEP_SECONDS=300)
    tech_a = make_user("technician", email="ktv.a@langson.gov.vn", full_name="Nguyễn Văn An")
    tech_b = make_user("technician", email="ktv.b@langson.gov.vn", full_name="Trần Thị Bình")
    communes = sites["communes"]
    for endpoint, tech in zip(communes, (tech_a, tech_a, tech_b, tech_b)):
        registry.update_endpoint(endpoint, {"technician_id": tech.id})
    for endpoint in [sites["hall"], *communes]:
        registry.update_endpoint(endpoint, {"probe": "none"})  # each test gives the sites it sweeps an address
    db.session.commit()
    return SimpleNamespace(hall=sites["hall"], communes=communes, tech_a=tech_a, tech_b=tech_b, sites=sites)


def point(endpoint, uri, probe="sip-options"):
    """Give a site a SIP address to be probed at."""
    registry.update_endpoint(endpoint, {"sip_uri": uri, "probe": probe})
    db.session.commit()
