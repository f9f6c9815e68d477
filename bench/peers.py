"""SIP responders for the probe sweep: a few `sipp` processes answering OPTIONS on loopback ports."""

import socket
import subprocess
import time
from pathlib import Path

# the test suite's port pickers: sipp binds its RTP port and that port + 2, both must be free
from tests.readiness.sip_peers import free_ports, media_ports

SCENARIO = Path(__file__).with_name("options_uas.xml")
#: each responder stands for 2,500 devices, whose requests of a sweep arrive together: with sipp's default 64 KiB
#: buffer it drops most of a burst that 2,500 devices would each have taken in, and the sweep waits for retransmits
BUFFER_BYTES = 4 * 1024 * 1024


def _answers(port):
    """Tell whether something on the port answers a SIP OPTIONS (one UDP try)."""
    request = (f"OPTIONS sip:ping@127.0.0.1:{port} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bKping{port}\r\n"
               f"From: <sip:bench@127.0.0.1>;tag=1\r\nTo: <sip:ping@127.0.0.1>\r\nCall-ID: ping{port}@bench\r\n"
               "CSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n").encode()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(0.3)
        try:
            sock.sendto(request, ("127.0.0.1", port))
            return sock.recv(4096).startswith(b"SIP/2.0 ")
        except OSError:
            return False


class Peers:
    """count sipp UAS processes, each on its own UDP port; stop() ends exactly those."""

    def __init__(self, sipp, workdir, count):
        self.ports = free_ports(count)
        # sipp also binds RTP ports, from 6000 unless told: give each its own, so that
        # other sipp processes on the machine (a test run) do not make it fail
        self.processes = [
            subprocess.Popen([sipp, "-sf", str(SCENARIO), "-i", "127.0.0.1", "-p", str(port), "-t", "u1",
                              "-mp", str(media_port), "-buff_size", str(BUFFER_BYTES), "-nostdin"],
                             cwd=workdir, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
            for port, media_port in zip(self.ports, media_ports(count, avoid=set(self.ports)))
        ]
        deadline = time.monotonic() + 15
        waiting = list(self.ports)
        while waiting:
            if any(p.poll() is not None for p in self.processes):
                self.stop()
                raise RuntimeError("a sipp responder exited at start")
            waiting = [port for port in waiting if not _answers(port)]
            if waiting and time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"{len(waiting)} sipp responders never answered")

    def stop(self):
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
