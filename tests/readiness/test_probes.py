"""The probes against real SIP peers (sipp) and real sockets; no database needed."""

import asyncio
import functools
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.readiness.sip_peers import (BlackHole, assert_waited_together, free_ports, sipp_path, start_peers,
                                      stop_peers)
from vmeeting import probes
from vmeeting.core.sipuri import parse_sip_uri
from vmeeting.probes import ProbeTarget, options_request, probe_one, response_status

#: the peers here answer on loopback, which tests allow as development does (PROBE_ALLOW_LOOPBACK)
probe_many = functools.partial(probes.probe_many, allow_loopback=True)

TIMEOUT = 1.5


@pytest.fixture(scope="module")
def sipp():
    return sipp_path()


@pytest.mark.parametrize("uri, expected", [
    ("sip:room@10.0.0.5", ("udp", "10.0.0.5", 5060)),
    ("sip:room@host.example:5080;transport=TCP", ("tcp", "host.example", 5080)),
    ("sips:room@10.0.0.5", ("tls", "10.0.0.5", 5061)),
    ("sip:[2001:db8::1]:5062", ("udp", "2001:db8::1", 5062)),
])
def test_parse_sip_uri(uri, expected):
    address = parse_sip_uri(uri)
    assert (address.transport, address.host, address.port) == expected


@pytest.mark.parametrize("uri", [
    "", "http://x", "sip:room@host:99999", "sip:room@host;transport=sctp",
    "sip:room@ubnd..langson.gov.vn", f"sip:room@{'x' * 64}.langson.gov.vn", "sip:phònghọp@langson.gov.vn",
    # read to the end, not to the first thing that looks like a host
    "sip:room@ho_st", "sip:room@[fe80::1%25eth0]", "sip:room@-bad", "sip:room@host:0", "sip:room@host;transport=ws",
])
def test_parse_sip_uri_refuses(uri):
    with pytest.raises(ValueError):
        parse_sip_uri(uri)


def test_options_request_carries_rfc3261_headers():
    raw = options_request("sip:room@10.0.0.5:5060", "udp", "192.0.2.7", 40000,
                          call_id="abc@vmeeting", branch="z9hG4bKxyz", tag="t1").decode()
    head, _, body = raw.partition("\r\n\r\n")
    lines = head.split("\r\n")
    assert lines[0] == "OPTIONS sip:room@10.0.0.5:5060 SIP/2.0" and body == ""
    headers = dict(line.split(": ", 1) for line in lines[1:])
    assert headers["Via"] == "SIP/2.0/UDP 192.0.2.7:40000;branch=z9hG4bKxyz;rport"
    assert headers["Max-Forwards"] == "70" and headers["CSeq"] == "1 OPTIONS"
    assert headers["From"].endswith(";tag=t1") and headers["To"] == "<sip:room@10.0.0.5:5060>"
    assert headers["Call-ID"] == "abc@vmeeting" and headers["Content-Length"] == "0"
    assert headers["Contact"].startswith("<sip:vmeeting@192.0.2.7:40000")


def test_response_status_matches_our_call_only():
    answer = b"SIP/2.0 486 Busy Here\r\nCall-ID: ours\r\n\r\n"
    assert response_status(answer, "ours") == 486
    assert response_status(answer, "theirs") is None
    assert response_status(b"OPTIONS sip:x SIP/2.0\r\n\r\n", "ours") is None


def test_marks_exactly_the_live_sipp_peers_reachable(sip_peers):
    closed = free_ports(5)
    targets = [ProbeTarget(i, "sip-options", p.uri) for i, p in enumerate(sip_peers[:5])]
    targets += [ProbeTarget(100 + i, "sip-options", f"sip:dead@127.0.0.1:{port}") for i, port in enumerate(closed)]
    results = {r.endpoint_id: r for r in probe_many(targets, timeout=TIMEOUT)}
    assert {i for i, r in results.items() if r.reachable} == set(range(5))
    live = results[0]
    assert live.method == "sip-udp" and live.status_code == 200 and live.rtt_ms is not None and live.error is None
    dead = results[100]
    assert dead.rtt_ms is None and "cổng đóng" in dead.error
    assert all(r.checked_at.tzinfo is not None for r in results.values())


def test_sweep_of_fifty_with_ten_dead_takes_about_one_timeout(sip_peers):
    """Forty live peers, five closed ports and five silent devices: the silent ones wait out the timeout together."""
    holes = [BlackHole() for _ in range(5)]
    try:
        targets = [ProbeTarget(i, "sip-options", p.uri) for i, p in enumerate(sip_peers)]
        targets += [ProbeTarget(200 + i, "sip-options", f"sip:dead@127.0.0.1:{port}")
                    for i, port in enumerate(free_ports(5))]
        targets += [ProbeTarget(300 + i, "sip-options", h.uri) for i, h in enumerate(holes)]
        started = time.monotonic()
        results = probe_many(targets, timeout=TIMEOUT)
        elapsed = time.monotonic() - started
    finally:
        for hole in holes:
            hole.close()
    assert len(results) == 50
    assert {r.endpoint_id for r in results if r.reachable} == set(range(40))
    assert all("cổng đóng" in r.error for r in results if 200 <= r.endpoint_id < 300)
    assert all("Không phản hồi" in r.error for r in results if r.endpoint_id >= 300)
    # one timeout for the silent devices, waited once; one after another they would take 5 × TIMEOUT
    assert_waited_together(holes, TIMEOUT, silent=len(holes), elapsed=elapsed)


def test_sip_over_tcp(sipp, tmp_path):
    peers = start_peers(sipp, tmp_path, 1, transport="tcp")
    try:
        [closed] = free_ports(1, socket.SOCK_STREAM)
        live, dead = probe_many([
            ProbeTarget(1, "sip-options", peers[0].uri),
            ProbeTarget(2, "sip-options", f"sip:dead@127.0.0.1:{closed};transport=tcp"),
        ], timeout=TIMEOUT)
    finally:
        stop_peers(peers)
    assert live.reachable and live.method == "sip-tcp" and live.status_code == 200
    assert not dead.reachable and dead.method == "sip-tcp"


def test_sip_over_tls(tls_peer):
    """sips: and ;transport=tls answered through TLS (a self-signed certificate, as room systems have);
    a closed port and a device speaking plain SIP where TLS is expected are not reachable."""
    [closed] = free_ports(1, socket.SOCK_STREAM)
    live, named, dead, plain = probe_many([
        ProbeTarget(1, "sip-options", tls_peer.uri),
        ProbeTarget(2, "sip-options", f"sip:room@localhost:{tls_peer.port};transport=tls"),
        ProbeTarget(3, "sip-options", f"sips:dead@127.0.0.1:{closed}"),
        ProbeTarget(4, "sip-options", f"sips:room@127.0.0.1:{tls_peer.backend.port}"),
    ], timeout=TIMEOUT)
    assert live.reachable and live.method == "sip-tls" and live.status_code == 200 and live.rtt_ms is not None
    assert named.reachable and named.method == "sip-tls"
    assert not dead.reachable and dead.method == "sip-tls" and "cổng đóng" in dead.error
    assert not plain.reachable and plain.method == "sip-tls"


def test_an_error_answer_still_means_the_device_is_up(sipp, tmp_path):
    peers = start_peers(sipp, tmp_path, 1, status=503)
    try:
        [result] = probe_many([ProbeTarget(1, "sip-options", peers[0].uri)], timeout=TIMEOUT)
    finally:
        stop_peers(peers)
    assert result.reachable and result.status_code == 503


def test_tcp_connect_probe_listening_versus_closed():
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    [closed] = free_ports(1, socket.SOCK_STREAM)
    try:
        up, down = probe_many([
            ProbeTarget(1, "tcp", f"sip:room@127.0.0.1:{listener.getsockname()[1]}"),
            ProbeTarget(2, "tcp", f"sip:room@127.0.0.1:{closed}"),
        ], timeout=TIMEOUT)
    finally:
        listener.close()
    assert up.reachable and up.method == "tcp" and up.rtt_ms is not None
    assert not down.reachable and "từ chối" in down.error


def test_unparseable_uri_and_unprobed_endpoints():
    results = probe_many([ProbeTarget(1, "sip-options", "not a uri"), ProbeTarget(2, "none", "sip:x@127.0.0.1")])
    assert [(r.endpoint_id, r.reachable) for r in results] == [(1, False)]
    assert results[0].error == "Địa chỉ SIP phải có dạng sip:phong-hop@may-chu[:cổng][;transport=tcp]."


#: addresses the registry refuses now but older rows may hold; each once killed the whole sweep
BAD_ADDRESSES = ["sip:room@ubnd..langson.gov.vn", f"sip:room@{'x' * 64}.langson.gov.vn",
                 "sip:phònghọp@127.0.0.1", "sip:room@.langson.gov.vn"]


def test_a_bad_address_fails_its_own_site_not_the_sweep(sip_peers):
    targets = [ProbeTarget(1, "sip-options", sip_peers[0].uri)]
    targets += [ProbeTarget(10 + i, "sip-options", uri) for i, uri in enumerate(BAD_ADDRESSES)]
    results = {r.endpoint_id: r for r in probe_many(targets, timeout=TIMEOUT)}
    assert set(results) == {1, 10, 11, 12, 13}
    assert results[1].reachable and results[1].status_code == 200
    for n in range(10, 14):
        assert not results[n].reachable and results[n].error
    assert "Tên máy «ubnd..langson.gov.vn»" in results[10].error
    assert results[12].error.startswith("Địa chỉ SIP chỉ được gồm chữ không dấu")


def test_probe_one_turns_an_unexpected_error_into_the_sites_result():
    """Our own bug inside a probe (here: the resolver) is that site's failure, not an exception in the sweep."""

    class BrokenResolver:
        def lookup(self, host):
            raise RuntimeError("a bug")

    target = ProbeTarget(7, "sip-options", "sip:room@127.0.0.1")
    # a loop of its own on a thread of its own: the browser tests may leave one running on this thread
    with ThreadPoolExecutor(max_workers=1) as pool:
        result = pool.submit(asyncio.run, probe_one(target, 0.5, BrokenResolver())).result()
    assert (result.endpoint_id, result.reachable, result.method) == (7, False, "sip-udp")
    assert result.error == "Lỗi không lường trước khi kiểm tra (RuntimeError)."


def test_host_names_resolve_and_unknown_names_fail_fast_in_one_sweep(sip_peers):
    """Live peers named by host name (localhost, from /etc/hosts), thirty names that cannot exist
    (.invalid, RFC 2606) and five silent devices: one timeout for the lot, the live ones reachable.

    All real lookups: one at a time, asyncio's pool of six threads would have stalled here whenever the
    resolver was slow to say no."""
    holes = [BlackHole() for _ in range(5)]
    try:
        targets = [ProbeTarget(i, "sip-options", f"sip:room@localhost:{p.port}") for i, p in enumerate(sip_peers[:20])]
        targets += [ProbeTarget(100 + i, "sip-options", f"sip:room@site-{i}.langson.invalid") for i in range(30)]
        targets += [ProbeTarget(200 + i, "sip-options", h.uri.replace("127.0.0.1", "localhost"))
                    for i, h in enumerate(holes)]
        started = time.monotonic()
        results = {r.endpoint_id: r for r in probe_many(targets, timeout=TIMEOUT)}
        elapsed = time.monotonic() - started
    finally:
        for hole in holes:
            hole.close()
    assert {i for i, r in results.items() if r.reachable} == set(range(20))
    # NXDOMAIN at once, or, when the resolver drops part of a burst of queries as this sandbox's does,
    # given up at the deadline: either way that site's own result, and no wait for the lookup
    assert all(results[100 + i].error.startswith(f"Không phân giải được tên miền «site-{i}.langson.invalid»")
               for i in range(30))
    assert all("Không phản hồi" in results[200 + i].error for i in range(5))
    assert_waited_together(holes, TIMEOUT, silent=len(holes), elapsed=elapsed)


def test_slow_name_lookups_neither_hold_up_the_others_nor_the_sweep(sip_peers, monkeypatch):
    """Twenty names whose lookup hangs, and live peers by name: the live ones still answer and the sweep
    ends after one timeout, without waiting for the hung lookups.

    The one stand-in of these tests: nothing here can make a real resolver slow (the system's resolv.conf
    is not ours to change), so getaddrinfo is held up for names under .slow.invalid, then does the real lookup.
    """
    real_getaddrinfo = socket.getaddrinfo
    release = threading.Event()
    hung, returned = [], []

    def slow_getaddrinfo(host, *args, **kwargs):
        if isinstance(host, str) and host.endswith(".slow.invalid"):
            hung.append(host)
            release.wait(30)
            returned.append(host)
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", slow_getaddrinfo)
    targets = [ProbeTarget(100 + i, "sip-options", f"sip:room@site-{i}.slow.invalid") for i in range(20)]
    targets += [ProbeTarget(i, "sip-options", f"sip:room@localhost:{p.port}") for i, p in enumerate(sip_peers[:10])]
    try:
        started = time.monotonic()
        results = {r.endpoint_id: r for r in probe_many(targets, timeout=TIMEOUT)}
        elapsed = time.monotonic() - started
        still_hung = len(hung) - len(returned)
    finally:
        release.set()
    assert {i for i, r in results.items() if r.reachable} == set(range(10))
    assert all(results[100 + i].error == f"Không phân giải được tên miền «site-{i}.slow.invalid» trong thời gian chờ."
               for i in range(20))
    # the sweep ended at the one deadline with its lookups still hung: it waited for none of them (a lookup
    # returns only once released, after the sweep), and the live sites' lookups were not queued behind them
    assert hung and still_hung == len(hung), f"{len(returned)} hung lookups returned before the sweep did"
    assert elapsed >= TIMEOUT * 0.9


def test_the_request_names_the_host_while_the_socket_uses_its_address():
    """A real UDP responder on 127.0.0.1 reached as sip:…@localhost: the request line and To keep the name."""
    server = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    server.bind(("127.0.0.1", 0))
    server.settimeout(5)
    port = server.getsockname()[1]
    received = []

    def answer():
        data, peer = server.recvfrom(65536)
        received.append(data.decode())
        call_id = next(line for line in data.decode().split("\r\n") if line.startswith("Call-ID:"))
        server.sendto(f"SIP/2.0 200 OK\r\n{call_id}\r\nContent-Length: 0\r\n\r\n".encode(), peer)

    responder = threading.Thread(target=answer)
    responder.start()
    try:
        [result] = probe_many([ProbeTarget(1, "sip-options", f"sip:room@localhost:{port}")], timeout=TIMEOUT)
    finally:
        responder.join(5)
        server.close()
    assert result.reachable and result.status_code == 200
    lines = received[0].split("\r\n")
    assert lines[0] == f"OPTIONS sip:room@localhost:{port} SIP/2.0"
    assert f"To: <sip:room@localhost:{port}>" in lines
