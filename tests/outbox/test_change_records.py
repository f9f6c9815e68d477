"""A national booking writes one change record; a worker expands it into the invites and delivers them.

OUTBOX_FANOUT_SITES is lowered to 3 so a booking of the test sites takes the national path. Every test
runs on SQLite and PostgreSQL against a real SMTP server (aiosmtpd).
"""

from collections import Counter
from datetime import timedelta, timezone

import pytest
import sqlalchemy as sa

from tests.booking.conftest import next_monday
from tests.conftest import deliver_outbox
from vmeeting.booking import service as booking
from vmeeting.core.extensions import db
from vmeeting.invites import service as invites
from vmeeting.outbox import service as outbox
from vmeeting.outbox.mail import message_id
from vmeeting.outbox.models import OutboxMail


@pytest.fixture(autouse=True)
def national(app):
    app.config["OUTBOX_FANOUT_SITES"] = 3


def _rows():
    return db.session.scalars(sa.select(OutboxMail).order_by(OutboxMail.id)).all()


def _sites(invited):
    return [invited["hall"], *invited["communes"]]


def test_the_booking_writes_one_record_and_a_rollback_leaves_none(app, invited):
    choice = booking.resolve_sites(endpoint_ids=[e.id for e in _sites(invited)])
    start = next_monday().astimezone(timezone.utc)
    meeting = booking.book_meeting({"title": "Hội nghị toàn quốc", "starts_at": start,
                                    "ends_at": start + timedelta(hours=1), "chair_endpoint_id": invited["hall"].id},
                                   choice)
    [record] = _rows()
    assert (record.builder, record.recipient, record.method, record.sequence, record.payload) == (
        invites.BOOKING_EXPANDER, "", None, 0, {"kind": "booked", "sites": 5})
    assert record.key == f"{meeting.uid}/0/booked" and outbox.is_change_record(record)
    db.session.rollback()
    assert _rows() == []


def test_a_worker_expands_the_record_and_delivers_each_invite_once(app, invited, smtp, book):
    meeting = book(_sites(invited), next_monday(), attendees=["khach@example.com"])
    assert len(_rows()) == 1
    deliver_outbox()
    rows = _rows()
    expected = {"vanphong@langson.gov.vn", "lanhdao@langson.gov.vn", "ktv.chilang@example.vn", "khach@example.com",
                *(f"xa{n}@langson.gov.vn" for n in range(4))}
    assert {r.recipient for r in rows} == expected  # the record is gone, its rows are the usual invites
    assert {(r.builder, r.method, r.sequence, r.status) for r in rows} == {("invite", "REQUEST", 0, "sent")}
    received = Counter(str(m["Message-ID"]) for _rcpt, m in smtp.messages)
    assert set(received.values()) == {1} and set(received) == {message_id(r.key) for r in rows}
    assert {r.key for r in rows} == {f"{meeting.uid}/0/REQUEST/{email}" for email in expected}
    deliver_outbox()
    assert len(smtp.messages) == len(expected)  # nothing more to send


def test_a_change_before_any_worker_expands_the_record_first(app, invited, smtp, book):
    """The booking's rows are written before the change writes its own, so the change supersedes them as usual;
    each person gets one mail: the new invite, or the CANCEL of the commune taken off."""
    meeting = book(_sites(invited), next_monday())
    choice = booking.resolve_sites(endpoint_ids=[e.id for e in _sites(invited)[:4]])
    booking.update_meeting(meeting, {"title": "Hội nghị toàn quốc (sửa)", "starts_at": meeting.starts_at,
                                     "ends_at": meeting.ends_at, "chair_endpoint_id": invited["hall"].id}, choice)
    db.session.commit()
    rows = _rows()
    assert not any(outbox.is_change_record(r) for r in rows)
    assert Counter((r.sequence, r.method, r.status) for r in rows) == {
        (0, "REQUEST", "superseded"): 6, (1, "REQUEST", "pending"): 6, (1, "CANCEL", "pending"): 1}
    deliver_outbox()
    assert sorted(rcpt for rcpt, _m in smtp.messages) == sorted(r.recipient for r in rows if r.sequence == 1)
    assert {r.recipient for r in rows if r.method == "CANCEL"} == {"xa3@langson.gov.vn"}


def test_build_unbuilt_expands_records_for_a_reader(app, invited, book):
    book(_sites(invited), next_monday())
    built = outbox.build_unbuilt()
    rows = _rows()
    assert len(built) == len(rows) == 7 and all(r.message is not None for r in rows)


def test_a_failing_expansion_writes_nothing_counts_an_attempt_and_stays(app, invited, smtp, book, monkeypatch):
    book(_sites(invited), next_monday())

    def broken(record):
        invites.expand_booking(record)  # its rows written, then a failure: none of them may stay
        raise RuntimeError("boom")

    monkeypatch.setitem(outbox.EXPANDERS.mapping(app), invites.BOOKING_EXPANDER, broken)
    deliver_outbox()
    [record] = _rows()
    assert record.status == "pending" and record.attempt_count == 1 and "boom" in record.last_error
    assert smtp.messages == []


def test_the_outbox_page_shows_the_record_until_it_is_expanded(app, client, login_as, invited, book):
    book(_sites(invited), next_monday())
    login_as("scheduler")
    html = client.get("/outbox").get_data(as_text=True)
    assert 'data-testid="change-record"' in html and "Thư mời cho 5 điểm cầu" in html


def test_a_change_while_a_worker_expands_the_record_waits_for_it(app, database_url, invited, book, monkeypatch):
    """PostgreSQL: the worker has locked the record and written its rows when the meeting is cancelled. Both take
    the record before the mails' keys, so the cancel waits for the worker's commit, finds the record gone and
    supersedes the rows it wrote (before the fix the two deadlocked and the cancel failed)."""
    if not database_url.startswith("postgresql"):
        pytest.skip("row locks: SQLite's one write lock serializes the worker and the change")
    import threading

    from vmeeting.booking.models import Meeting
    from vmeeting.core.database import utcnow

    meeting_id = book(_sites(invited), next_monday()).id
    db.session.remove()
    written, go = threading.Event(), threading.Event()
    expand = outbox.EXPANDERS.mapping(app)[invites.BOOKING_EXPANDER]

    def slow_expand(record):
        expand(record)
        if threading.current_thread().name == "worker":
            written.set()
            go.wait(10)

    monkeypatch.setitem(outbox.EXPANDERS.mapping(app), invites.BOOKING_EXPANDER, slow_expand)
    errors = []

    def run(name, work):
        def target():
            with app.app_context():
                try:
                    work()
                    db.session.commit()
                except Exception as exc:  # noqa: BLE001 - the test reports what either side raised
                    errors.append((name, exc))
                    db.session.rollback()
                finally:
                    db.session.remove()
        return threading.Thread(target=target, name=name)

    def worker():
        claimed = outbox.claim_due(utcnow(), 200)
        db.session.commit()
        outbox.build_messages([mail_id for mail_id, _r, _m in claimed])

    threads = [run("worker", worker),
               run("change", lambda: booking.cancel_meeting(db.session.get(Meeting, meeting_id)))]
    threads[0].start()
    assert written.wait(10)
    threads[1].start()
    threads[1].join(1.0)  # the cancel now waits on the record
    go.set()
    for thread in threads:
        thread.join(30)
    assert errors == []
    assert Counter((r.sequence, r.method, r.status) for r in _rows()) == {
        (0, "REQUEST", "superseded"): 7, (1, "CANCEL", "pending"): 7}


def test_pages_name_a_failed_record_by_what_it_stands_for(app, client, login_as, invited, book, monkeypatch):
    meeting = book(_sites(invited), next_monday())
    [record] = _rows()
    record.status, record.last_error = "failed", "Không soạn được thư: RuntimeError('boom')"
    db.session.commit()
    login_as("scheduler")
    outbox_page = client.get("/outbox").get_data(as_text=True)
    assert "Thư mời cho 5 điểm cầu</span>" in outbox_page and "đang soạn" not in outbox_page
    home = client.get("/").get_data(as_text=True)
    assert "Thư mời cho 5 điểm cầu" in home and f'href="/outbox/{record.id}"' not in home
    panel = client.get(f"/meetings/{meeting.id}").get_data(as_text=True)
    assert "Thư mời cho 5 điểm cầu</span> — Không soạn được thư" in panel
