"""Claims and outcomes inside one process: a lease that runs out, an acceptance the database will not take,
a builder that raises. Real SQLite and PostgreSQL, a real SMTP server (aiosmtpd), the database locked by a
real second connection; tests/outbox/test_crash.py kills real worker processes."""

import sqlite3
from collections import Counter
from datetime import timedelta

import pytest
import sqlalchemy as sa

from tests.booking.conftest import next_monday
from tests.conftest import deliver_outbox
from tests.invites.conftest import Collector, SmtpServer
from vmeeting.core.database import utcnow
from vmeeting.core.extensions import db
from vmeeting.outbox import delivery, mail
from vmeeting.outbox import service as outbox
from vmeeting.outbox.mail import message_id
from vmeeting.outbox.models import OutboxMail

DEAD = "host-gone:4242:dead00"


def _rows():
    rows = db.session.scalars(sa.select(OutboxMail).order_by(OutboxMail.id)).all()
    db.session.commit()
    return rows


def _book(book, invited):
    book([invited["hall"], *invited["communes"]], next_monday())
    return _rows()


def _received(server):
    return Counter(str(m["Message-ID"]) for _rcpt, m in server.messages)


@pytest.fixture(autouse=True)
def _nothing_left_unrecorded():
    yield
    delivery._unrecorded.clear()  # process-wide memory: no test leaves an acceptance in it for the next


def test_the_claim_of_a_worker_that_died_is_taken_back_when_its_lease_runs_out(app, client, login_as, smtp,
                                                                               invited, book):
    rows = _book(book, invited)
    claimed = outbox.claim_due(utcnow(), 100, holder=DEAD)
    db.session.commit()
    assert len(claimed) == len(rows) == 7
    assert deliver_outbox() == 0 and smtp.messages == []  # held: no other worker takes them
    login_as("scheduler")
    page = client.get("/outbox").get_data(as_text=True)
    assert DEAD in page and "gia hạn khi tiến trình còn chạy" in page and page.count("Đang gửi") == 7
    # the worker died: nobody renews its claim, which runs out (as time passing does)
    db.session.execute(sa.update(OutboxMail).values(next_attempt_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    page = client.get("/outbox").get_data(as_text=True)
    assert "tiến trình này đã dừng, tiến trình khác sẽ lấy lại các thư này" in page
    assert deliver_outbox() == 7
    assert set(_received(smtp).values()) == {1} and len(smtp.messages) == 7
    assert {(r.status, r.claimed_by, r.attempt_count) for r in _rows()} == {("sent", None, 1)}
    assert "Không tiến trình nào đang giữ thư." in client.get("/outbox").get_data(as_text=True)


def test_a_renewal_keeps_a_live_claim_and_finds_one_taken_back(app, invited, book):
    _book(book, invited)
    claims = delivery.Claims("host-a:1:aaaaaa", utcnow())
    ids = [mail_id for mail_id, _r, _m in claims.claim(100)]
    first_lease = {r.id: r.next_attempt_at for r in _rows()}
    claims.renew(force=True)
    assert all(r.next_attempt_at >= first_lease[r.id] for r in _rows()) and all(map(claims.may_send, ids))
    # its lease runs out (the worker stalled) and another worker takes the mails back
    db.session.execute(sa.update(OutboxMail).values(next_attempt_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    assert len(outbox.claim_due(utcnow(), 100, holder="host-b:2:bbbbbb")) == 7
    db.session.commit()
    claims.renew(force=True)
    assert not any(map(claims.may_send, ids))  # lost: the first worker never sends them now
    claims.release_rest()
    assert {r.claimed_by for r in _rows()} == {"host-b:2:bbbbbb"}  # nor gives back what is not its own


class _LockingServer(Collector):
    """Accepts every mail; before answering the first, locks the outbox against writes from another
    connection (lock(), once)."""

    def __init__(self, lock):
        super().__init__()
        self.lock = lock

    async def handle_DATA(self, server, session, envelope):
        if self.lock is not None:
            self.lock()
            self.lock = None
        return await super().handle_DATA(server, session, envelope)


def test_an_acceptance_not_recordable_past_its_patience_is_kept_and_never_sent_again(app, database_url, invited,
                                                                                    book, monkeypatch):
    """The server accepts a mail; the database then refuses every write for longer than RECORD_PATIENCE:
    the drain stops, the process keeps the acceptance, writes it once the database is back, and the mail
    never goes out again (nor does any other twice)."""
    rows = _book(book, invited)
    holder = {}

    def lock():
        if database_url.startswith("sqlite"):
            holder["conn"] = sqlite3.connect(sa.make_url(database_url).database, isolation_level=None,
                                             check_same_thread=False)  # opened in the server's thread
            holder["conn"].execute("BEGIN IMMEDIATE")
        else:
            import psycopg

            holder["conn"] = psycopg.connect(sa.make_url(database_url).set(drivername="postgresql").render_as_string(
                hide_password=False))
            holder["conn"].execute("LOCK TABLE outbox_mails IN EXCLUSIVE MODE")

    server = SmtpServer()
    server.handler = _LockingServer(lock)
    server.start()
    try:
        app.config.update(SMTP_URL=server.url, SMTP_CONNECTIONS=1)
        monkeypatch.setattr(delivery, "RECORD_PATIENCE_SECONDS", 1)
        # refuse at once rather than wait out the busy timeout (30 s) or the lock, so the patience counts
        if database_url.startswith("sqlite"):
            db.session.connection().exec_driver_sql("PRAGMA busy_timeout=0")
        else:
            db.session.connection().exec_driver_sql("SET lock_timeout = '50ms'")
        db.session.commit()
        deliver_outbox()
        [(rcpt, _message)] = server.messages  # the server accepted one; nothing more went out
        [accepted] = list(delivery._unrecorded)
        row = db.session.get(OutboxMail, accepted)
        assert row.recipient == rcpt and row.status == "pending" and row.claimed_by is not None
        assert row.is_claimed(utcnow())  # still held: no worker sends it meanwhile
        holder["conn"].rollback()
        holder["conn"].close()
        # the database is back: the next drain records the acceptance first; the rest go once their claim ends
        deliver_outbox(now=utcnow() + outbox.CLAIM_LEASE)
    finally:
        server.stop()
    assert delivery._unrecorded == {}
    assert set(_received(server).values()) == {1}
    assert set(_received(server)) == {message_id(r.key) for r in rows}
    assert {r.status for r in _rows()} == {"sent"}


def test_a_builder_that_raises_counts_an_attempt_and_the_rest_go_out(app, smtp, monkeypatch):
    def broken(rows, *, skip_superseded=True):
        raise RuntimeError("a bug in the builder")

    def working(rows, *, skip_superseded=True):
        return {r.id: mail.build_plain_message(key=r.key, recipient=r.recipient, recipient_name=r.recipient_name,
                                               subject=r.subject, text="Nội dung") for r in rows}

    monkeypatch.setitem(outbox.BUILDERS.mapping(app), "notice", broken)
    outbox.enqueue([{"key": f"notice/{n}", "recipient": f"nguoi{n}@example.vn", "subject": "Thông báo"}
                    for n in range(2)], builder="notice")
    outbox.enqueue_plain("plain/1", None, "khac@example.vn", "Người khác", "Thư thường", "Nội dung")
    db.session.commit()
    began = utcnow()
    assert deliver_outbox() == 1 and [rcpt for rcpt, _m in smtp.messages] == ["khac@example.vn"]
    failed = [r for r in _rows() if r.builder == "notice"]
    assert [(r.status, r.attempt_count, r.message, r.claimed_by) for r in failed] == [("pending", 1, None, None)] * 2
    assert all("Không soạn được thư: RuntimeError('a bug in the builder')" == r.last_error for r in failed)
    assert all(began + outbox.RETRY_DELAYS[0] <= r.next_attempt_at <= utcnow() + outbox.RETRY_DELAYS[0]
               for r in failed)
    assert deliver_outbox() == 0  # not before its retry
    monkeypatch.setitem(outbox.BUILDERS.mapping(app), "notice", working)  # the bug fixed
    assert deliver_outbox(now=utcnow() + outbox.RETRY_DELAYS[0]) == 2
    assert sorted(rcpt for rcpt, _m in smtp.messages) == ["khac@example.vn", "nguoi0@example.vn", "nguoi1@example.vn"]
    assert {(r.status, r.last_error) for r in _rows()} == {("sent", "")}
