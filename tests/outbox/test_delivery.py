"""The outbox drained in one process: what a change writes, what the worker builds, how it sends.

Every test runs on SQLite and PostgreSQL against a real SMTP server (aiosmtpd).
"""

from collections import Counter
from datetime import timedelta, timezone

import pytest
import sqlalchemy as sa

from tests.booking.conftest import next_monday
from vmeeting.booking import service as booking
from vmeeting.core.database import utcnow
from vmeeting.core.extensions import db
from vmeeting.outbox import service as outbox
from vmeeting.outbox.delivery import deliver_outbox
from vmeeting.outbox.models import OutboxMail


def _rows(**where):
    return db.session.scalars(sa.select(OutboxMail).filter_by(**where).order_by(OutboxMail.id)).all()


def _book(book, invited):
    return book([invited["hall"], *invited["communes"][:2]], next_monday(), attendees=["khach@example.com"])


def test_the_booking_writes_compact_rows_and_a_rollback_leaves_none(app, invited):
    choice = booking.resolve_sites(endpoint_ids=[invited["hall"].id, invited["communes"][0].id])
    start = next_monday().astimezone(timezone.utc)
    booking.book_meeting({"title": "Họp thử", "starts_at": start, "ends_at": start + timedelta(hours=1),
                          "chair_endpoint_id": invited["hall"].id}, choice)
    written = _rows()
    assert written and all(r.message is None and r.builder == "invite" for r in written)
    assert {r.payload["kind"] for r in written} == {"booked"}
    hall = next(r for r in written if r.recipient == "vanphong@langson.gov.vn")
    assert hall.payload["sites"] == [invited["hall"].id] and hall.payload["technician"] is False
    db.session.rollback()  # the booking is abandoned after its listener wrote the rows
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMail)) == 0


def test_a_change_superseding_unsent_invites_sends_only_the_latest(app, smtp, invited, book):
    meeting = _book(book, invited)
    booking.update_meeting(meeting, {"title": "Giao ban (đã dời phòng)"}, None)
    db.session.commit()
    recipients = {r.recipient for r in _rows(sequence=1)}
    assert {r.status for r in _rows(sequence=0)} == {"superseded"}
    assert all(r.message is None for r in _rows(sequence=0))  # never built
    assert deliver_outbox() == len(recipients)
    received = Counter(rcpt for rcpt, _m in smtp.messages)
    assert set(received) == recipients and set(received.values()) == {1}
    assert all("đã dời phòng" in m["Subject"] for _rcpt, m in smtp.messages)


def test_a_mail_claimed_before_a_newer_change_is_superseded_when_built(app, smtp, invited, book):
    """The worker's own check: a row still pending at build time, though a newer mail to the person exists."""
    meeting = _book(book, invited)
    booking.update_meeting(meeting, {"title": "Giao ban tháng"}, None)
    db.session.commit()
    # as if the worker had claimed the first invites before the change superseded them
    db.session.execute(sa.update(OutboxMail).where(OutboxMail.sequence == 0).values(status="pending", last_error=""))
    db.session.commit()
    deliver_outbox()
    assert {r.status for r in _rows(sequence=0)} == {"superseded"}
    assert {r.status for r in _rows(sequence=1)} == {"sent"}
    assert len(smtp.messages) == len(_rows(sequence=1))


def test_a_retry_sends_the_same_message_id_and_bytes(app, smtp, invited, book):
    _book(book, invited)
    smtp.handler.defer.add("xa0@langson.gov.vn")  # a 451: worth another attempt
    deliver_outbox()
    [row] = _rows(recipient="xa0@langson.gov.vn")
    assert row.status == "pending" and row.attempt_count == 1 and "451" in row.last_error
    stored = row.message
    assert stored is not None  # built and kept before the first attempt
    smtp.handler.defer.clear()
    db.session.execute(sa.update(OutboxMail).where(OutboxMail.id == row.id).values(next_attempt_at=utcnow()))
    db.session.commit()
    assert deliver_outbox() == 1
    [(_rcpt, raw)] = [(r, b) for r, b in smtp.handler.raw if r == "xa0@langson.gov.vn"]
    assert raw.rstrip(b"\r\n") == stored.encode("ascii").rstrip(b"\r\n")
    db.session.expire_all()
    assert db.session.get(OutboxMail, row.id).message == stored


@pytest.mark.parametrize("connections", [1, 4])
def test_smtp_connections_are_used_at_once(app, smtp, many_sites, book, connections):
    ids = many_sites(60)
    from vmeeting.registry.models import Endpoint

    book(db.session.scalars(sa.select(Endpoint).where(Endpoint.id.in_(ids))).all(), next_monday(),
         allow_non_working_time=True)
    app.config["SMTP_CONNECTIONS"] = connections
    assert deliver_outbox() == 60
    assert len(smtp.handler.peers) == connections  # each connection kept for the whole drain
    assert len({str(m["Message-ID"]) for _r, m in smtp.messages}) == 60


def test_the_outbox_page_shows_a_mail_not_built_yet_without_storing_it(app, client, login_as, invited, book):
    _book(book, invited)
    row = _rows(recipient="xa0@langson.gov.vn")[0]
    login_as("admin")
    page = client.get(f"/outbox/{row.id}")
    assert page.status_code == 200 and "UBND xã Hòa Bình" in page.get_data(as_text=True)
    assert client.get(f"/outbox/{row.id}/html").status_code == 200
    db.session.expire_all()
    assert db.session.get(OutboxMail, row.id).message is None


def test_claims_of_two_sessions_never_overlap(app, invited, book, database_url):
    """Two workers claiming at once take different mails (PostgreSQL: SKIP LOCKED; SQLite: the write lock)."""
    from tests.conftest import _make_app

    _book(book, invited)
    total = len(_rows())
    now = utcnow()
    first = outbox.claim_due(now, 2)  # held, uncommitted, as a worker in the middle of its claim
    other = _make_app(database_url)
    if db.engine.dialect.name == "sqlite":
        db.session.commit()  # SQLite has one writer at a time: the second claim waits for the first commit
    with other.app_context():
        second = outbox.claim_due(now, total)
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    db.session.commit()
    assert len(first) == 2 and len(second) == total - 2
    assert not {c[0] for c in first} & {c[0] for c in second}
