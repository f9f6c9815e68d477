"""The demo's SIP network simulator: a small SIP responder on loopback answering OPTIONS for the demo sites.

A demo aid for `make run` only (development, never production): the demo's
made-up SIP addresses answer nothing, so every site would show "mất kết nối".
`demo load` in development points each demo site at this responder
(`sip:<code>@127.0.0.1:<port>`, the user part the site's code), and
`flask demo sip-simulator`, started by `make run` beside the server and
stopped with it, answers for them: most with 200 OK, a few never (devices
switched off), one in turns (a flaky line: answering for `period` seconds,
then silent for as long). The probes that ask are the real ones
(vmeeting.probes), over UDP as for any site; the network page says the
network is simulated. Tests of the probes use sipp, never this.

The answer is RFC 3261 §11.2's: a 200 OK to OPTIONS copying the request's
Via, From, Call-ID and CSeq, with a tag on To (§8.2.6.2), sent back to where
the request came from (§18.2.2, the `rport` of RFC 3581). Anything that is not
an OPTIONS request is ignored.
"""

import re
import socket
import threading
import time
import zlib

#: a sweep's view of the simulated network: about one site in fifty never answers
SILENT_ONE_IN = 50
#: how long the flaky site answers, then stays silent (seconds): longer than two sweeps, so it goes down
FLAP_SECONDS = 900
HEADER_RE = re.compile(rb"^(via|v|from|f|to|t|call-id|i|cseq)[ \t]*:[^\r\n]*", re.IGNORECASE | re.MULTILINE)
REQUEST_RE = re.compile(rb"^OPTIONS sips?:([^@ ;>]+)@[^ ]+ SIP/2\.0\r?\n")


def address_of(setting):
    """Return (host, port) of a DEMO_SIP_SIMULATOR setting "host:port"; raise ValueError when it is not one."""
    host, _, port = (setting or "").rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"DEMO_SIP_SIMULATOR must read host:port, not {setting!r}")
    return host, int(port)


def site_uri(code, setting):
    """Return the SIP URI of a demo site answered by the simulator at setting ("host:port")."""
    host, port = address_of(setting)
    return f"sip:{code.lower()}@{host}:{port}"


def plan(users):
    """Return (silent, flaky) user parts of the simulated sites, the same for the same sites.

    silent: about one in SILENT_ONE_IN, chosen by a checksum of the name (never the first, the
    province's own hall); flaky: one, the middle one of the rest in name order.
    """
    users = sorted(set(users))
    silent = {u for u in users[1:] if zlib.crc32(u.encode()) % SILENT_ONE_IN == 0}
    rest = [u for u in users[1:] if u not in silent]
    return silent, ({rest[len(rest) // 2]} if rest else set())


class SipSimulator:
    """A SIP responder on one UDP socket, answering OPTIONS in a thread of its own until `stop`.

    silent: user parts that never answer; flaky: user parts answering every
    other `period` seconds of `clock` (time.time: the wall clock).
    """

    def __init__(self, host="127.0.0.1", port=5070, *, silent=(), flaky=(), period=FLAP_SECONDS, clock=time.time):
        self.silent, self.flaky = frozenset(silent), frozenset(flaky)
        self.period, self.clock = period, clock
        self.sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((host, port))
        self.sock.settimeout(0.2)
        self.address = self.sock.getsockname()[:2]
        self._stopping = threading.Event()
        self._thread = None
        self.answered = 0

    def answers(self, user):
        """Tell whether the site of this user part answers now."""
        if user in self.silent:
            return False
        if user in self.flaky:
            return int(self.clock() // self.period) % 2 == 0
        return True

    def reply(self, data):
        """Return the bytes of the answer to one datagram, or None to stay silent."""
        request = REQUEST_RE.match(data)
        if request is None or not self.answers(request.group(1).decode("ascii", "replace").lower()):
            return None
        lines = [b"SIP/2.0 200 OK"]
        for header in HEADER_RE.finditer(data):
            line = header.group(0)
            if header.group(1).lower() in (b"to", b"t") and b";tag=" not in line:
                line += b";tag=sim" + format(zlib.crc32(data) & 0xFFFF, "x").encode()
            lines.append(line)
        lines += [b"Allow: INVITE, ACK, CANCEL, BYE, OPTIONS", b"Server: vmeeting-demo-simulator",
                  b"Content-Length: 0"]
        return b"\r\n".join(lines) + b"\r\n\r\n"

    def serve(self):
        """Answer until `stop` is called."""
        while not self._stopping.is_set():
            try:
                data, sender = self.sock.recvfrom(65536)
            except TimeoutError:
                continue
            except OSError:
                if self._stopping.is_set():
                    return
                continue
            answer = self.reply(data)
            if answer is not None:
                self.sock.sendto(answer, sender)
                self.answered += 1

    def start(self):
        """Serve in a daemon thread; return self."""
        self._thread = threading.Thread(target=self.serve, name="demo-sip-simulator", daemon=True)
        self._thread.start()
        return self

    def stop(self):
        """Stop serving and close the socket."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.sock.close()
