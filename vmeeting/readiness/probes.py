"""Network probes: is a site's device answering? SIP OPTIONS over UDP, TCP or TLS, or a TCP connect.

No database here: the service reads the targets, ends its transaction, calls
`probe_many`, and writes the results. Every probe of a sweep runs at once on one
asyncio loop with its own timeout, so a sweep of the whole province lasts about
one timeout, however many devices are silent.
"""

import asyncio
import re
import secrets
import socket
import ssl
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Optional

from vmeeting.database import utcnow

#: RFC 3261 timers: UDP retransmits at T1, doubling up to T2, until the timeout
T1_SECONDS = 0.5
T2_SECONDS = 4.0
DEFAULT_TIMEOUT_SECONDS = 2.0
DEFAULT_CONCURRENCY = 256
MAX_RESPONSE_BYTES = 65536

URI_RE = re.compile(
    r"^(?P<scheme>sips?):(?:(?P<user>[^@\s]+)@)?(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)"
    r"(?::(?P<port>\d{1,5}))?(?P<params>;[^\s?]*)?"
)
STATUS_RE = re.compile(rb"^SIP/2\.0 (\d{3})[^\r\n]*\r?\n")
CALL_ID_RE = re.compile(rb"^(?:call-id|i)[ \t]*:[ \t]*(\S+)", re.IGNORECASE | re.MULTILINE)


@dataclass(frozen=True)
class ProbeTarget:
    """One endpoint to probe: its id, the registry's probe method and its SIP URI."""

    endpoint_id: int
    method: str
    uri: str


@dataclass(frozen=True)
class ProbeResult:
    """What a probe found; `method` names the wire method actually used (sip-udp, sip-tcp, sip-tls, tcp)."""

    endpoint_id: int
    reachable: bool
    method: str
    checked_at: datetime
    rtt_ms: Optional[float] = None
    status_code: Optional[int] = None
    error: Optional[str] = None


@dataclass(frozen=True)
class SipAddress:
    """Where a SIP URI says to send: transport, host, port, and the URI itself for the request line."""

    transport: str
    host: str
    port: int
    uri: str


def parse_sip_uri(uri):
    """Return the SipAddress of a sip: or sips: URI; raise ValueError for anything else."""
    match = URI_RE.match((uri or "").strip())
    if not match:
        raise ValueError("Địa chỉ SIP không hợp lệ.")
    params = {}
    for part in (match["params"] or "").split(";"):
        name, _, value = part.partition("=")
        if name:
            params[name.lower()] = value.lower()
    secure = match["scheme"] == "sips"
    transport = "tls" if secure else params.get("transport", "udp")
    if transport not in ("udp", "tcp", "tls"):
        raise ValueError(f"Không hỗ trợ giao thức truyền «{transport}».")
    port = int(match["port"]) if match["port"] else (5061 if transport == "tls" else 5060)
    if not 0 < port < 65536:
        raise ValueError("Cổng phải từ 1 đến 65535.")
    return SipAddress(transport, match["host"].strip("[]"), port, match.group(0))


def options_request(uri, transport, local_host, local_port, *, call_id, branch, tag):
    """Return the bytes of a SIP OPTIONS request (RFC 3261 §11) for uri, sent from local_host:local_port."""
    via_host = f"[{local_host}]" if ":" in local_host else local_host
    lines = [
        f"OPTIONS {uri} SIP/2.0",
        f"Via: SIP/2.0/{transport.upper()} {via_host}:{local_port};branch={branch};rport",
        "Max-Forwards: 70",
        f"From: <sip:vmeeting@{via_host}>;tag={tag}",
        f"To: <{uri}>",
        f"Call-ID: {call_id}",
        "CSeq: 1 OPTIONS",
        f"Contact: <sip:vmeeting@{via_host}:{local_port};transport={transport}>",
        "Accept: application/sdp",
        "User-Agent: vmeeting-readiness",
        "Content-Length: 0",
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("ascii")


def response_status(data, call_id):
    """Return the status code of a SIP response to our call, or None if data is not one."""
    match = STATUS_RE.match(data)
    if not match:
        return None
    found = CALL_ID_RE.search(data)
    if found and found.group(1).decode("ascii", "replace") != call_id:
        return None
    return int(match.group(1))


def _ids():
    # The magic cookie z9hG4bK marks an RFC 3261 branch; the rest must be unique per request.
    return {"call_id": f"{secrets.token_hex(12)}@vmeeting", "branch": f"z9hG4bK{secrets.token_hex(10)}",
            "tag": secrets.token_hex(6)}


class _UdpResponse(asyncio.DatagramProtocol):
    def __init__(self, call_id, answered):
        self.call_id = call_id
        self.answered = answered

    def datagram_received(self, data, addr):
        status = response_status(data, self.call_id)
        if status is not None and not self.answered.done():
            self.answered.set_result(status)

    def error_received(self, exc):
        # on a connected UDP socket, an ICMP port-unreachable arrives here as ECONNREFUSED
        if not self.answered.done():
            self.answered.set_exception(exc)


async def _sip_udp(address, deadline):
    loop = asyncio.get_running_loop()
    ids = _ids()
    answered = loop.create_future()
    transport, _ = await loop.create_datagram_endpoint(
        lambda: _UdpResponse(ids["call_id"], answered), remote_addr=(address.host, address.port))
    try:
        local_host, local_port = transport.get_extra_info("sockname")[:2]
        request = options_request(address.uri, "udp", local_host, local_port, **ids)
        started = time.perf_counter()
        interval = T1_SECONDS
        while True:
            transport.sendto(request)
            remaining = deadline - time.perf_counter()
            if remaining <= 0:
                raise TimeoutError
            try:
                status = await asyncio.wait_for(asyncio.shield(answered), min(interval, remaining))
                return status, (time.perf_counter() - started) * 1000
            except TimeoutError:
                interval = min(interval * 2, T2_SECONDS)
    finally:
        transport.close()


async def _sip_stream(address, deadline, secure):
    context = None
    if secure:
        # Room systems present self-signed certificates; the probe asks "does it answer", not "who is it".
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    started = time.perf_counter()
    reader, writer = await asyncio.open_connection(address.host, address.port, ssl=context)
    try:
        local_host, local_port = writer.get_extra_info("sockname")[:2]
        ids = _ids()
        writer.write(options_request(address.uri, "tls" if secure else "tcp", local_host, local_port, **ids))
        await writer.drain()
        data = b""
        while b"\r\n\r\n" not in data and len(data) < MAX_RESPONSE_BYTES:
            chunk = await reader.read(4096)
            if not chunk:
                break
            data += chunk
            status = response_status(data, ids["call_id"]) if b"\r\n\r\n" in data else None
            if status is not None:
                return status, (time.perf_counter() - started) * 1000
        raise ConnectionError("no SIP response")
    finally:
        writer.close()


async def _tcp_connect(address):
    started = time.perf_counter()
    _reader, writer = await asyncio.open_connection(address.host, address.port)
    rtt_ms = (time.perf_counter() - started) * 1000
    writer.close()
    return None, rtt_ms


def _describe(exc, timeout):
    if isinstance(exc, TimeoutError):
        return f"Không phản hồi sau {timeout:g} giây."
    if isinstance(exc, socket.gaierror):
        return "Không phân giải được tên máy."
    if isinstance(exc, ConnectionRefusedError):
        return "Thiết bị từ chối kết nối (cổng đóng)."
    if isinstance(exc, ssl.SSLError):
        return f"Lỗi TLS: {exc.reason or exc}."
    if isinstance(exc, ConnectionError) and str(exc) == "no SIP response":
        return "Kết nối được nhưng thiết bị không trả lời SIP."
    if isinstance(exc, OSError) and exc.strerror:
        return f"Lỗi mạng: {exc.strerror}."
    return f"Lỗi: {exc}."


async def probe_one(target, timeout=DEFAULT_TIMEOUT_SECONDS):
    """Probe one target within timeout seconds; never raise, return a ProbeResult."""
    try:
        address = parse_sip_uri(target.uri)
    except ValueError as exc:
        return ProbeResult(target.endpoint_id, False, target.method, utcnow(), error=str(exc))
    method = "tcp" if target.method == "tcp" else f"sip-{address.transport}"
    deadline = time.perf_counter() + timeout
    try:
        if target.method == "tcp":
            work = _tcp_connect(address)
        elif address.transport == "udp":
            work = _sip_udp(address, deadline)
        else:
            work = _sip_stream(address, deadline, secure=address.transport == "tls")
        status, rtt_ms = await asyncio.wait_for(work, timeout)
    except (OSError, TimeoutError, ssl.SSLError) as exc:
        return ProbeResult(target.endpoint_id, False, method, utcnow(), error=_describe(exc, timeout))
    # Any SIP answer, 4xx and 5xx included, proves the device is up and listening.
    return ProbeResult(target.endpoint_id, True, method, utcnow(), rtt_ms=round(rtt_ms, 1), status_code=status)


async def probe_all(targets, timeout=DEFAULT_TIMEOUT_SECONDS, concurrency=DEFAULT_CONCURRENCY):
    """Probe every target at once (at most `concurrency` in flight); results in the targets' order."""
    gate = asyncio.Semaphore(concurrency)

    async def guarded(target):
        async with gate:
            return await probe_one(target, timeout)

    return list(await asyncio.gather(*(guarded(t) for t in targets)))


def probe_many(targets, timeout=DEFAULT_TIMEOUT_SECONDS, concurrency=DEFAULT_CONCURRENCY):
    """Probe targets concurrently from synchronous code; skip those whose method is `none`."""
    targets = [t for t in targets if t.method != "none"]
    if not targets:
        return []
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(probe_all(targets, timeout, concurrency))
    # Called where this thread already runs an event loop (an async host, a browser driver in the tests):
    # the sweep gets a loop of its own on a thread of its own.
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(lambda: asyncio.run(probe_all(targets, timeout, concurrency))).result()
