"""`flask --app wsgi scheduler run` as production runs it: its own process, on the run's database.

CONTRACT.md: `scheduler run` is the background worker (outbox delivery beside its
ticks); README: one worker acts at a time, holding a lease row it renews. A
process manager stops it with SIGTERM: it finishes, gives the lease up at once
(another worker need not wait 90 seconds for it to expire) and exits 0.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import sqlalchemy as sa

from tests.booking.conftest import book, next_monday, sites  # noqa: F401 (fixtures used here)
from tests.invites.conftest import smtp  # noqa: F401 (the real SMTP server the worker sends to)
from vmeeting import jobs
from vmeeting.core.extensions import db
from vmeeting.outbox.models import OutboxMail

ROOT = Path(__file__).resolve().parents[1]
#: the first tick runs 5 s after start (jobs.build_scheduler); room for a loaded machine
PATIENCE_SECONDS = 90


def _read(query):
    """Read in a transaction of its own, ended at once: no snapshot held, no lock kept from the worker."""
    try:
        return db.session.scalar(query)
    finally:
        db.session.remove()


def _lease_holder():
    return _read(sa.select(jobs.WorkerLease.holder).where(jobs.WorkerLease.name == jobs.LEASE_NAME))


def _wait_until(condition, process, log):
    deadline = time.monotonic() + PATIENCE_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the worker stopped ({process.returncode}): {log.read_text()}")
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"the worker did not get there in {PATIENCE_SECONDS} s: {log.read_text()}")


def test_scheduler_run_delivers_the_outbox_and_stops_cleanly_on_sigterm(app, database_url, smtp, sites, book,
                                                                         make_user, tmp_path):
    organizer = make_user("scheduler", email="van.phong@langson.gov.vn")
    book([sites["hall"], sites["communes"][0]], next_monday(), actor=organizer, attendees=["khach@example.com"])
    db.session.remove()
    env = {**os.environ, "DATABASE_URL": database_url, "SMTP_URL": smtp.url, "SCHEDULER": "off",
           "SECRET_KEY": "scheduler-process-test", "VMEETING_INSTANCE": str(tmp_path)}
    log = tmp_path / "worker.log"
    with open(log, "w") as output:
        process = subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "scheduler", "run"], cwd=ROOT,
                                   env=env, stdout=output, stderr=subprocess.STDOUT)
    try:
        _wait_until(lambda: smtp.to("khach@example.com"), process, log)
        # the tick recorded the server's acceptance, and the process holds the lease
        _wait_until(lambda: _read(sa.select(OutboxMail.status)) == "sent", process, log)
        assert f":{process.pid}:" in _lease_holder()
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0, log.read_text()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert "Scheduler running with ticks:" in log.read_text() and "delivering the outbox" in log.read_text()
    assert _lease_holder() is None  # given up at once, not left to expire
    assert len(smtp.to("khach@example.com")) == 1
