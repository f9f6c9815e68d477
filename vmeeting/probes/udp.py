"""UDP probes: a few sockets shared by the whole sweep, answers matched to requests by Call-ID and peer."""

import collections
import logging
import os
import socket
import struct

from vmeeting.probes.sip import (
    CALL_ID_RE,
    MAX_RESPONSE_BYTES,
    STATUS_RE,
    T1_SECONDS,
    T2_SECONDS,
    options_request,
    request_ids,
)

log = logging.getLogger(__name__)

#: UDP sockets a sweep shares per address family, and the buffer each asks for (capped by net.core.rmem_max)
UDP_SOCKETS = 4
UDP_BUFFER_BYTES = 4 * 1024 * 1024
#: Linux's IP_RECVERR / IPV6_RECVERR (socket does not name them) and struct sock_extended_err's head
RECVERR_OPTIONS = {socket.AF_INET: (socket.IPPROTO_IP, 11), socket.AF_INET6: (socket.IPPROTO_IPV6, 25)}
MSG_ERRQUEUE = getattr(socket, "MSG_ERRQUEUE", None)
EXTENDED_ERR = struct.Struct("=IBBBBII")
ERR_ORIGIN_ICMP = (2, 3)  # SO_EE_ORIGIN_ICMP, SO_EE_ORIGIN_ICMP6


class _UdpExchange:
    """One OPTIONS request over UDP to one address, until it is answered, refused or out of time."""

    __slots__ = ("probe", "sock", "peer", "key", "call_id", "request", "started", "interval", "timer", "ended")

    def __init__(self, probe, sock, peer, key, call_id, request, started):
        self.probe, self.sock, self.peer, self.key = probe, sock, peer, key
        self.call_id, self.request, self.started = call_id, request, started
        self.interval = T1_SECONDS
        self.timer = None
        self.ended = False


class UdpMux:
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
        ids = request_ids()
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

