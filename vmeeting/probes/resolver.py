"""Host names of a sweep looked up once each, all at once, on threads of the sweep's own."""

import asyncio
import ipaddress
import socket
from concurrent.futures import ThreadPoolExecutor

#: threads looking up host names at once
LOOKUP_THREADS = 256



class LookupFailed(Exception):
    """A host name did not resolve, or not within the probe's time; the message says so to the user."""


def _lookup(host):
    """Return the addresses of host, in the resolver's order of preference (runs on a resolver thread)."""
    infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(info[4][0] for info in infos))


def is_ip(host):
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
        names = {h for h in hosts if not is_ip(h)}
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

