"""The probes against real SIP peers (sipp) and real sockets; no database needed."""

import socket
import time

import pytest

from tests.readiness.sip_peers import BlackHole, free_ports, sipp_path, start_peers, stop_peers
from vmeeting.readiness.probes import (
    ProbeTarget, options_request, parse_sip_uri, probe_many, response_status,
)

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


@pytest.mark.parametrize("uri", ["", "http://x", "sip:room@host:99999", "sip:room@host;transport=sctp"])
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
    assert TIMEOUT * 0.9 <= elapsed < TIMEOUT * 1.5, f"sweep took {elapsed:.2f}s for a {TIMEOUT}s timeout"


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
    assert results[0].error == "Địa chỉ SIP không hợp lệ."
