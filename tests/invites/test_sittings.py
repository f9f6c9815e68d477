"""Cancelling sittings: the last one cancels the meeting; one of a series is a CANCEL with its RECURRENCE-ID."""

from datetime import timedelta

import icalendar
import sqlalchemy as sa

from tests.booking.conftest import next_monday
from tests.invites.conftest import calendar_part
from vmeeting.booking import service as booking
from vmeeting.booking.models import Meeting
from vmeeting.core.extensions import db
from vmeeting.invites import feeds, service
from vmeeting.outbox.delivery import deliver_outbox
from vmeeting.outbox.models import OutboxMail
from vmeeting.core.timefmt import local_zone


def _events(message):
    cal = icalendar.Calendar.from_ical(calendar_part(message))
    return cal, cal.walk("VEVENT")


def _delivered(smtp):
    """Deliver what is due and return [(recipient, message)] received by this call."""
    before = len(smtp.messages)
    deliver_outbox()
    return smtp.messages[before:]


def _series(book, invited, count=4):
    return book([invited["hall"], invited["communes"][0]], next_monday(), recurrence=f"FREQ=WEEKLY;COUNT={count}",
                title="Giao ban tuần", attendees=["khach@example.com"])


def _recipients(invited):
    return {"vanphong@langson.gov.vn", "lanhdao@langson.gov.vn", "ktv.chilang@example.vn", "xa0@langson.gov.vn",
            "khach@example.com"}


def _feed_events(invited):
    feed, _token = feeds.create_feed("endpoint", invited["communes"][0].id, None)
    db.session.commit()
    return icalendar.Calendar.from_ical(feeds.feed_body(feed).body).walk("VEVENT")


# -- the only sitting left -----------------------------------------------------------------


def test_cancelling_the_only_sitting_through_the_api_cancels_the_meeting(app, smtp, invited, book, client,
                                                                         api_headers):
    meeting = book([invited["hall"], invited["communes"][0]], next_monday(), attendees=["khach@example.com"])
    assert {rcpt for rcpt, _m in _delivered(smtp)} == _recipients(invited)
    (occurrence,) = meeting.occurrences
    response = client.post(f"/api/v1/meetings/{meeting.id}/occurrences/{occurrence.id}/cancel",
                           headers=api_headers("scheduler"), json={"confirm": True})
    assert response.status_code == 200
    assert response.json["status"] == "cancelled" and response.json["occurrences"][0]["status"] == "cancelled"
    received = _delivered(smtp)
    assert {rcpt for rcpt, _m in received} == _recipients(invited)
    for _rcpt, message in received:
        cal, (event,) = _events(message)
        assert cal["METHOD"] == "CANCEL" and str(event["STATUS"]) == "CANCELLED"
        assert "RECURRENCE-ID" not in event and str(event["UID"]) == meeting.uid and int(event["SEQUENCE"]) == 1
        assert "Hủy lịch họp" in message["Subject"]
    assert _feed_events(invited) == []  # the feeds no longer serve it
    download = icalendar.Calendar.from_ical(service.download_calendar(db.session.get(Meeting, meeting.id)))
    assert str(download.walk("VEVENT")[0]["STATUS"]) == "CANCELLED"


def test_cancelling_the_only_sitting_from_the_page_cancels_the_meeting(app, invited, book, client, login_as,
                                                                       get_csrf):
    meeting = book([invited["hall"]], next_monday())
    login_as("scheduler")
    page = f"/meetings/{meeting.id}"
    response = client.post(f"{page}/occurrences/{meeting.occurrences[0].id}/cancel",
                           data={"csrf_token": get_csrf(page), "confirm": "y", "version": "0"}, follow_redirects=True)
    assert response.status_code == 200 and "cuộc họp «Giao ban» đã bị hủy" in response.get_data(as_text=True)
    assert db.session.get(Meeting, meeting.id).status == "cancelled"
    methods = db.session.scalars(sa.select(OutboxMail.method).where(OutboxMail.sequence == 1)).all()
    assert methods and set(methods) == {"CANCEL"}


def test_cancelling_the_last_sitting_left_of_a_series_cancels_the_meeting(app, smtp, invited, book):
    meeting = _series(book, invited, count=2)
    first, second = meeting.occurrences
    booking.cancel_occurrence(first)
    db.session.commit()
    assert meeting.status == "scheduled"
    _delivered(smtp)
    booking.cancel_occurrence(second)
    db.session.commit()
    assert meeting.status == "cancelled" and second.status == "cancelled"
    for _rcpt, message in _delivered(smtp):
        cal, events = _events(message)
        assert cal["METHOD"] == "CANCEL" and all("RECURRENCE-ID" not in e for e in events)


# -- one sitting of a series ---------------------------------------------------------------


def test_one_cancelled_sitting_goes_out_as_cancel_with_its_recurrence_id(app, smtp, invited, book, client,
                                                                         api_headers):
    meeting = _series(book, invited)
    _delivered(smtp)
    second, third = meeting.occurrences[1], meeting.occurrences[2]
    headers = api_headers("scheduler")
    for occurrence in (second, third):  # two in a row: neither supersedes the other
        response = client.post(f"/api/v1/meetings/{meeting.id}/occurrences/{occurrence.id}/cancel",
                               headers=headers, json={"confirm": True})
        assert response.status_code == 200 and response.json["status"] == "scheduled"
    received = _delivered(smtp)
    assert sorted(rcpt for rcpt, _m in received) == sorted([*_recipients(invited)] * 2)
    by_sequence = {}
    for rcpt, message in received:
        cal, (event,) = _events(message)
        assert cal["METHOD"] == "CANCEL" and str(event["STATUS"]) == "CANCELLED"
        assert str(event["UID"]) == meeting.uid and "RRULE" not in event
        attendee = event["ATTENDEE"]
        assert str(attendee) == f"mailto:{rcpt}" and attendee.params["RSVP"] == "FALSE"
        by_sequence.setdefault(int(event["SEQUENCE"]), set()).add(event["RECURRENCE-ID"].dt)
        assert "Hủy buổi họp" in message["Subject"] and "Không họp buổi" in str(event["DESCRIPTION"])
    assert by_sequence == {1: {second.original_starts_at.astimezone(local_zone())},
                           2: {third.original_starts_at.astimezone(local_zone())}}
    assert db.session.scalar(sa.select(sa.func.count()).where(OutboxMail.method == "REQUEST",
                                                              OutboxMail.sequence > 0)) == 0
    # the series, downloaded or subscribed, leaves both out with EXDATE
    for events in (icalendar.Calendar.from_ical(service.download_calendar(meeting)).walk("VEVENT"),
                   _feed_events(invited)):
        (master,) = events
        skipped = {d.dt for d in master["EXDATE"].dts} if not isinstance(master["EXDATE"], list) else \
            {d.dt for exdate in master["EXDATE"] for d in exdate.dts}
        assert skipped == {second.original_starts_at.astimezone(local_zone()),
                           third.original_starts_at.astimezone(local_zone())}


def test_a_moved_sitting_cancelled_names_its_original_start(app, smtp, invited, book):
    meeting = _series(book, invited)
    third = meeting.occurrences[2]
    moved_to = third.starts_at + timedelta(days=1, hours=6)
    booking.move_occurrence(third, moved_to, moved_to + timedelta(hours=1))
    db.session.commit()
    _delivered(smtp)
    booking.cancel_occurrence(third)
    db.session.commit()
    received = _delivered(smtp)
    assert {rcpt for rcpt, _m in received} == _recipients(invited)
    for _rcpt, message in received:
        cal, (event,) = _events(message)
        assert cal["METHOD"] == "CANCEL"
        assert event["RECURRENCE-ID"].dt == third.original_starts_at.astimezone(local_zone())
        assert event["DTSTART"].dt == moved_to.astimezone(local_zone())


def test_a_sitting_cancelled_before_the_series_went_out_sends_the_series_without_it(app, smtp, invited, book):
    meeting = _series(book, invited)
    second = meeting.occurrences[1]
    booking.cancel_occurrence(second)
    db.session.commit()
    received = _delivered(smtp)
    assert sorted(rcpt for rcpt, _m in received) == sorted(_recipients(invited))  # one mail each
    for _rcpt, message in received:
        cal, events = _events(message)
        assert cal["METHOD"] == "REQUEST" and int(events[0]["SEQUENCE"]) == 1
        assert second.original_starts_at.astimezone(local_zone()) in {d.dt for d in events[0]["EXDATE"].dts}
    assert db.session.scalar(sa.select(sa.func.count()).where(OutboxMail.status == "superseded")) == len(
        _recipients(invited))
