"""`make run` as a newcomer types it: links in mail follow the PORT served (CONTRACT.md)."""

import email
import os
import signal
import socket
import subprocess
import time
import urllib.request
from email.policy import default as default_policy
from pathlib import Path

import sqlalchemy as sa

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


def test_links_in_mail_follow_the_port_under_make_run(tmp_path):
    port = _free_port()
    database = tmp_path / "vmeeting.db"
    env = {key: value for key, value in os.environ.items() if key not in ("BASE_URL", "SMTP_URL", "SCHEDULER")}
    env.update(PORT=str(port), DATABASE_URL=f"sqlite:///{database}", VMEETING_INSTANCE=str(tmp_path),
               SECRET_KEY="make-run-test")
    process = subprocess.Popen(["make", "run"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                               stderr=open(tmp_path / "make-run.log", "w"), start_new_session=True)
    try:
        _wait_for(f"http://127.0.0.1:{port}/healthz", process)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=60)
    engine = sa.create_engine(f"sqlite:///{database}")
    with engine.connect() as conn:
        stored = conn.execute(sa.text("SELECT message FROM outbox_mails WHERE method = 'REQUEST' LIMIT 1")).scalar()
    engine.dispose()
    message = email.message_from_string(stored, policy=default_policy)
    text = next(p for p in message.walk() if p.get_content_type() == "text/plain").get_content()
    assert f"http://127.0.0.1:{port}/rsvp/" in text
