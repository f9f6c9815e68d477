"""The probes are no port scanner: where they may dial is decided at dial time, and only a SIP answer counts.

Real sockets throughout: a TCP listener that accepts and says nothing, one that
answers HTTP, a UDP echo, sipp for a real SIP peer; names resolved by the
machine's resolver (`localhost`).
"""

import socket
import threading

import pytest
import sqlalchemy as sa

from vmeeting.core.extensions import db
from vmeeting.readiness import service
from vmeeting.readiness.models import Readiness
from vmeeting.probes import ProbeTarget, dial_refusal, probe_many
from vmeeting.registry import service as registry

TIMEOUT = 1.5


@pytest.mark.parametrize("ip, part", [
    ("169.254.169.254", "liên kết cục bộ"), ("169.254.0.1", "liên kết cục bộ"), ("fe80::1", "liên kết cục bộ"),
    ("224.0.0.1", "multicast"), ("239.255.255.250", "multicast"), ("ff02::1", "multicast"),
    ("255.255.255.255", "broadcast"), ("0.0.0.0", "không xác định"), ("::", "không xác định"),
    ("127.0.0.1", "loopback"), ("127.8.9.10", "loopback"), ("::1", "loopback"), ("::ffff:127.0.0.1", "loopback"),
    ("::ffff:169.254.169.254", "liên kết cục bộ"),
])
def test_forbidden_addresses(ip, part):
    assert part in dial_refusal(ip, allow_loopback=False)


@pytest.mark.parametrize("ip", ["10.20.0.5", "192.168.1.10", "203.0.113.7", "2001:db8::5"])
def test_ordinary_addresses_may_be_dialled(ip):
    assert dial_refusal(ip, allow_loopback=False) is None


def test_loopback_only_when_allowed():
    assert dial_refusal("127.0.0.1", allow_loopback=True) is None
    assert dial_refusal("169.254.169.254", allow_loopback=True) is not None


class Listener:
    """A TCP server on loopback: `silent` accepts and says nothing, `http` answers like a web server."""

    def __init__(self, kind):
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.kind, self.accepted = kind, 0
        self.conns = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted += 1
            self.conns.append(conn)
            if self.kind == "http":
                conn.recv(65536)
                conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
            elif self.kind == "close":
                conn.close()

    def close(self):
        self.sock.close()
        for conn in self.conns:
            conn.close()


@pytest.fixture
def listener(request):
    server = Listener(request.param)
    yield server
    server.close()


@pytest.mark.parametrize("listener", ["silent", "http", "close"], indirect=True)
def test_a_bare_tcp_accept_is_no_sip_answer(listener):
    uri = f"sip:room@127.0.0.1:{listener.port};transport=tcp"
    sip, tcp = probe_many([ProbeTarget(1, "sip-options", uri), ProbeTarget(2, "tcp", uri)],
                          timeout=TIMEOUT, allow_loopback=True)
    assert listener.accepted >= 1  # the port is open and took the connection...
    assert not sip.reachable and sip.status_code is None  # ...which is not a SIP device answering
    assert tcp.reachable  # the `tcp` probe kind is exactly "the port accepts", for admins to choose


def test_a_udp_echo_is_no_sip_answer():
    echo = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    echo.bind(("127.0.0.1", 0))
    echo.settimeout(5)

    def serve():
        try:
            while True:
                data, peer = echo.recvfrom(65536)
                echo.sendto(data, peer)  # our own OPTIONS comes back: a request, not a response
        except OSError:
            return

    threading.Thread(target=serve, daemon=True).start()
    try:
        [result] = probe_many([ProbeTarget(1, "sip-options", f"sip:room@127.0.0.1:{echo.getsockname()[1]}")],
                              timeout=TIMEOUT, allow_loopback=True)
    finally:
        echo.close()
    assert not result.reachable


@pytest.mark.parametrize("listener", ["silent"], indirect=True)
def test_loopback_is_refused_at_dial_time_unless_allowed(listener):
    for host in ("127.0.0.1", "localhost", "[::ffff:127.0.0.1]"):  # a name resolving to loopback too
        before = listener.accepted
        [refused] = probe_many([ProbeTarget(1, "tcp", f"sip:room@{host}:{listener.port}")], timeout=TIMEOUT,
                                     allow_loopback=False)
        assert not refused.reachable and "loopback" in refused.error, (host, refused.error)
        assert listener.accepted == before  # never dialled
    [allowed] = probe_many([ProbeTarget(1, "tcp", f"sip:room@localhost:{listener.port}")], timeout=TIMEOUT,
                           allow_loopback=True)
    assert allowed.reachable


@pytest.mark.parametrize("uri", ["sip:meta@169.254.169.254:80;transport=tcp", "sip:x@[fe80::1]:5060",
                                 "sip:x@224.0.0.1", "sip:x@0.0.0.0:5432;transport=tcp", "sip:x@255.255.255.255"])
def test_forbidden_addresses_are_never_dialled_even_with_loopback_allowed(uri):
    for method in ("sip-options", "tcp"):
        [result] = probe_many([ProbeTarget(1, method, uri)], timeout=TIMEOUT, allow_loopback=True)
        assert not result.reachable and result.error.startswith("Không kiểm tra"), result.error


def test_the_sweep_obeys_probe_allow_loopback(app, sitting, sip_peers):
    """The setting reaches the probes the worker and the "probe now" button run (readiness.service)."""
    registry.update_endpoint(sitting.communes[0], {"sip_uri": sip_peers[0].uri})
    for endpoint in [sitting.hall, *sitting.communes[1:]]:
        registry.update_endpoint(endpoint, {"probe": "none"})
    db.session.commit()
    app.config.update(PROBE_TIMEOUT_SECONDS=TIMEOUT, PROBE_ALLOW_LOOPBACK=False)
    service.probe_sittings([sitting.occurrence.id])
    row = db.session.scalar(sa.select(Readiness).where(Readiness.endpoint_id == sitting.communes[0].id))
    assert not row.is_reachable and "loopback" in row.probe_error

    app.config["PROBE_ALLOW_LOOPBACK"] = True
    service.probe_sittings([sitting.occurrence.id])
    db.session.expire_all()
    row = db.session.scalar(sa.select(Readiness).where(Readiness.endpoint_id == sitting.communes[0].id))
    assert row.is_reachable


def test_production_does_not_allow_loopback_by_default(monkeypatch):
    import importlib

    import config

    monkeypatch.delenv("PROBE_ALLOW_LOOPBACK", raising=False)
    fresh = importlib.reload(config)
    try:
        assert fresh.ProductionConfig.PROBE_ALLOW_LOOPBACK is False
        assert fresh.DevelopmentConfig.PROBE_ALLOW_LOOPBACK is True
        assert fresh.TestingConfig.PROBE_ALLOW_LOOPBACK is True
        monkeypatch.setenv("PROBE_ALLOW_LOOPBACK", "1")
        assert importlib.reload(config).ProductionConfig.PROBE_ALLOW_LOOPBACK is True
    finally:
        monkeypatch.delenv("PROBE_ALLOW_LOOPBACK", raising=False)
        importlib.reload(config)
