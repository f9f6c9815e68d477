"""Every calendar we make parses in independent parsers (libical strictly), and series expand right."""

import json
import os
import subprocess
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar
import ics
import pytest
import recurring_ical_events
import sqlalchemy as sa
import vobject

from tests.booking.conftest import next_monday
from vmeeting.booking import service as booking
from vmeeting.core.extensions import db
from vmeeting.invites import feeds, service
from vmeeting.outbox.delivery import deliver_outbox
from vmeeting.outbox.models import OutboxMail
from vmeeting.outbox.service import message_for_display

VN = ZoneInfo("Asia/Ho_Chi_Minh")
#: libical reaches Python through GObject introspection: Debian's python3-gi, outside the virtualenv
SYSTEM_PYTHON = "/usr/bin/python3"
LIBICAL_CHECK = Path(__file__).with_name("libical_check.py")


def libical_problems(texts):
    """Return, for each calendar text, what libical's strict check found (parse errors, iTIP restrictions).

    Skipped where Debian's gir1.2-ical-3.0 and python3-gi are missing, unless
    REQUIRE_LIBICAL=1 (CI sets it).
    """
    probe = subprocess.run([SYSTEM_PYTHON, "-c", "import gi; gi.require_version('ICalGLib', '3.0')"],
                           capture_output=True) if os.path.exists(SYSTEM_PYTHON) else None
    if probe is None or probe.returncode != 0:
        if os.environ.get("REQUIRE_LIBICAL") == "1":
            pytest.fail("REQUIRE_LIBICAL=1 but libical's bindings (gir1.2-ical-3.0, python3-gi) are missing")
        pytest.skip("the libical check needs Debian's gir1.2-ical-3.0 and python3-gi")
    texts = [t.decode() if isinstance(t, bytes) else t for t in texts]
    result = subprocess.run([SYSTEM_PYTHON, str(LIBICAL_CHECK)], input=json.dumps(texts), capture_output=True,
                            text=True, timeout=300, check=True)
    return json.loads(result.stdout)


def _calendars_in_outbox():
    """Return {(method, recipient): calendar text} of the outbox's latest mails."""
    import email
    from email.policy import default

    found = {}
    for row in db.session.scalars(sa.select(OutboxMail).order_by(OutboxMail.id)):
        message = email.message_from_string(message_for_display(row), policy=default)
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
    recurring_ical_events.of(cal).between(datetime(2000, 1, 1, tzinfo=VN), datetime(2100, 1, 1, tzinfo=VN))
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


def test_every_message_kind_parses_everywhere_and_passes_libical_strictly(app, smtp, invited, book, district):
    """REQUEST, CANCEL of the meeting, CANCEL of one sitting (a moved one too), CANCEL to a site taken off,
    a moved sitting, the feeds and the downloads: icalendar, vobject, ics, recurring-ical-events, libical."""
    single = book([invited["hall"], *invited["communes"][:2]], next_monday(), attendees=["khach@example.com"])
    booking.update_meeting(single, {"title": "Giao ban tháng"},
                           booking.resolve_sites(endpoint_ids=[invited["hall"].id, invited["communes"][0].id]))
    db.session.commit()
    booking.cancel_meeting(single)
    db.session.commit()
    start = next_monday() + timedelta(days=1)
    series = book([invited["hall"], invited["communes"][2]], start, recurrence="FREQ=WEEKLY;COUNT=4",
                  title="Giao ban tuần")
    third = series.occurrences[2]
    booking.move_occurrence(third, third.starts_at + timedelta(days=1), third.ends_at + timedelta(days=1))
    db.session.commit()
    deliver_outbox()  # what went out is what a sitting's CANCEL refers to
    booking.cancel_occurrence(series.occurrences[1])
    booking.cancel_occurrence(third)
    db.session.commit()

    texts = {}
    for key, text in _calendars_in_outbox().items():
        cal = icalendar.Calendar.from_ical(text)
        event = cal.walk("VEVENT")[0]
        kind = (str(cal["METHOD"]), "RECURRENCE-ID" in event and "RRULE" not in event,
                any("RECURRENCE-ID" in e for e in cal.walk("VEVENT")[1:]))
        texts.setdefault(kind, (key, text))
    assert set(texts) == {("REQUEST", False, False), ("REQUEST", False, True), ("CANCEL", False, False),
                          ("CANCEL", True, False)}
    removed = _calendars_in_outbox()[("CANCEL", "xa1@langson.gov.vn", 1)]  # the site taken off
    every = [text for _key, text in texts.values()] + [removed]
    for kind in ("endpoint", "technician", "unit"):
        target = {"endpoint": invited["communes"][2].id, "technician": invited["technician"].id,
                  "unit": district.id}[kind]
        feed, _token = feeds.create_feed(kind, target, None)
        db.session.commit()
        every.append(feeds.feed_body(feed).body)
    every += [service.download_calendar(series), service.download_calendar(single)]
    for text in every:
        _parses_everywhere(text)
    assert libical_problems(every) == [[] for _text in every]


def test_libical_check_is_strict(app):
    """The check itself: a VTIMEZONE with a COMMENT, a property without a name and a REQUEST without
    ORGANIZER are each refused."""
    zone = ("BEGIN:VTIMEZONE\r\nTZID:Asia/Ho_Chi_Minh\r\n{comment}BEGIN:STANDARD\r\nDTSTART:20000101T000000\r\n"
            "TZOFFSETFROM:+0700\r\nTZOFFSETTO:+0700\r\nEND:STANDARD\r\nEND:VTIMEZONE\r\n")
    event = ("BEGIN:VEVENT\r\nUID:1@x\r\nDTSTAMP:20300101T000000Z\r\nDTSTART:20300101T010000Z\r\nSUMMARY:s\r\n"
             "SEQUENCE:0\r\n{extra}END:VEVENT\r\n")
    head = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//t//VI\r\n"
    good = head + zone.format(comment="") + event.format(extra="") + "END:VCALENDAR\r\n"
    commented = head + zone.format(comment="COMMENT:x\r\n") + event.format(extra="") + "END:VCALENDAR\r\n"
    broken = head + event.format(extra="NOT A PROPERTY\r\n") + "END:VCALENDAR\r\n"
    request = head + "METHOD:REQUEST\r\n" + event.format(extra="ATTENDEE:mailto:a@b.vn\r\n") + "END:VCALENDAR\r\n"
    found = libical_problems([good, commented, broken, request])
    assert found[0] == [] and all(found[1:]), found
    assert "COMMENT" in found[1][0] and "ORGANIZER" in " ".join(found[3])
