"""`make run` as a newcomer types it: links in mail follow the PORT served (CONTRACT.md)."""

import os
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest


ROOT = Path(__file__).resolve().parents[1]


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for(url, process, seconds=300):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert process.poll() is None, "make run stopped"
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise AssertionError(f"{url} did not answer in time")


def _free_udp_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.long
def test_links_in_mail_follow_the_port_under_make_run(tmp_path):
    """The demo's invites, built and sent by the worker inside `make run`, link to the port it serves.

    Beside it, the demo's SIP simulator answers for the demo's sites (the real probes ask it) and
    stops with `make run`.
    """
    from vmeeting.probes import ProbeTarget, probe_many

    from tests.invites.conftest import SmtpServer

    port = _free_port()
    database = tmp_path / "vmeeting.db"
    smtp = SmtpServer()
    smtp.start()
    env = {key: value for key, value in os.environ.items() if key not in ("BASE_URL", "SMTP_URL", "SCHEDULER")}
    sip_port = _free_udp_port()
    hall = ProbeTarget(1, "sip-options", f"sip:ls-tinh@127.0.0.1:{sip_port}")  # the province's hall, LS-TINH
    env.pop("DEMO_SIP_SIMULATOR", None)
    env.update(PORT=str(port), DATABASE_URL=f"sqlite:///{database}", VMEETING_INSTANCE=str(tmp_path),
               SECRET_KEY="make-run-test", SMTP_URL=smtp.url, SIP_PORT=str(sip_port))
    process = subprocess.Popen(["make", "run"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                               stderr=open(tmp_path / "make-run.log", "w"), start_new_session=True)
    try:
        _wait_for(f"http://127.0.0.1:{port}/healthz", process)
        deadline = time.monotonic() + 60
        while not probe_many([hall], timeout=1.0, allow_loopback=True)[0].reachable:
            assert time.monotonic() < deadline, "the demo's SIP simulator did not answer"
        deadline = time.monotonic() + 120
        while not any(m.get_content_type() == "multipart/mixed" for _rcpt, m in smtp.messages):
            assert time.monotonic() < deadline, "no invite reached the SMTP server"
            time.sleep(0.5)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=60)
        smtp.stop()
    time.sleep(1)
    assert not probe_many([hall], timeout=1.0, allow_loopback=True)[0].reachable  # it stopped with make run
    message = next(m for _rcpt, m in smtp.messages if m.get_content_type() == "multipart/mixed")
    text = next(p for p in message.walk() if p.get_content_type() == "text/plain").get_content()
    assert f"http://127.0.0.1:{port}/rsvp/" in text
