"""The worker's transactions: each takes SQLite's write lock at BEGIN, so a web writer never makes one fail."""

import threading
from datetime import timedelta

import sqlalchemy as sa

from vmeeting import jobs
from vmeeting.auth.jobs import prune_login_attempts
from vmeeting.auth.models import LoginAttempt
from vmeeting.core.database import utcnow
from vmeeting.core.extensions import db


def test_a_tick_that_reads_then_writes_survives_a_web_writer_in_between(app, database_url):
    """A web request commits between the tick's read and its write: with a deferred BEGIN SQLite refuses the
    tick's write at once ("database is locked"); with the lock taken at BEGIN the request waits instead."""
    old = utcnow() - timedelta(days=400)
    db.session.add(LoginAttempt(username="cu", remote_addr="127.0.0.1", attempted_at=old))
    db.session.commit()
    web = sa.create_engine(database_url, connect_args={"timeout": 30} if database_url.startswith("sqlite") else {})
    web_wrote = threading.Event()

    def web_request():
        with web.begin() as conn:
            conn.execute(sa.insert(LoginAttempt).values(username="moi", remote_addr="127.0.0.2",
                                                        attempted_at=utcnow(), is_success=True))
        web_wrote.set()

    def read_then_prune():
        db.session.scalar(sa.select(sa.func.count()).select_from(LoginAttempt))  # the tick reads first
        writer = threading.Thread(target=web_request)
        writer.start()
        web_wrote.wait(timeout=2)  # a deferred BEGIN lets the web commit now; IMMEDIATE makes it wait
        assert prune_login_attempts() == 1
        writer.join(timeout=60)

    assert jobs.run_tick(app, "worker-a", jobs.Tick("test.read_then_prune", read_then_prune, 60))
    assert web_wrote.is_set()
    web.dispose()
    assert db.session.scalars(sa.select(LoginAttempt.username)).all() == ["moi"]
