"""One sweep: every target probed at once on one asyncio loop, each within its own deadline, one result each."""

import asyncio
import collections
import logging
import socket
import ssl
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Optional

from vmeeting.core.database import utcnow
from vmeeting.core.sipuri import parse_sip_uri
from vmeeting.probes.limits import DEFAULT_MAX_STREAMS, stream_limit
from vmeeting.probes.policy import DialRefused, dial_refusal
from vmeeting.probes.resolver import LookupFailed, Resolver
from vmeeting.probes.stream import sip_stream, tcp_connect
from vmeeting.probes.udp import UdpMux

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT_SECONDS = 2.0



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





class _Sweep:
    """What the probes of one sweep share: the loop, the UDP sockets, the TCP/TLS gate, the results."""

    def __init__(self, loop, count, timeout, max_streams, allow_loopback, resolver):
        self.loop, self.timeout, self.allow_loopback, self.resolver = loop, timeout, allow_loopback, resolver
        self.streams = asyncio.Semaphore(max_streams)
        self.udp = UdpMux(loop)
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
                        return await tcp_connect(self.address, ip)
                    return await sip_stream(self.address, ip, secure=self.address.transport == "tls")
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
