"""Every calendar we make parses in three independent parsers, and series expand right."""

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import icalendar
import ics
import pytest
import recurring_ical_events
import sqlalchemy as sa
import vobject

from tests.booking.conftest import next_monday
from vmeeting.booking import service as booking
from vmeeting.extensions import db
from vmeeting.invites import feeds, service
from vmeeting.invites.models import OutboxMail

VN = ZoneInfo("Asia/Ho_Chi_Minh")


def _calendars_in_outbox():
    """Return {(method, recipient): calendar text} of the outbox's latest mails."""
    import email
    from email.policy import default

    found = {}
    for row in db.session.scalars(sa.select(OutboxMail).order_by(OutboxMail.id)):
        message = email.message_from_string(row.message, policy=default)
        part = next(p for p in message.walk() if p.get_content_type() == "text/calendar")
        found[(row.method, row.recipient, row.sequence)] = part.get_content()
    return found


def _parses_everywhere(text):
    text = text.decode() if isinstance(text, bytes) else text
    cal = icalendar.Calendar.from_ical(text)
    vcal = vobject.readOne(text)
    assert vcal.vevent.uid.value
    parsed = ics.Calendar(text)
    assert len(parsed.events) >= 1 or not cal.walk("VEVENT")
    return cal


@pytest.fixture
def series(invited, book):
    """A weekly briefing of four sittings: the second cancelled, the third moved to Tuesday afternoon."""
    start = next_monday()
    meeting = book([invited["hall"], invited["communes"][0]], start, recurrence="FREQ=WEEKLY;COUNT=4",
                   title="Giao ban tuần")
    second, third = meeting.occurrences[1], meeting.occurrences[2]
    booking.cancel_occurrence(second)
    db.session.commit()
    new_start = (third.starts_at + timedelta(days=1, hours=6))
    booking.move_occurrence(third, new_start, new_start + timedelta(hours=1))
    db.session.commit()
    return meeting


def test_request_and_cancel_parse_in_three_parsers(app, invited, book):
    meeting = book([invited["hall"], *invited["communes"][:2]], next_monday(), attendees=["khach@example.com"])
    booking.cancel_meeting(meeting)
    db.session.commit()
    calendars = _calendars_in_outbox()
    methods = {key[0] for key in calendars}
    assert methods == {"REQUEST", "CANCEL"}
    for text in calendars.values():
        cal = _parses_everywhere(text)
        event = cal.walk("VEVENT")[0]
        for name in ("UID", "SEQUENCE", "DTSTAMP", "ORGANIZER", "ATTENDEE", "DTSTART", "DTEND", "LOCATION",
                     "DESCRIPTION"):
            assert name in event, name
        assert cal.walk("VTIMEZONE")[0]["TZID"] == "Asia/Ho_Chi_Minh"
        attendee = event.get("ATTENDEE")
        assert not isinstance(attendee, list)  # the recipient alone
        assert {"ROLE", "PARTSTAT", "RSVP"} <= set(attendee.params)


def test_description_follows_the_giay_moi_order(app, invited, book):
    meeting = book([invited["hall"], invited["communes"][0]], next_monday(), description="Chương trình: báo cáo")
    text = _calendars_in_outbox()[("REQUEST", "ktv.chilang@example.vn", 0)]
    description = str(icalendar.Calendar.from_ical(text).walk("VEVENT")[0]["DESCRIPTION"])
    order = ["Cơ quan mời", "ngày", "Về việc", "Kính mời", "Thời gian", "Địa điểm", "Nội dung", "Yêu cầu kỹ thuật",
             "Liên hệ kỹ thuật", "Nơi nhận"]
    positions = [description.index(word) for word in order]
    assert positions == sorted(positions)
    assert "07:00" in description and "07:30" in description  # technicians 60 min before, test call at T-30
    assert "0912 345 678" in description and "Thứ Hai" in description
    assert meeting.uid


def test_series_with_exdate_and_moved_sitting_expands_right(app, series):
    rows = _calendars_in_outbox()
    latest = max((k for k in rows if k[1] == "xa0@langson.gov.vn"), key=lambda k: k[2])
    text = rows[latest]
    cal = _parses_everywhere(text)
    master = next(e for e in cal.walk("VEVENT") if "RECURRENCE-ID" not in e)
    assert "RRULE" in master and "EXDATE" in master
    moved = [e for e in cal.walk("VEVENT") if "RECURRENCE-ID" in e]
    assert len(moved) == 1
    _check_expansion(cal, series)
    download = service.download_calendar(series)
    _check_expansion(_parses_everywhere(download), series)


def _check_expansion(cal, meeting):
    window_start = meeting.starts_at - timedelta(days=1)
    sittings = recurring_ical_events.of(cal).between(window_start, window_start + timedelta(days=40))
    starts = sorted(e["DTSTART"].dt.astimezone(timezone.utc) for e in sittings)
    occurrences = meeting.occurrences
    expected = sorted(o.starts_at for o in occurrences if o.status == "scheduled")
    assert starts == expected
    assert occurrences[1].original_starts_at not in starts  # the cancelled sitting
    assert occurrences[2].starts_at in starts and occurrences[2].original_starts_at not in starts  # the moved one


@pytest.mark.parametrize("kind", ["endpoint", "technician", "unit"])
def test_feeds_parse_and_expand(app, series, invited, district, kind):
    target = {"endpoint": invited["communes"][0].id, "technician": invited["technician"].id,
              "unit": district.id}[kind]
    feed, _token = feeds.create_feed(kind, target, None)
    db.session.commit()
    cal = _parses_everywhere(feeds.feed_body(feed).body)
    assert str(cal["X-WR-CALNAME"]).startswith("Lịch họp trực tuyến")
    _check_expansion(cal, series)


def test_rrule_until_is_utc_beside_a_zoned_start(app, invited, book):
    until = (next_monday() + timedelta(days=20)).strftime("%Y%m%d")
    meeting = book([invited["hall"]], next_monday(), recurrence=f"FREQ=WEEKLY;UNTIL={until}")
    cal = _parses_everywhere(service.download_calendar(meeting))
    rule = cal.walk("VEVENT")[0]["RRULE"]
    assert rule["UNTIL"][0].tzinfo is not None
    assert len(recurring_ical_events.of(cal).between(datetime(2000, 1, 1, tzinfo=VN),
                                                     datetime(2100, 1, 1, tzinfo=VN))) == 3
