"""Worker processes as production runs them: woken by the booking's commit, sharing one outbox.

- SQLite, as `make run` runs it: the embedded worker in the web process, its ticks far apart.
- PostgreSQL: `flask --app wsgi scheduler run` processes that poll once an hour, so only the
  booking's NOTIFY can wake them; two of them expand a 2,000-site booking's change record and deliver
  its invites, each mail once.
"""

import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.booking.conftest import next_monday
from tests.conftest import _make_app
from tests.outbox.processes import start_worker
from vmeeting import jobs
from vmeeting.core.extensions import db
from vmeeting.outbox.mail import message_id
from vmeeting.outbox.models import OutboxMail
from vmeeting.registry.models import Endpoint

ROOT = Path(__file__).resolve().parents[2]
#: generous: the machine is shared; the wake-up, not the speed, is under test (bench/delivery.py times it)
ARRIVAL_SECONDS = 30
#: every tick of the scheduler this far apart: a mail that arrives came without one
FAR_APART = 3600


def _wait_for(condition, seconds, what):
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.1)


def _lease_taken():
    holder = db.session.scalar(sa.select(jobs.WorkerLease.holder))
    db.session.commit()
    return holder is not None


def _workers(database_url, smtp, tmp_path, count):
    env = {**os.environ, "DATABASE_URL": database_url, "SMTP_URL": smtp.url, "VMEETING_ENV": "development",
           "SECRET_KEY": "workers-test-key", "SCHEDULER": "off", "VMEETING_INSTANCE": str(tmp_path),
           "OUTBOX_POLL_SECONDS": str(FAR_APART), "SMTP_CONNECTIONS": "2"}
    return [subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "scheduler", "run"], cwd=ROOT,
                             env=env, stdout=subprocess.DEVNULL, stderr=open(tmp_path / f"worker{n}.log", "w"))
            for n in range(count)]


def _stop(workers):
    for worker in workers:
        worker.terminate()
    for worker in workers:
        assert worker.wait(timeout=60) == 0  # SIGTERM ends the loop cleanly


def test_sqlite_embedded_worker_wakes_without_a_tick(app, database_url, smtp, invited, book):
    if not database_url.startswith("sqlite"):
        pytest.skip("the embedded worker of `make run` on SQLite; PostgreSQL wakes its workers with NOTIFY")
    served = _make_app(database_url, SMTP_URL=smtp.url,
                       SCHEDULER_TICK_SECONDS={name: FAR_APART for name in jobs.ticks(app)})
    scheduler = jobs.start_embedded(served)
    try:
        book([invited["hall"]], next_monday())
        expected = {r for r in db.session.scalars(sa.select(OutboxMail.recipient))}
        _wait_for(lambda: {rcpt for rcpt, _m in smtp.messages} == expected, ARRIVAL_SECONDS,
                  "the invites did not arrive without a tick")
    finally:
        scheduler.shutdown(wait=True)
        with served.app_context():
            db.session.remove()
            db.engine.dispose()
    assert len(smtp.messages) == len(expected)


def _looked_after_listening(name):
    """Tell whether the worker named `name` (its application_name) LISTENs, and one of its other connections
    has finished a transaction begun after the LISTEN: its look at the outbox once listening. From then on
    only a NOTIFY wakes it (it polls once an hour)."""
    looked = db.session.scalar(sa.text(
        "SELECT count(*) FROM pg_stat_activity AS listener JOIN pg_stat_activity AS other"
        " ON other.application_name = listener.application_name AND other.pid <> listener.pid"
        " WHERE listener.application_name = :name AND listener.query = 'LISTEN vmeeting_outbox'"
        " AND other.state = 'idle' AND other.query_start > listener.query_start"), {"name": name})
    db.session.commit()
    return looked > 0


def test_postgresql_notify_wakes_a_worker_process(app, database_url, smtp, invited, book, tmp_path):
    if not database_url.startswith("postgresql"):
        pytest.skip("NOTIFY is PostgreSQL's; SQLite's worker polls")
    [worker] = workers = [start_worker(database_url, smtp, tmp_path, OUTBOX_POLL_SECONDS=FAR_APART)]
    try:
        _wait_for(lambda: _looked_after_listening(worker.name), 60, "the worker did not start listening")
        book([invited["hall"]], next_monday())
        expected = set(db.session.scalars(sa.select(OutboxMail.recipient)))
        _wait_for(lambda: {rcpt for rcpt, _m in smtp.messages} == expected, ARRIVAL_SECONDS,
                  "NOTIFY did not wake the worker")
    finally:
        _stop(workers)


@pytest.mark.long
def test_postgresql_two_workers_deliver_2000_recipients_each_once(app, database_url, smtp, many_sites, book,
                                                                  tmp_path):
    if not database_url.startswith("postgresql"):
        pytest.skip("several worker processes share the outbox on PostgreSQL")
    ids = many_sites(2000)
    workers = _workers(database_url, smtp, tmp_path, 2)
    try:
        _wait_for(_lease_taken, 60, "the workers did not start")
        book(db.session.scalars(sa.select(Endpoint).where(Endpoint.id.in_(ids))).all(), next_monday(),
             allow_non_working_time=True)
        # 2,000 sites pass OUTBOX_FANOUT_SITES: the booking wrote one change record, a worker writes the invites
        [record] = db.session.scalars(sa.select(OutboxMail)).all()
        assert record.builder == "invite-booking" and record.recipient == ""
        db.session.commit()
        _wait_for(lambda: len(smtp.messages) >= 2000, 600, "the outbox did not drain")
    finally:
        _stop(workers)  # once they have exited, nothing more can arrive
    keys = db.session.scalars(sa.select(OutboxMail.key)).all()
    assert len(keys) == 2000
    received = Counter(str(m["Message-ID"]) for _rcpt, m in smtp.messages)
    assert set(received.values()) == {1}, {mid: n for mid, n in received.items() if n > 1}
    assert set(received) == {message_id(key) for key in keys}
    db.session.expire_all()
    statuses = Counter(db.session.scalars(sa.select(OutboxMail.status)))
    assert statuses == {"sent": 2000}
    assert len(smtp.handler.peers) > 2  # both processes delivered (two connections each), not one alone
    claimed_by = [log.read_text() for log in tmp_path.glob("worker*.log")]
    assert all("Traceback" not in text for text in claimed_by), claimed_by
