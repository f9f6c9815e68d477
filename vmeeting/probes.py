"""The sweep engine: is each site's device answering? SIP OPTIONS over UDP, TCP or TLS, or a TCP connect.

Readiness (the rounds before a meeting) and network (the periodic sweep of
every site) share the probes through this module, not through each other's
services (DESIGN.md). No database here: a service reads the targets, ends its
transaction, calls `probe_many`, and writes the results.

A sweep of the whole country lasts about one timeout, however many devices are
silent (a silent device costs its probe the whole timeout; they all wait it out
together):

- every probe starts at once, on one asyncio loop, with its own deadline
  `timeout` seconds after its start, its name lookup included;
- UDP probes (SIP's default transport, most sites) hold no socket and no task
  of their own: they share a few sockets per address family (`UDP_SOCKETS`),
  an answer finds its probe by Call-ID and must come from the address the
  request went to, and retransmissions follow RFC 3261's timer E (T1 doubling
  up to T2). A closed port's ICMP refusal reaches the probe through the
  socket's error queue (IP_RECVERR, Linux), so a dead site fails at once;
  elsewhere it waits out the timeout;
- TCP and TLS probes each hold a socket while they run: at most `max_streams`
  at once (PROBE_MAX_STREAMS, lowered to what the process's open-file limit
  leaves, `stream_limit`). A probe waiting for a socket starts its clock when it
  gets one, so beyond that many silent TCP/TLS sites a sweep lasts one more
  timeout per batch, and never reports a site it did not dial;
- the process's soft RLIMIT_NOFILE is raised to its hard limit at the first
  sweep (`raise_open_file_limit`);
- distinct host names are looked up once each, all at once, on threads of the
  sweep's own (`Resolver`).

Where a probe may dial is decided at dial time, on each address a name
resolved to (`dial_refusal`): never a link-local, multicast, broadcast or
unspecified address, and loopback only when allowed (PROBE_ALLOW_LOOPBACK),
so a SIP address cannot turn the probes against the server's own services or
its network's neighbours, whether written as an address or as a name that
resolves to one.
"""

import asyncio
import collections
import ipaddress
import logging
import os
import re
import secrets
import socket
import ssl
import struct
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Optional

from vmeeting.database import utcnow
from vmeeting.sipuri import parse_sip_uri

try:
    import resource
except ImportError:  # not on Windows: the limit is left as it is
    resource = None

log = logging.getLogger(__name__)

#: RFC 3261 timers: UDP retransmits at T1, doubling up to T2, until the timeout
T1_SECONDS = 0.5
T2_SECONDS = 4.0
DEFAULT_TIMEOUT_SECONDS = 2.0
#: TCP/TLS probes with a socket open at once, before the open-file limit has its say (a country's sites)
DEFAULT_MAX_STREAMS = 10_000
#: open files kept back from the TCP/TLS probes for the rest of the process: database, logs, name lookups
FILES_KEPT_BACK = 512
#: UDP sockets a sweep shares per address family, and the buffer each asks for (capped by net.core.rmem_max)
UDP_SOCKETS = 4
UDP_BUFFER_BYTES = 4 * 1024 * 1024
#: threads looking up host names at once
LOOKUP_THREADS = 256
MAX_RESPONSE_BYTES = 65536

STATUS_RE = re.compile(rb"^SIP/2\.0 (\d{3})[^\r\n]*\r?\n")
CALL_ID_RE = re.compile(rb"^(?:call-id|i)[ \t]*:[ \t]*(\S+)", re.IGNORECASE | re.MULTILINE)
#: Linux's IP_RECVERR / IPV6_RECVERR (socket does not name them) and struct sock_extended_err's head
RECVERR_OPTIONS = {socket.AF_INET: (socket.IPPROTO_IP, 11), socket.AF_INET6: (socket.IPPROTO_IPV6, 25)}
MSG_ERRQUEUE = getattr(socket, "MSG_ERRQUEUE", None)
EXTENDED_ERR = struct.Struct("=IBBBBII")
ERR_ORIGIN_ICMP = (2, 3)  # SO_EE_ORIGIN_ICMP, SO_EE_ORIGIN_ICMP6


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
    """Return the bytes of a SIP OPTIONS request (RFC 3261 §11) for uri, sent from local_host:local_port.

    Call-ID comes right after Via, so that the part of the request an ICMP
    error carries back (about 500 bytes) still names the call.
    """
    via_host = f"[{local_host}]" if ":" in local_host else local_host
    lines = [
        f"OPTIONS {uri} SIP/2.0",
        f"Via: SIP/2.0/{transport.upper()} {via_host}:{local_port};branch={branch};rport",
        f"Call-ID: {call_id}",
        "Max-Forwards: 70",
        f"From: <sip:vmeeting@{via_host}>;tag={tag}",
        f"To: <{uri}>",
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
    # One read of the system's randomness for all three. The magic cookie z9hG4bK marks an RFC 3261 branch;
    # the rest must be unique per request.
    token = secrets.token_hex(28)
    return {"call_id": f"{token[:24]}@vmeeting", "branch": f"z9hG4bK{token[24:44]}", "tag": token[44:]}


# -- open files ------------------------------------------------------------------------------------

_open_file_limit = None


def raise_open_file_limit():
    """Raise this process's soft limit of open files to its hard limit (once); return the soft limit, or None.

    None where the platform has no such limit (Windows) or it is unlimited.
    A hard limit of "unlimited" is not taken literally: the soft limit goes no
    higher than 1,048,576, Linux's default nr_open.
    """
    global _open_file_limit
    if resource is None:
        return None
    if _open_file_limit is None:
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        wanted = min(hard, 1 << 20) if hard != resource.RLIM_INFINITY else 1 << 20
        if soft != resource.RLIM_INFINITY and wanted > soft:
            try:
                resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
                soft = wanted
            except (ValueError, OSError) as exc:
                log.warning("could not raise the open-file limit from %s to %s: %s", soft, wanted, exc)
        _open_file_limit = soft
    return None if _open_file_limit == resource.RLIM_INFINITY else _open_file_limit


def _open_files():
    try:
        return len(os.listdir("/proc/self/fd"))
    except OSError:  # no /proc: count nothing, FILES_KEPT_BACK is the margin
        return 0


def stream_limit(wanted=DEFAULT_MAX_STREAMS):
    """Return how many TCP/TLS probes may hold a socket at once: wanted, within the open files left.

    The open-file limit (raised first), less the files open now and
    FILES_KEPT_BACK for the rest of the process; that budget is never taken below 16.
    """
    limit = raise_open_file_limit()
    if limit is None:
        return wanted
    return min(wanted, max(16, limit - _open_files() - FILES_KEPT_BACK))


# -- where a probe may dial ------------------------------------------------------------------------


class DialRefused(Exception):
    """Every address of the target is one the probes never dial; the message says why, in Vietnamese."""


def dial_refusal(ip, allow_loopback):
    """Return why the probes must not dial ip (text, in Vietnamese), or None when they may.

    Link-local (169.254.0.0/16, fe80::/10: cloud metadata services, the
    neighbours' devices), multicast, broadcast and unspecified addresses are
    never dialled; loopback (127.0.0.0/8, ::1: the server's own services) only
    under allow_loopback. IPv4 written inside IPv6 (::ffff:127.0.0.1) is judged as IPv4.
    """
    try:  # the common case, an IPv4 address, without ipaddress's cost (10,000 of them a sweep)
        first, second, *_rest = socket.inet_pton(socket.AF_INET, ip)
    except (OSError, TypeError, ValueError):
        pass
    else:
        if ip == "0.0.0.0":
            return f"Không kiểm tra địa chỉ không xác định {ip}."
        if (first, second) == (169, 254):
            return f"Không kiểm tra địa chỉ liên kết cục bộ {ip} (169.254.0.0/16, fe80::/10)."
        if 224 <= first <= 239 or ip == "255.255.255.255":
            return f"Không kiểm tra địa chỉ multicast hay broadcast {ip}."
        if first == 127 and not allow_loopback:
            return f"Không kiểm tra địa chỉ của chính máy chủ {ip} (loopback)."
        return None
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


# -- names -----------------------------------------------------------------------------------------


class LookupFailed(Exception):
    """A host name did not resolve, or not within the probe's time; the message says so to the user."""


def _lookup(host):
    """Return the addresses of host, in the resolver's order of preference (runs on a resolver thread)."""
    infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(info[4][0] for info in infos))


def _is_ip(host):
    try:
        socket.inet_pton(socket.AF_INET, host)
        return True
    except (OSError, TypeError, ValueError):
        pass
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


class Resolver:
    """Looks up every distinct host name of a sweep once, all at once, on threads of the sweep's own.

    Not on asyncio's default pool: it has min(32, CPUs + 4) threads, so a
    few slow names would hold up every other lookup until live sites timed out
    as silent, and asyncio.run waits for its threads, so the sweep would last as
    long as the slowest lookup. `close` does not wait for a stuck lookup.
    """

    def __init__(self, hosts, threads=LOOKUP_THREADS):
        names = {h for h in hosts if not _is_ip(h)}
        self.pool = ThreadPoolExecutor(max_workers=max(1, min(len(names), threads)), thread_name_prefix="probe-dns")
        loop = asyncio.get_running_loop()
        self.lookups = {name: loop.run_in_executor(self.pool, _lookup, name) for name in names}

    def lookup(self, host):
        """Return the future of host's addresses ([str]), or None when host is an address: its own."""
        return self.lookups.get(host)

    def close(self):
        """Let go of the lookups still running; their threads end on their own, nobody waits for them."""
        for lookup in self.lookups.values():
            lookup.cancel()  # nor is a failure nobody awaited logged as "never retrieved"
        self.pool.shutdown(wait=False, cancel_futures=True)


# -- what went wrong, for the user -----------------------------------------------------------------


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


def _unexpected(exc):
    return f"Lỗi không lường trước khi kiểm tra ({type(exc).__name__})."


# -- TCP and TLS: a socket and a coroutine per probe -----------------------------------------------


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


# -- UDP: a few sockets for the whole sweep --------------------------------------------------------


class _UdpExchange:
    """One OPTIONS request over UDP to one address, until it is answered, refused or out of time."""

    __slots__ = ("probe", "sock", "peer", "key", "call_id", "request", "started", "interval", "timer", "ended")

    def __init__(self, probe, sock, peer, key, call_id, request, started):
        self.probe, self.sock, self.peer, self.key = probe, sock, peer, key
        self.call_id, self.request, self.started = call_id, request, started
        self.interval = T1_SECONDS
        self.timer = None
        self.ended = False


class _UdpMux:
    """The UDP side of a sweep: UDP_SOCKETS shared sockets per address family, each answer matched to its request.

    An answer counts when its Call-ID is one of ours and it comes from the
    address and port that request went to (what a connected socket checked
    before); one without a Call-ID answers a request that went where it came
    from. ICMP errors are read from the socket's error queue, which gives the
    request's destination and the start of the request (its Call-ID).
    """

    def __init__(self, loop):
        self.loop = loop
        self.sockets = {}  # family -> [socket]
        self.local_ports = {}  # socket -> its port
        self.turn = 0
        self.routes = {}  # family -> a socket connected to each destination in turn: the source address it picks
        self.local_hosts = {}  # destination ip -> the local address requests to it leave from (for Via)
        self.by_call_id = {}
        self.by_peer = {}  # (packed ip, port) -> {exchange}
        self.unsent = {}  # socket -> deque of exchanges waiting for room in its send buffer

    def _socket(self, family):
        """Return the next of the family's shared sockets, opened at the family's first request; raise OSError."""
        socks = self.sockets.get(family)
        if socks is None:
            socks = []
            try:
                for _ in range(UDP_SOCKETS):
                    socks.append(self._open(family))
            except OSError:  # no IPv6 here, or no file descriptor left: this request fails, a later one retries
                for sock in socks:
                    sock.close()
                raise
            for sock in socks:
                self.local_ports[sock] = sock.getsockname()[1]
                self.loop.add_reader(sock.fileno(), self._readable, sock)
            self.sockets[family] = socks
        self.turn += 1
        return socks[self.turn % len(socks)]

    @staticmethod
    def _open(family):
        sock = socket.socket(family, socket.SOCK_DGRAM)
        try:
            sock.setblocking(False)
            for option in (socket.SO_RCVBUF, socket.SO_SNDBUF):
                try:  # the kernel caps it at net.core.[rw]mem_max; a burst of answers must not be dropped
                    sock.setsockopt(socket.SOL_SOCKET, option, UDP_BUFFER_BYTES)
                except OSError:
                    pass
            if MSG_ERRQUEUE is not None:
                for level, name in {RECVERR_OPTIONS[family], RECVERR_OPTIONS[socket.AF_INET]}:
                    try:
                        sock.setsockopt(level, name, 1)
                    except OSError:
                        pass
            sock.bind(("::" if family == socket.AF_INET6 else "0.0.0.0", 0))
        except OSError:
            sock.close()
            raise
        return sock

    def _local_host(self, family, ip, port):
        host = self.local_hosts.get(ip)
        if host is None:
            route = self.routes.get(family)
            if route is None:
                route = self.routes[family] = socket.socket(family, socket.SOCK_DGRAM)
            route.connect((ip, port))  # sends nothing: the kernel picks the route and its source address
            host = self.local_hosts[ip] = route.getsockname()[0]
        return host

    def send(self, probe, ip):
        """Start the exchange of probe with ip; its outcome comes back through probe.answered / attempt_failed."""
        family = socket.AF_INET6 if ":" in ip else socket.AF_INET
        port = probe.address.port
        try:
            local_host = self._local_host(family, ip, port)
            sock = self._socket(family)
        except OSError as exc:  # no route to it, no socket for it
            probe.attempt_failed(exc)
            return
        ids = _ids()
        request = options_request(probe.address.uri, "udp", local_host, self.local_ports[sock], **ids)
        key = (socket.inet_pton(family, ip), port)
        exchange = _UdpExchange(probe, sock, (ip, port), key, ids["call_id"], request, self.loop.time())
        self.by_call_id[exchange.call_id] = exchange
        self.by_peer.setdefault(key, set()).add(exchange)
        if self._transmit(exchange):
            exchange.timer = self.loop.call_at(min(exchange.started + T1_SECONDS, probe.deadline),
                                               self._retransmit, exchange)

    def _sendto(self, exchange):
        """Send the request; False when the send buffer is full. Raise the OSError of this request's own failure.

        An ICMP error for another request surfaces on the next send from the
        same socket (the socket's pending error): it is read from the error
        queue, given to the request it concerns, and the send tried again.
        """
        for tries_left in (2, 1, 0):
            try:
                exchange.sock.sendto(exchange.request, exchange.peer)
                return True
            except (BlockingIOError, InterruptedError):
                return False
            except OSError:
                if not tries_left or MSG_ERRQUEUE is None:
                    raise
                self._read_errors(exchange.sock)
                exchange.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)  # clears what the queue left pending
                if exchange.ended:  # the error was this request's own, from an earlier send
                    return True

    def _transmit(self, exchange):
        """Send the request (once more); False when that failed and the probe has been told."""
        try:
            sent = self._sendto(exchange)
        except OSError as exc:
            self._end(exchange)
            exchange.probe.step(exchange.probe.attempt_failed, exc)
            return False
        if not sent:
            waiting = self.unsent.get(exchange.sock)
            if waiting is None:
                waiting = self.unsent[exchange.sock] = collections.deque()
                self.loop.add_writer(exchange.sock.fileno(), self._writable, exchange.sock)
            waiting.append(exchange)
        return not exchange.ended

    def _writable(self, sock):
        waiting = self.unsent[sock]
        while waiting:
            exchange = waiting[0]
            if not exchange.ended:
                try:
                    if not self._sendto(exchange):
                        return
                except OSError as exc:
                    self._end(exchange)
                    exchange.probe.step(exchange.probe.attempt_failed, exc)
            waiting.popleft()
        del self.unsent[sock]
        self.loop.remove_writer(sock.fileno())

    def _retransmit(self, exchange):
        probe = exchange.probe
        if exchange.ended:
            return
        now = self.loop.time()
        if now >= probe.deadline - 0.001:
            self._end(exchange)
            probe.step(probe.attempt_failed, TimeoutError())
            return
        if self._transmit(exchange):
            exchange.interval = min(exchange.interval * 2, T2_SECONDS)
            exchange.timer = self.loop.call_at(min(now + exchange.interval, probe.deadline),
                                               self._retransmit, exchange)

    def _end(self, exchange):
        exchange.ended = True
        if exchange.timer is not None:
            exchange.timer.cancel()
        self.by_call_id.pop(exchange.call_id, None)
        same_peer = self.by_peer.get(exchange.key)
        if same_peer is not None:
            same_peer.discard(exchange)
            if not same_peer:
                del self.by_peer[exchange.key]

    def _readable(self, sock):
        for _ in range(4096):  # then the loop serves the others, and comes back
            try:
                data, peer = sock.recvfrom(MAX_RESPONSE_BYTES)
            except (BlockingIOError, InterruptedError):
                break
            except OSError:  # an ICMP error is pending (IP_RECVERR); the error queue says for what
                self._read_errors(sock)
                continue
            try:
                self._answer(sock, data, peer)
            except Exception:
                log.exception("a UDP answer to the probes could not be read (from %s)", peer)
        self._read_errors(sock)

    def _answer(self, sock, data, peer):
        match = STATUS_RE.match(data)
        if not match:
            return
        key = (socket.inet_pton(sock.family, peer[0]), peer[1])
        found = CALL_ID_RE.search(data)
        if found:
            exchange = self.by_call_id.get(found.group(1).decode("ascii", "replace"))
            if exchange is None or exchange.key != key:
                return  # not ours (any more), or not from where we sent it
        else:
            exchange = next(iter(self.by_peer.get(key, ())), None)
            if exchange is None:
                return
        rtt_ms = (self.loop.time() - exchange.started) * 1000
        self._end(exchange)
        exchange.probe.step(exchange.probe.answered, int(match.group(1)), rtt_ms)

    def _read_errors(self, sock):
        if MSG_ERRQUEUE is None:
            return
        for _ in range(4096):
            try:
                data, ancillary, _flags, peer = sock.recvmsg(MAX_RESPONSE_BYTES, 1024, MSG_ERRQUEUE)
            except OSError:  # BlockingIOError: the queue is empty
                return
            code = None
            for level, kind, payload in ancillary:
                if (level, kind) in RECVERR_OPTIONS.values() and len(payload) >= EXTENDED_ERR.size:
                    ee_errno, origin = EXTENDED_ERR.unpack_from(payload)[:2]
                    if origin in ERR_ORIGIN_ICMP and ee_errno:
                        code = ee_errno
            if code is None or not peer:
                continue
            error = OSError(code, os.strerror(code))  # ECONNREFUSED comes out a ConnectionRefusedError
            found = CALL_ID_RE.search(data)
            if found:
                exchange = self.by_call_id.get(found.group(1).decode("ascii", "replace"))
                exchanges = [exchange] if exchange is not None else []
            else:  # the error carried too little of the request: it concerns every request to that address
                exchanges = list(self.by_peer.get((socket.inet_pton(sock.family, peer[0]), peer[1]), ()))
            for exchange in exchanges:
                self._end(exchange)
                exchange.probe.step(exchange.probe.attempt_failed, error)

    def close(self):
        """Close the sockets; an exchange still running ends unanswered."""
        for exchange in list(self.by_call_id.values()):
            self._end(exchange)
        for socks in self.sockets.values():
            for sock in socks:
                self.loop.remove_reader(sock.fileno())
                if sock in self.unsent:
                    self.loop.remove_writer(sock.fileno())
                sock.close()
        for route in self.routes.values():
            route.close()


# -- one probe, one sweep --------------------------------------------------------------------------


class _Sweep:
    """What the probes of one sweep share: the loop, the UDP sockets, the TCP/TLS gate, the results."""

    def __init__(self, loop, count, timeout, max_streams, allow_loopback, resolver):
        self.loop, self.timeout, self.allow_loopback, self.resolver = loop, timeout, allow_loopback, resolver
        self.streams = asyncio.Semaphore(max_streams)
        self.udp = _UdpMux(loop)
        self.tasks = set()
        self.results = [None] * count
        self.left = count
        self.all_done = loop.create_future()

    def report(self, index, result):
        self.results[index] = result
        self.left -= 1
        if self.left == 0 and not self.all_done.done():
            self.all_done.set_result(None)

    def close(self):
        for task in self.tasks:
            task.cancel()
        self.udp.close()


class _Probe:
    """One target's way through a sweep: its name looked up, its allowed addresses dialled in turn, one result.

    Each step runs from the loop's callbacks; `step` makes whatever goes wrong
    inside one (an address the resolver chokes on, a bug of ours) that site's
    result: it must not cost the sweep the results of every other site.
    """

    __slots__ = ("sweep", "index", "target", "address", "method", "deadline", "ips", "timer", "finished")

    def __init__(self, sweep, index, target):
        self.sweep, self.index, self.target = sweep, index, target
        self.method = target.method
        self.address = self.timer = None
        self.ips = collections.deque()
        self.finished = False

    def start(self, address):
        """Begin with the target's SipAddress (or why it has none): the clock starts now, for the lookup and all."""
        if isinstance(address, ValueError):
            return self.finish(error=str(address))
        if isinstance(address, Exception):
            log.error("probe of endpoint %s: address %r", self.target.endpoint_id, self.target.uri, exc_info=address)
            return self.finish(error="Địa chỉ SIP không hợp lệ.")
        self.address = address
        self.method = "tcp" if self.target.method == "tcp" else f"sip-{address.transport}"
        self.deadline = self.sweep.loop.time() + self.sweep.timeout
        self.step(self._look_up)

    def step(self, func, *args):
        """Run one step unless the probe is over; an exception in it is the site's result."""
        if self.finished:
            return
        try:
            func(*args)
        except Exception as exc:
            log.exception("probe of endpoint %s (%s) failed", self.target.endpoint_id, self.target.uri)
            self.finish(error=_unexpected(exc))

    def _look_up(self):
        lookup = self.sweep.resolver.lookup(self.address.host)
        if lookup is None:
            self._dial([self.address.host])
        elif lookup.done():
            self._looked_up(lookup)
        else:
            self.timer = self.sweep.loop.call_at(self.deadline, self.step, self._lookup_late)
            lookup.add_done_callback(lambda done: self.step(self._looked_up, done))

    def _lookup_late(self):
        self.fail(LookupFailed(f"Không phân giải được tên miền «{self.address.host}» trong thời gian chờ."))

    def _looked_up(self, lookup):
        if self.timer is not None:
            self.timer.cancel()
        if lookup.cancelled() or lookup.exception() is not None:  # gaierror, or anything else: the name is no good
            self.fail(LookupFailed(f"Không phân giải được tên miền «{self.address.host}»."))
        else:
            self._dial(lookup.result())

    def _dial(self, ips):
        """Dial the addresses the policy allows, in the resolver's order; none allowed is a DialRefused."""
        refusals = [dial_refusal(ip, self.sweep.allow_loopback) for ip in ips]
        self.ips.extend(ip for ip, refusal in zip(ips, refusals) if refusal is None)
        if not self.ips:
            self.fail(DialRefused(next((r for r in refusals if r), "Không có địa chỉ nào để kiểm tra.")))
        else:
            self._next_address()

    def _next_address(self):
        ip = self.ips.popleft()
        if self.target.method == "tcp" or self.address.transport != "udp":
            task = self.sweep.loop.create_task(self._stream(ip))
            self.sweep.tasks.add(task)
            task.add_done_callback(self._stream_done)
        else:
            self.sweep.udp.send(self, ip)

    async def _stream(self, ip):
        loop = self.sweep.loop
        asked_at = loop.time()
        async with self.sweep.streams:
            self.deadline += loop.time() - asked_at  # the wait for a socket is not the device's time
            try:
                async with asyncio.timeout_at(self.deadline):
                    if self.target.method == "tcp":
                        return await _tcp_connect(self.address, ip)
                    return await _sip_stream(self.address, ip, secure=self.address.transport == "tls")
            finally:
                # a transport closes its socket on the loop's next turn: let it, before another probe takes the place
                await asyncio.sleep(0)

    def _stream_done(self, task):
        self.sweep.tasks.discard(task)
        if task.cancelled():
            return
        if task.exception() is not None:
            self.step(self.attempt_failed, task.exception())
        else:
            self.step(self.answered, *task.result())

    def attempt_failed(self, exc):
        """One address failed: the next one when the connection failed and time is left, as asyncio does with a name."""
        if isinstance(exc, TimeoutError):
            self.fail(exc)
        elif isinstance(exc, OSError):  # ssl.SSLError and "no SIP response" included
            if self.ips and self.sweep.loop.time() < self.deadline:
                self._next_address()
            else:
                self.fail(exc)
        else:
            raise exc

    def answered(self, status_code, rtt_ms):
        """Any SIP answer, 4xx and 5xx included, proves the device is up and listening."""
        self.finish(reachable=True, rtt_ms=round(rtt_ms, 1), status_code=status_code)

    def fail(self, exc):
        self.finish(error=_describe(exc, self.sweep.timeout))

    def finish(self, reachable=False, rtt_ms=None, status_code=None, error=None):
        self.finished = True
        if self.timer is not None:
            self.timer.cancel()
        self.sweep.report(self.index, ProbeResult(self.target.endpoint_id, reachable, self.method, utcnow(),
                                                  rtt_ms=rtt_ms, status_code=status_code, error=error))


#: probes started between two turns of the loop, so that answers to the first are read (and timed) at once
START_BATCH = 64


async def probe_all(targets, timeout=DEFAULT_TIMEOUT_SECONDS, max_streams=DEFAULT_MAX_STREAMS, allow_loopback=False,
                    resolver=None):
    """Probe every target at once; return their ProbeResults in the targets' order. Never raises for a site.

    `max_streams`: TCP/TLS probes holding a socket at once (UDP probes hold
    none of their own); `allow_loopback`: whether 127.0.0.0/8 and ::1 may be
    dialled (dial_refusal); `resolver`: what looks up the host names (by
    default a Resolver of the targets' names, all looked up at once).
    """
    if not targets:
        return []
    loop = asyncio.get_running_loop()
    addresses = []
    for target in targets:
        try:
            addresses.append(parse_sip_uri(target.uri))
        except Exception as exc:  # the probe reports it, as that site's result
            addresses.append(exc)
    own_resolver = resolver is None
    if own_resolver:
        resolver = Resolver({a.host for a in addresses if not isinstance(a, Exception)})
    sweep = _Sweep(loop, len(targets), timeout, max_streams, allow_loopback, resolver)
    try:
        for index, target in enumerate(targets):
            _Probe(sweep, index, target).start(addresses[index])
            if index % START_BATCH == START_BATCH - 1:
                await asyncio.sleep(0)
        await sweep.all_done
    finally:
        sweep.close()
        if own_resolver:
            resolver.close()
    return sweep.results


async def probe_one(target, timeout=DEFAULT_TIMEOUT_SECONDS, resolver=None, allow_loopback=False):
    """Probe one target within timeout seconds, its name lookup included; return its ProbeResult."""
    (result,) = await probe_all([target], timeout, allow_loopback=allow_loopback, resolver=resolver)
    return result


def probe_many(targets, timeout=DEFAULT_TIMEOUT_SECONDS, max_streams=DEFAULT_MAX_STREAMS, *, allow_loopback):
    """Probe targets at once from synchronous code; skip those whose method is `none`; results in their order.

    `max_streams`: at most that many TCP/TLS probes hold a socket at once
    (PROBE_MAX_STREAMS), fewer when the open-file limit says so (stream_limit).
    `allow_loopback`: whether 127.0.0.0/8 and ::1 may be dialled (PROBE_ALLOW_LOOPBACK; dial_refusal).
    It has no default: every sweep (readiness, network) passes the configured
    policy, so none can dial by another rule than the one the operator set.
    """
    targets = [t for t in targets if t.method != "none"]
    if not targets:
        return []
    streams = stream_limit(max_streams)

    def run():
        return asyncio.run(probe_all(targets, timeout, streams, allow_loopback))

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return run()
    # Called where this thread already runs an event loop (an async host, a browser driver in the tests):
    # the sweep gets a loop of its own on a thread of its own.
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(run).result()
