"""Network probes: is a site's device answering? SIP OPTIONS over UDP, TCP or TLS, or a TCP connect.

No database here: the service reads the targets, ends its transaction, calls
`probe_many`, and writes the results. Every probe of a sweep runs at once on one
asyncio loop with its own timeout, so a sweep of the whole province lasts about
one timeout, however many devices are silent, and however slow their names are
to look up: the lookups run at once too, on threads of the sweep's own, within
that same timeout.

Where a probe may dial is decided at dial time, on each address a name
resolved to (`dial_refusal`): never a link-local, multicast, broadcast or
unspecified address, and loopback only when allowed (PROBE_ALLOW_LOOPBACK),
so a SIP address cannot turn the probes against the server's own services or
its network's neighbours, whether written as an address or as a name that
resolves to one.
"""

import asyncio
import ipaddress
import logging
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
from vmeeting.sipuri import parse_sip_uri

log = logging.getLogger(__name__)

#: RFC 3261 timers: UDP retransmits at T1, doubling up to T2, until the timeout
T1_SECONDS = 0.5
T2_SECONDS = 4.0
DEFAULT_TIMEOUT_SECONDS = 2.0
DEFAULT_CONCURRENCY = 256
MAX_RESPONSE_BYTES = 65536

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


async def _sip_udp(address, ip, deadline):
    loop = asyncio.get_running_loop()
    ids = _ids()
    answered = loop.create_future()
    transport, _ = await loop.create_datagram_endpoint(
        lambda: _UdpResponse(ids["call_id"], answered), remote_addr=(ip, address.port))
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


async def _sip_stream(address, ip, secure):
    context = None
    if secure:
        # Room systems present self-signed certificates; the probe asks "does it answer", not "who is it".
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    started = time.perf_counter()
    # SNI names the host of the URI, not the address it resolved to
    reader, writer = await asyncio.open_connection(ip, address.port, ssl=context,
                                                   server_hostname=address.host if secure else None)
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


async def _tcp_connect(address, ip):
    started = time.perf_counter()
    _reader, writer = await asyncio.open_connection(ip, address.port)
    rtt_ms = (time.perf_counter() - started) * 1000
    writer.close()
    return None, rtt_ms


class DialRefused(Exception):
    """Every address of the target is one the probes never dial; the message says why, in Vietnamese."""


def dial_refusal(ip, allow_loopback):
    """Return why the probes must not dial ip (text, in Vietnamese), or None when they may.

    Link-local (169.254.0.0/16, fe80::/10: cloud metadata services, the
    neighbours' devices), multicast, broadcast and unspecified addresses are
    never dialled; loopback (127.0.0.0/8, ::1: the server's own services) only
    under allow_loopback. IPv4 written inside IPv6 (::ffff:127.0.0.1) is judged as IPv4.
    """
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return f"«{ip}» không phải địa chỉ IP."
    if address.version == 6 and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address.is_unspecified:
        return f"Không kiểm tra địa chỉ không xác định {ip}."
    if address.is_link_local:
        return f"Không kiểm tra địa chỉ liên kết cục bộ {ip} (169.254.0.0/16, fe80::/10)."
    if address.is_multicast or address == ipaddress.IPv4Address("255.255.255.255"):
        return f"Không kiểm tra địa chỉ multicast hay broadcast {ip}."
    if address.is_loopback and not allow_loopback:
        return f"Không kiểm tra địa chỉ của chính máy chủ {ip} (loopback)."
    return None


class LookupFailed(Exception):
    """A host name did not resolve, or not within the probe's time; the message says so to the user."""


def _lookup(host):
    """Return the addresses of host, in the resolver's order of preference (runs on a resolver thread)."""
    infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(info[4][0] for info in infos))


class Resolver:
    """Looks up every distinct host name of a sweep once, all at once, on threads of the sweep's own.

    Not on asyncio's default pool: it has min(32, CPUs + 4) threads, so a
    few slow names would hold up every other lookup until live sites timed out
    as silent, and asyncio.run waits for its threads, so the sweep would last as
    long as the slowest lookup. `close` does not wait for a stuck lookup.
    """

    def __init__(self, hosts, concurrency=DEFAULT_CONCURRENCY):
        names = {h for h in hosts if not _is_ip(h)}
        self.pool = ThreadPoolExecutor(max_workers=max(1, min(len(names), concurrency)),
                                       thread_name_prefix="probe-dns")
        loop = asyncio.get_running_loop()
        self.lookups = {name: loop.run_in_executor(self.pool, _lookup, name) for name in names}

    async def addresses(self, host, deadline):
        """Return host's addresses by the deadline (an address is its own); raise LookupFailed."""
        lookup = self.lookups.get(host)
        if lookup is None:
            return [host]
        try:
            # shield: a probe giving up must not cancel the lookup another probe of the same host awaits
            return await asyncio.wait_for(asyncio.shield(lookup), max(deadline - time.perf_counter(), 0))
        except TimeoutError:
            raise LookupFailed(f"Không phân giải được tên miền «{host}» trong thời gian chờ.") from None
        except Exception as exc:  # gaierror, or anything else the resolver raises: the name is no good
            raise LookupFailed(f"Không phân giải được tên miền «{host}».") from exc

    def close(self):
        """Let go of the lookups still running; their threads end on their own, nobody waits for them."""
        for lookup in self.lookups.values():
            lookup.cancel()  # nor is a failure nobody awaited logged as "never retrieved"
        self.pool.shutdown(wait=False, cancel_futures=True)


def _is_ip(host):
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _describe(exc, timeout):
    if isinstance(exc, (LookupFailed, DialRefused)):
        return str(exc)
    if isinstance(exc, TimeoutError):
        return f"Không phản hồi sau {timeout:g} giây."
    if isinstance(exc, socket.gaierror):
        return "Không phân giải được tên miền."
    if isinstance(exc, ConnectionRefusedError):
        return "Thiết bị từ chối kết nối (cổng đóng)."
    if isinstance(exc, ssl.SSLError):
        return f"Lỗi TLS: {exc.reason or exc}."
    if isinstance(exc, ConnectionError) and str(exc) == "no SIP response":
        return "Kết nối được nhưng thiết bị không trả lời SIP."
    if isinstance(exc, OSError) and exc.strerror:
        return f"Lỗi mạng: {exc.strerror}."
    return f"Lỗi: {exc}."


def _failed(target, method, error):
    return ProbeResult(target.endpoint_id, False, method, utcnow(), error=error)


async def _exchange(target, address, ip, deadline):
    if target.method == "tcp":
        return await _tcp_connect(address, ip)
    if address.transport == "udp":
        return await _sip_udp(address, ip, deadline)
    return await _sip_stream(address, ip, secure=address.transport == "tls")


async def _first_answer(target, address, ips, deadline, allow_loopback):
    """Try the host's addresses in turn, as asyncio would with a name: the next one when a connection fails.

    Only the addresses the policy allows are tried; none left is a DialRefused.
    """
    refusals = [dial_refusal(ip, allow_loopback) for ip in ips]
    ips = [ip for ip, refusal in zip(ips, refusals) if refusal is None]
    if not ips:
        raise DialRefused(next((r for r in refusals if r), "Không có địa chỉ nào để kiểm tra."))
    for n, ip in enumerate(ips):
        try:
            return await _exchange(target, address, ip, deadline)
        except TimeoutError:
            raise
        except OSError:
            if n == len(ips) - 1 or time.perf_counter() >= deadline:
                raise


async def probe_one(target, timeout=DEFAULT_TIMEOUT_SECONDS, resolver=None, allow_loopback=False):
    """Probe one target within timeout seconds, its name lookup included; never raise, return a ProbeResult.

    `allow_loopback`: whether 127.0.0.0/8 and ::1 may be dialled (dial_refusal).

    Whatever goes wrong with one device (an address the resolver chokes on, a
    bug of ours) is that device's result: it must not cost the sweep the
    results of every other site. A cancelled sweep still stops.
    """
    try:
        address = parse_sip_uri(target.uri)
    except ValueError as exc:
        return _failed(target, target.method, str(exc))
    except Exception:
        log.exception("probe of endpoint %s: address %r", target.endpoint_id, target.uri)
        return _failed(target, target.method, "Địa chỉ SIP không hợp lệ.")
    method = "tcp" if target.method == "tcp" else f"sip-{address.transport}"
    deadline = time.perf_counter() + timeout
    own_resolver = resolver is None
    try:
        if own_resolver:
            resolver = Resolver([address.host])
        ips = await resolver.addresses(address.host, deadline)
        status, rtt_ms = await asyncio.wait_for(_first_answer(target, address, ips, deadline, allow_loopback),
                                                max(deadline - time.perf_counter(), 0))
    except (LookupFailed, DialRefused, OSError, TimeoutError, ssl.SSLError) as exc:
        return _failed(target, method, _describe(exc, timeout))
    except Exception as exc:
        log.exception("probe of endpoint %s (%s) failed", target.endpoint_id, target.uri)
        return _failed(target, method, f"Lỗi không lường trước khi kiểm tra ({type(exc).__name__}).")
    finally:
        if own_resolver and resolver is not None:
            resolver.close()
    # Any SIP answer, 4xx and 5xx included, proves the device is up and listening.
    return ProbeResult(target.endpoint_id, True, method, utcnow(), rtt_ms=round(rtt_ms, 1), status_code=status)


async def probe_all(targets, timeout=DEFAULT_TIMEOUT_SECONDS, concurrency=DEFAULT_CONCURRENCY, allow_loopback=False):
    """Probe every target at once (at most `concurrency` in flight); results in the targets' order.

    The distinct host names are looked up first, all at once; each probe waits
    for its own within its timeout.
    """
    gate = asyncio.Semaphore(concurrency)
    hosts = set()
    for target in targets:
        try:
            hosts.add(parse_sip_uri(target.uri).host)
        except Exception:  # probe_one reports it, as that site's result
            pass
    resolver = Resolver(hosts, concurrency)

    async def guarded(target):
        async with gate:
            return await probe_one(target, timeout, resolver, allow_loopback)

    try:
        # return_exceptions: should a probe raise after all, the others' results are still kept
        outcomes = await asyncio.gather(*(guarded(t) for t in targets), return_exceptions=True)
    finally:
        resolver.close()
    return [outcome if isinstance(outcome, ProbeResult)
            else _failed(target, target.method, f"Lỗi không lường trước khi kiểm tra ({type(outcome).__name__}).")
            for target, outcome in zip(targets, outcomes)]
def probe_many(targets, timeout=DEFAULT_TIMEOUT_SECONDS, concurrency=DEFAULT_CONCURRENCY, *, allow_loopback):
    """Probe targets concurrently from synchronous code; skip those whose method is `none`.

    `allow_loopback`: whether 127.0.0.0/8 and ::1 may be dialled (PROBE_ALLOW_LOOPBACK; dial_refusal).
    It has no default: every sweep (readiness, network) passes the configured
    policy, so none can dial by another rule than the one the operator set.
    """
    targets = [t for t in targets if t.method != "none"]
    if not targets:
        return []
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(probe_all(targets, timeout, concurrency, allow_loopback))
    # Called where this thread already runs an event loop (an async host, a browser driver in the tests):
    # the sweep gets a loop of its own on a thread of its own.
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(lambda: asyncio.run(probe_all(targets, timeout, concurrency, allow_loopback))).result()
