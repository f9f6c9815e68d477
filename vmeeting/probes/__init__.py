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

The package's modules, by subject: `sip` (the OPTIONS request and the status
of an answer), `limits` (open files), `policy` (where a probe may dial),
`resolver` (host names), `udp` and `stream` (the two ways a probe travels),
and `sweep` (one sweep of many targets, the public entry points below).
"""

from vmeeting.probes.limits import FILES_KEPT_BACK, raise_open_file_limit, stream_limit
from vmeeting.probes.policy import DialRefused, dial_refusal
from vmeeting.probes.sip import options_request, response_status
from vmeeting.probes.sweep import (
    DEFAULT_TIMEOUT_SECONDS,
    ProbeResult,
    ProbeTarget,
    probe_all,
    probe_many,
    probe_one,
)

__all__ = [
    "DEFAULT_TIMEOUT_SECONDS", "FILES_KEPT_BACK", "DialRefused", "ProbeResult", "ProbeTarget", "dial_refusal",
    "options_request", "probe_all", "probe_many", "probe_one", "raise_open_file_limit", "response_status",
    "stream_limit",
]
