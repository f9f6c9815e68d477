"""Invites over a real SMTP server: who gets what, retries, exactly once, the lease."""

from datetime import timedelta

import icalendar
import pytest
import sqlalchemy as sa

from tests.booking.conftest import next_monday
from tests.invites.conftest import calendar_part
from vmeeting import jobs
from vmeeting.booking import service as booking
from vmeeting.core.database import utcnow
from vmeeting.core.extensions import db
from vmeeting.outbox.delivery import deliver_outbox
from vmeeting.outbox.models import OutboxMail


def _event(message):
    cal = icalendar.Calendar.from_ical(calendar_part(message))
    return cal, next(c for c in cal.walk("VEVENT"))


def _everyone(invited):
    commune_mails = [f"xa{n}@langson.gov.vn" for n in range(2)]
    return {"vanphong@langson.gov.vn", "lanhdao@langson.gov.vn", "ktv.chilang@example.vn", *commune_mails,
            "khach@example.com"}


def _book(book, invited, **fields):
    return book([invited["hall"], *invited["communes"][:2]], next_monday(), attendees=["khach@example.com"],
                description="1. Khai mạc\n2. Báo cáo tình hình", **fields)


def test_booking_invites_every_attendee(app, smtp, invited, book):
    meeting = _book(book, invited)
    assert deliver_outbox() == len(_everyone(invited))
    assert {rcpt for rcpt, _m in smtp.messages} == _everyone(invited)
    message = smtp.to("xa1@langson.gov.vn")[0]
    assert "Mời họp" in message["Subject"]
    assert message.get_content_type() == "multipart/mixed"
    alternative = message.get_payload()[0]
    assert [p.get_content_type() for p in alternative.get_payload()] == ["text/plain", "text/html", "text/calendar"]
    assert alternative.get_payload()[2].get_param("method") == "REQUEST"
    assert message.get_payload()[1].get_filename() == "invite.ics"
    stored = db.session.scalar(sa.select(OutboxMail.message).where(OutboxMail.recipient == "xa1@langson.gov.vn"))
    head = stored.split("\r\n\r\n", 1)[0]
    assert stored.isascii() and "\n" not in stored.replace("\r\n", "")  # 7-bit, CRLF as on the wire
    assert max(len(line) for line in head.split("\r\n")) <= 78  # headers folded, names RFC 2047-encoded
    cal, event = _event(message)
    assert cal["METHOD"] == "REQUEST"
    assert str(event["UID"]) == meeting.uid and int(event["SEQUENCE"]) == 0
    assert "Quang Lang" in str(event["LOCATION"])  # the attendee's own site
    listed = event.get("ATTENDEE")
    listed = listed if isinstance(listed, list) else [listed]
    # each invite names only its own recipient: no one receives the others' addresses
    assert {str(a).removeprefix("mailto:") for a in listed} == {"xa1@langson.gov.vn"}
    assert str(event["DTSTART"].params["TZID"]) == "Asia/Ho_Chi_Minh"
    assert "sip:" not in calendar_part(message)  # no join links in a body that travels
    technician_event = _event(smtp.to("ktv.chilang@example.vn")[0])[1]
    assert "UBND tỉnh Lạng Sơn" in str(technician_event["LOCATION"])
    assert technician_event.walk("VALARM")[0]["TRIGGER"].dt == timedelta(minutes=-60)


def test_update_same_uid_higher_sequence_and_cancel_to_removed_site(app, smtp, invited, book):
    meeting = _book(book, invited)
    deliver_outbox()
    smtp.messages.clear()
    removed = invited["communes"][1]
    choice = booking.resolve_sites(endpoint_ids=[invited["hall"].id, invited["communes"][0].id])
    booking.update_meeting(meeting, {"title": "Giao ban tháng"}, choice)
    db.session.commit()
    deliver_outbox()
    cal, event = _event(smtp.to("xa0@langson.gov.vn")[0])
    assert str(event["UID"]) == meeting.uid and int(event["SEQUENCE"]) == 1
    assert "Cập nhật" in smtp.to("xa0@langson.gov.vn")[0]["Subject"]
    cancel_cal, cancel_event = _event(smtp.to("xa1@langson.gov.vn")[0])
    assert cancel_cal["METHOD"] == "CANCEL" and str(cancel_event["STATUS"]) == "CANCELLED"
    assert str(cancel_event["UID"]) == meeting.uid
    assert removed.contact_emails == ["xa1@langson.gov.vn"]
    # the technician still looks after the hall: an update, not a cancellation
    assert _event(smtp.to("ktv.chilang@example.vn")[0])[0]["METHOD"] == "REQUEST"


def test_cancelling_a_meeting_sends_cancel_to_all(app, smtp, invited, book):
    meeting = _book(book, invited)
    deliver_outbox()
    smtp.messages.clear()
    booking.cancel_meeting(meeting)
    db.session.commit()
    deliver_outbox()
    assert {rcpt for rcpt, _m in smtp.messages} == _everyone(invited)
    for _rcpt, message in smtp.messages:
        cal, event = _event(message)
        assert cal["METHOD"] == "CANCEL" and int(event["SEQUENCE"]) == 1
        assert "Hủy" in message["Subject"]


def _due_everything():
    db.session.execute(sa.update(OutboxMail).where(OutboxMail.status == "pending").values(next_attempt_at=utcnow()))
    db.session.commit()


def test_outage_delays_mail_and_loses_none(app, smtp, invited, book):
    _book(book, invited)
    smtp.stop()
    assert deliver_outbox() == 0
    rows = db.session.scalars(sa.select(OutboxMail)).all()
    assert {r.status for r in rows} == {"pending"} and {r.attempt_count for r in rows} == {1}
    assert all(r.next_attempt_at > utcnow() for r in rows) and "kết nối" in rows[0].last_error
    assert deliver_outbox() == 0  # nothing due yet: the delay holds
    _due_everything()
    deliver_outbox()
    second = db.session.scalars(sa.select(OutboxMail)).all()
    assert {r.attempt_count for r in second} == {2}
    assert min(r.next_attempt_at for r in second) - utcnow() > timedelta(minutes=1)  # the delay grows
    smtp.start()
    _due_everything()
    assert deliver_outbox() == len(_everyone(invited))
    _due_everything()
    assert deliver_outbox() == 0
    received = [rcpt for rcpt, _m in smtp.messages]
    assert sorted(received) == sorted(_everyone(invited))  # each once, and only once


def test_worker_restart_midway_loses_and_repeats_nothing(app, smtp, invited, book, database_url):
    from tests.conftest import _make_app

    _book(book, invited)
    assert deliver_outbox(limit=3) == 3
    db.session.remove()
    restarted = _make_app(database_url, SMTP_URL=smtp.url)
    with restarted.app_context():
        assert deliver_outbox() == len(_everyone(invited)) - 3
        assert deliver_outbox() == 0
        db.session.remove()
        db.engine.dispose()
    assert sorted(rcpt for rcpt, _m in smtp.messages) == sorted(_everyone(invited))


def test_refused_mail_fails_for_good_and_shows_on_the_meeting_page(app, smtp, invited, book, client, login):
    organizer = invited["technician"]  # any user; the page shows failures to schedulers
    smtp.handler.refuse.add("khach@example.com")
    meeting = _book(book, invited)
    deliver_outbox()
    failed = db.session.scalar(sa.select(OutboxMail).where(OutboxMail.recipient == "khach@example.com"))
    assert failed.status == "failed" and "550" in failed.last_error
    _due_everything()
    assert deliver_outbox() == 0
    assert organizer
    from tests.conftest import PASSWORD  # noqa: F401
    from vmeeting.auth import service as auth

    scheduler = auth.create_user("lich-ban", "scheduler", password="mat-khau-thu-nghiem")
    db.session.commit()
    login(scheduler)
    html = client.get(f"/meetings/{meeting.id}").get_data(as_text=True)
    assert 'data-testid="invite-failures"' in html and "khach@example.com" in html


def test_without_smtp_url_nothing_is_sent(app, invited, book):
    _book(book, invited)
    assert app.config["SMTP_URL"] is None
    assert deliver_outbox() == 0
    assert {r.status for r in db.session.scalars(sa.select(OutboxMail))} == {"pending"}


def test_the_lease_lets_one_worker_run(app):
    now = utcnow()
    assert jobs.acquire_lease("worker-a", now=now)
    assert not jobs.acquire_lease("worker-b", now=now)
    assert jobs.acquire_lease("worker-a", now=now + timedelta(seconds=30))  # renewal
    later = now + timedelta(seconds=30) + jobs.LEASE_TTL + timedelta(seconds=1)
    assert jobs.acquire_lease("worker-b", now=later)  # worker-a crashed: its lease expired
    assert not jobs.acquire_lease("worker-a", now=later)
    ran = []
    tick = jobs.Tick("test", lambda: ran.append(1), 60)
    assert not jobs.run_tick(app, "worker-a", tick)
    jobs.release_lease("worker-b")
    assert jobs.run_tick(app, "worker-a", tick) and ran == [1]
    assert "invites.deliver_outbox" not in jobs.ticks(app)  # every worker delivers, lease or not


def test_a_change_rolled_back_queues_nothing(app, invited):
    from vmeeting.core.errors import Conflict

    choice = booking.resolve_sites(endpoint_ids=[invited["hall"].id])
    start = next_monday().astimezone(__import__("datetime").timezone.utc)
    booking.book_meeting({"title": "A", "starts_at": start, "ends_at": start + timedelta(hours=1),
                          "chair_endpoint_id": invited["hall"].id}, choice)
    db.session.commit()
    with pytest.raises(Conflict):
        booking.book_meeting({"title": "B", "starts_at": start, "ends_at": start + timedelta(hours=1),
                              "chair_endpoint_id": invited["hall"].id}, choice)
    db.session.rollback()
    subjects = db.session.scalars(sa.select(OutboxMail.subject)).all()
    assert subjects and all(": A —" in s for s in subjects)


def test_an_accepted_mail_is_recorded_sent_though_the_database_is_busy(app, smtp, invited, book, database_url,
                                                                      caplog):
    """The record of an acceptance waits out a writer holding the database; it is never rolled back to pending."""
    from vmeeting.outbox import delivery, service

    _book(book, invited)
    [(mail_id, _recipient, _message)] = service.claim_due(utcnow(), 1)
    db.session.commit()
    assert mail_id not in {c[0] for c in service.claim_due(utcnow(), 100)}  # one claim wins
    db.session.rollback()
    holder = sa.create_engine(database_url).connect()
    blocker = holder.begin()
    holder.execute(sa.update(OutboxMail).where(OutboxMail.id == mail_id).values(last_error="held"))
    if db.engine.dialect.name == "sqlite":
        # refuse at once rather than wait, as SQLite does to a transaction that read before another's commit
        db.session.connection().exec_driver_sql("PRAGMA busy_timeout=0")
    else:
        db.session.connection().exec_driver_sql("SET lock_timeout = '50ms'")
    db.session.commit()
    import threading
    release = threading.Timer(1.0, lambda: (blocker.commit(), holder.close()))
    release.start()
    try:
        assert delivery.record_many_sent([mail_id], utcnow(), patience=60)
    finally:
        release.join()
    assert "waits for the database" in caplog.text  # refused at least once, recorded all the same
    row = db.session.get(OutboxMail, mail_id, populate_existing=True)
    assert row.status == "sent" and row.attempt_count == 1
    smtp_before = len(smtp.messages)
    _due_everything()
    deliver_outbox()
    assert mail_id not in {r.id for r in db.session.scalars(sa.select(OutboxMail).where(OutboxMail.status == "pending"))}
    assert len(smtp.messages) == smtp_before + len(_everyone(invited)) - 1  # the recorded one is not sent
