"""Real SIP peers for the probe tests: `sipp` (Debian's sip-tester) answering OPTIONS on loopback ports."""

import os
import shutil
import socket
import struct
import subprocess
import threading
import time
from pathlib import Path

import pytest

from vmeeting.probes import ProbeTarget, probe_many

SCENARIO = Path(__file__).with_name("options_uas.xml")
STATUS_LINES = {200: "200 OK", 503: "503 Service Unavailable", 404: "404 Not Found"}


def sipp_path():
    """Return sipp's path; skip without it, unless REQUIRE_SIPP=1 makes that a failure."""
    path = shutil.which("sipp")
    if path is None:
        if os.environ.get("REQUIRE_SIPP") == "1":
            pytest.fail("REQUIRE_SIPP=1 but sipp (Debian package sip-tester) is not installed")
        pytest.skip("the SIP probe tests need sipp (Debian package sip-tester)")
    return path


def socat_path():
    """Return socat's path; skip without it, unless REQUIRE_SIPP=1 makes that a failure."""
    path = shutil.which("socat")
    if path is None:
        if os.environ.get("REQUIRE_SIPP") == "1":
            pytest.fail("REQUIRE_SIPP=1 but socat (the TLS side of the sips: peers) is not installed")
        pytest.skip("the SIP-over-TLS probe tests need socat")
    return path


def free_ports(count, kind=socket.SOCK_DGRAM):
    """Return count distinct loopback ports that were free a moment ago.

    The kernel picks each one (a bind to port 0, all held until every one is
    picked), so processes running side by side (pytest-xdist workers, another
    run on the machine) are handed different ports. The one race left is
    between the release here and the server's own bind; a server that loses
    it fails loudly (start_peers, Dovecot.start), never silently shares a port.
    """
    held = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, kind)
            sock.bind(("127.0.0.1", 0))
            held.append(sock)
        return [sock.getsockname()[1] for sock in held]
    finally:
        for sock in held:
            sock.close()


def media_ports(count, avoid=()):
    """Return count loopback ports p, each with p + 2, all free a moment ago, none overlapping nor in avoid.

    sipp binds an RTP echo port and that port + 2; left to itself it takes them from 6000 up, a hundred
    tries in all, which forty peers of this run and forty of another run at the same time use up.
    """
    held, found = [], []
    try:
        while len(found) < count:
            first = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            first.bind(("127.0.0.1", 0))
            held.append(first)
            port = first.getsockname()[1]
            if port in avoid or port + 2 in avoid:
                continue
            second = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            try:
                second.bind(("127.0.0.1", port + 2))
            except (OSError, OverflowError):  # taken, or past 65535
                second.close()
                continue
            held.append(second)
            found.append(port)
        return found
    finally:
        for sock in held:
            sock.close()


class SipPeer:
    """A sipp UAS on its own loopback port that answers each OPTIONS with the given status."""

    def __init__(self, sipp, workdir, port, media_port, transport="udp", status=200):
        scenario = Path(workdir) / f"options_{status}.xml"
        if not scenario.exists():
            scenario.write_text(SCENARIO.read_text().replace("STATUS", STATUS_LINES[status]))
        self.port, self.transport, self.status = port, transport, status
        self.process = subprocess.Popen(
            [sipp, "-sf", str(scenario), "-i", "127.0.0.1", "-p", str(port), "-mp", str(media_port),
             "-t", "u1" if transport == "udp" else "t1", "-nostdin"],
            cwd=workdir, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )

    @property
    def uri(self):
        suffix = "" if self.transport == "udp" else ";transport=tcp"
        return f"sip:room{self.port}@127.0.0.1:{self.port}{suffix}"

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process.stderr:
            self.process.stderr.close()


def start_peers(sipp, workdir, count, transport="udp", status=200):
    """Start count sipp peers and wait until every one answers; fail if any cannot run."""
    kind = socket.SOCK_DGRAM if transport == "udp" else socket.SOCK_STREAM
    ports = free_ports(count, kind)
    peers = [SipPeer(sipp, workdir, port, media, transport, status)
             for port, media in zip(ports, media_ports(count, avoid=set(ports)))]
    deadline = time.monotonic() + 10
    waiting = list(peers)
    while waiting:
        dead = [p for p in waiting if p.process.poll() is not None]
        if dead:
            message = dead[0].process.stderr.read().decode(errors="replace")
            stop_peers(peers)
            pytest.fail(f"sipp could not run on port {dead[0].port}: {message.strip()}")
        results = probe_many([ProbeTarget(i, "sip-options", p.uri) for i, p in enumerate(waiting)], timeout=0.5,
                             allow_loopback=True)
        waiting = [p for p, r in zip(waiting, results) if not r.reachable]
        if waiting and time.monotonic() > deadline:
            stop_peers(peers)
            pytest.fail(f"{len(waiting)} sipp peers never answered OPTIONS")
        if waiting:
            time.sleep(0.1)
    return peers


class TlsSipPeer:
    """A device answering SIP OPTIONS over TLS: a sipp peer on TCP behind socat's OpenSSL listener.

    Debian's sipp is built without OpenSSL (`-t l1` refuses to start), so socat
    holds the TLS session with a throwaway certificate (certificate: (cert.pem,
    key.pem)) and passes the SIP bytes to sipp; sipp answers each OPTIONS.
    """

    def __init__(self, sipp, workdir, certificate):
        (self.backend,) = start_peers(sipp, workdir, 1, transport="tcp")
        [self.port] = free_ports(1, socket.SOCK_STREAM)
        cert, key = certificate
        listen = f"OPENSSL-LISTEN:{self.port},bind=127.0.0.1,reuseaddr,fork,cert={cert},key={key},verify=0"
        self.process = subprocess.Popen([socat_path(), listen, f"TCP:127.0.0.1:{self.backend.port}"],
                                        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 10
        while probe_many([ProbeTarget(1, "sip-options", self.uri)], timeout=0.5, allow_loopback=True)[0].reachable \
                is False:
            if self.process.poll() is not None or time.monotonic() > deadline:
                message = self.process.stderr.read().decode(errors="replace") if self.process.poll() is not None else ""
                self.stop()
                pytest.fail(f"the TLS SIP peer never answered OPTIONS: {message.strip()}")
            time.sleep(0.1)

    @property
    def uri(self):
        return f"sips:room{self.port}@127.0.0.1:{self.port}"

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=5)
        self.process.stderr.close()
        self.backend.stop()


def stop_peers(peers):
    """Stop every peer."""
    for peer in peers:
        peer.stop()


def assert_waited_together(holes, timeout, silent, elapsed=None):
    """Assert that a sweep asked its silent devices at once, so that their timeouts ran together, not in turn.

    holes: the BlackHoles the silent devices stand behind; timeout: seconds; silent: how many devices
    they stand for; elapsed: the sweep's seconds, if it was timed.

    Each device's first request is stamped by the kernel as it arrives. Asked together, they arrive
    within the time it takes to send them: milliseconds, or about a second for 2,000 on a loaded
    2-core machine. Asked in turn, or 256 at a time as the sweep once did, the later ones arrive
    whole timeouts after the first: at least 4 for 5 devices, 3 for 800. The bound is 2 timeouts.
    No ceiling on the whole sweep's wall time: a loaded machine stretches the recording around the
    probes (2,000 states once took 4 s on a shared 2-core machine), not the probes' wait. The floor
    stays: a silent device was given its whole timeout (0.9 of it, for the clock's grain), and a slow
    machine only makes that wait longer.
    """
    firsts = sorted(stamp for hole in holes for stamp in hole.first_asked().values())
    assert len(firsts) == silent, f"{len(firsts)} of the {silent} silent devices were asked"
    spread = firsts[-1] - firsts[0]
    assert spread < 2 * timeout, (
        f"the silent devices were asked over {spread:.2f}s: in turn, not at once ({timeout}s timeout)")
    if elapsed is not None:
        assert elapsed >= timeout * 0.9, f"the sweep gave up after {elapsed:.2f}s of a {timeout}s timeout"


#: Linux's SO_TIMESTAMPNS (asm-generic/socket.h): the kernel stamps each datagram's arrival, a struct timespec
SO_TIMESTAMPNS = 35
_TIMESPEC = struct.Struct("@qq")


class BlackHole:
    """A UDP port that is bound but never answers: a device whose SIP stack hangs (no ICMP refusal).

    It reads what arrives and keeps, per SIP Call-ID (one per device asked), when the first request
    reached the kernel: first_asked() -> {call_id: seconds since the epoch}. Retransmissions of the
    same call (RFC 3261 timer E) do not move it.
    """

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        # room for a burst of thousands while the reader waits for the interpreter (the kernel caps it at rmem_max)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
        self.sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        self.sock.settimeout(0.05)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self._first = {}
        self._running = True
        self._reader = threading.Thread(target=self._read, name=f"black-hole-{self.port}", daemon=True)
        self._reader.start()

    @property
    def uri(self):
        return f"sip:silent@127.0.0.1:{self.port}"

    def _read(self):
        space = socket.CMSG_SPACE(_TIMESPEC.size)
        while True:
            try:
                data, ancillary, _flags, _peer = self.sock.recvmsg(65536, space)
            except (socket.timeout, BlockingIOError):
                if self._running:
                    continue
                return  # closed, and nothing is left to read
            stamp = next((_TIMESPEC.unpack(value[:_TIMESPEC.size]) for level, kind, value in ancillary
                          if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS), None)
            call_id = next((line.split(b":", 1)[1].strip() for line in data.split(b"\r\n")
                            if line.lower().startswith((b"call-id:", b"i:"))), None)
            if stamp is not None and call_id is not None:
                self._first.setdefault(call_id.decode("ascii", "replace"), stamp[0] + stamp[1] / 1e9)

    def first_asked(self):
        """Return {call_id: when its first request arrived, in seconds since the epoch}; call it after close()."""
        assert not self._reader.is_alive(), "first_asked() is read after close(), when every datagram is in"
        return dict(self._first)

    def close(self):
        """Stop listening once what has arrived is read."""
        self._running = False
        self._reader.join(10)
        self.sock.close()
