"""The calendars field by field: what each kind of message says (RFC 5545, iTIP RFC 5546), built from
plain objects and read back with icalendar. test_ical.py checks that they parse everywhere; this
checks what they say.
"""

from datetime import datetime, timedelta, timezone
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import icalendar
import pytest

from tests.config_only import config_app  # noqa: F401 (the fixture)
from vmeeting.invites import ical
from vmeeting.invites.addresses import reply_address
from vmeeting.invites.notice import Person

VN = ZoneInfo("Asia/Ho_Chi_Minh")
UTC = timezone.utc
STAMP = datetime(2027, 2, 20, 3, 4, 5, tzinfo=UTC)
CREATED = datetime(2027, 2, 1, 1, 0, tzinfo=UTC)
START = datetime(2027, 3, 1, 1, 0, tzinfo=UTC)  # Monday 08:00 local


def site(name, address=""):
    return SimpleNamespace(name=name, address=address)


def sitting(days, *, moved_hours=0, status="scheduled"):
    original = START + timedelta(days=days)
    start = original + timedelta(hours=moved_hours)
    return SimpleNamespace(original_starts_at=original, starts_at=start, ends_at=start + timedelta(hours=1),
                           status=status, is_moved=bool(moved_hours))


@pytest.fixture
def meeting():
    return SimpleNamespace(uid="giao-ban@vmeeting", sequence=3, title="Giao ban tuần", starts_at=START,
                           ends_at=START + timedelta(hours=1), created_at=CREATED, updated_at=None,
                           organizer=SimpleNamespace(agency="Văn phòng UBND tỉnh", display_name="Nguyễn Văn An"),
                           recurrence=None, chair=site("UBND tỉnh Lạng Sơn", "Số 1 Hoàng Văn Thụ"),
                           is_cancelled=False)


@pytest.fixture
def people():
    return [Person("ktv@example.vn", "Kỹ thuật viên", sites=[site("UBND xã Mai Sao")], is_technician=True),
            Person("khach@example.com")]


def read(data):
    assert isinstance(data, bytes)
    cal = icalendar.Calendar.from_ical(data)
    return cal, cal.walk("VEVENT")


def attendees(event):
    found = event.get("ATTENDEE", [])
    found = found if isinstance(found, list) else [found]
    return [(str(a), dict(a.params)) for a in found]


def local(instant):
    return instant.astimezone(VN)


def test_an_invite_says_everything_about_a_single_meeting(config_app, meeting, people):
    recipient = people[0]
    cal, (event,) = read(ical.invite_calendar(meeting, [sitting(0)], "REQUEST", recipient, people,
                                              description="Kính mời", answers={"khach@example.com": "ACCEPTED"},
                                              stamp=STAMP))
    assert (str(cal["PRODID"]), str(cal["VERSION"]), str(cal["CALSCALE"]), str(cal["METHOD"])) == (
        "-//vmeeting//Hop truc tuyen//VI", "2.0", "GREGORIAN", "REQUEST")
    assert "X-WR-CALNAME" not in cal and "X-WR-TIMEZONE" not in cal
    zone = cal.subcomponents[0]
    assert zone.name == "VTIMEZONE" and str(zone["TZID"]) == "Asia/Ho_Chi_Minh" and "COMMENT" not in zone
    assert [c.name for c in cal.subcomponents] == ["VTIMEZONE", "VEVENT"]
    assert str(event["UID"]) == "giao-ban@vmeeting" and event["SEQUENCE"] == 3
    assert event.decoded("DTSTAMP") == STAMP
    assert event.decoded("DTSTART") == local(START) and event["DTSTART"].params["TZID"] == "Asia/Ho_Chi_Minh"
    assert event.decoded("DTEND") == local(START + timedelta(hours=1))
    assert event["DTEND"].params["TZID"] == "Asia/Ho_Chi_Minh"
    assert (str(event["SUMMARY"]), str(event["LOCATION"]), str(event["DESCRIPTION"])) == (
        "Giao ban tuần", "UBND xã Mai Sao", "Kính mời")
    assert (str(event["STATUS"]), str(event["TRANSP"]), str(event["CLASS"])) == ("CONFIRMED", "OPAQUE", "PUBLIC")
    assert event.decoded("CREATED") == CREATED and event.decoded("LAST-MODIFIED") == CREATED
    # the system mailbox, with this recipient's token as sub-address (invites.addresses)
    assert str(event["ORGANIZER"]) == f"mailto:{reply_address('giao-ban@vmeeting', recipient.email)}"
    assert str(event["ORGANIZER"]).startswith("mailto:vmeeting+") and str(event["ORGANIZER"]).endswith("@localhost")
    assert dict(event["ORGANIZER"].params) == {"CN": "Văn phòng UBND tỉnh (Nguyễn Văn An)"}
    assert str(event["X-MICROSOFT-DISALLOW-COUNTER"]) == "TRUE"  # proposals of another time are not taken
    assert attendees(event) == [
        ("mailto:ktv@example.vn", {"CN": "Kỹ thuật viên", "CUTYPE": "INDIVIDUAL", "ROLE": "REQ-PARTICIPANT",
                                   "PARTSTAT": "NEEDS-ACTION", "RSVP": "TRUE"}),
        ("mailto:khach@example.com", {"CUTYPE": "INDIVIDUAL", "ROLE": "REQ-PARTICIPANT", "PARTSTAT": "ACCEPTED",
                                      "RSVP": "TRUE"})]
    (alarm,) = event.walk("VALARM")
    assert (str(alarm["ACTION"]), str(alarm["DESCRIPTION"])) == ("DISPLAY", "Giao ban tuần")
    assert alarm.decoded("TRIGGER") == timedelta(minutes=-60)  # a technician comes an hour before


def test_a_participant_is_reminded_later_and_a_person_without_a_site_reads_the_chair(config_app, meeting, people):
    meeting.updated_at = CREATED + timedelta(days=2)
    _, (event,) = read(ical.invite_calendar(meeting, [sitting(0)], "REQUEST", people[1], people, description="x"))
    assert str(event["LOCATION"]) == "UBND tỉnh Lạng Sơn, Số 1 Hoàng Văn Thụ"
    assert event.walk("VALARM")[0].decoded("TRIGGER") == timedelta(minutes=-15)
    assert event.decoded("LAST-MODIFIED") == CREATED + timedelta(days=2)
    assert abs(event.decoded("DTSTAMP") - datetime.now(UTC)) < timedelta(minutes=1)
    two_sites = Person("ktv@example.vn", sites=[site("UBND xã Mai Sao"), site("UBND xã Vân An", "Thôn Bản Làn")])
    _, (event,) = read(ical.invite_calendar(meeting, [sitting(0)], "REQUEST", two_sites, [], description="x"))
    assert str(event["LOCATION"]) == "UBND xã Mai Sao; UBND xã Vân An, Thôn Bản Làn"
    assert "ATTENDEE" not in event
    meeting.organizer = None
    _, (event,) = read(ical.invite_calendar(meeting, [sitting(0)], "REQUEST", people[1], [], description="x"))
    assert event["ORGANIZER"].params["CN"] == "Văn phòng tổ chức cuộc họp"
    meeting.organizer = SimpleNamespace(agency=" ", display_name="Trần Thị Bình")
    _, (event,) = read(ical.invite_calendar(meeting, [sitting(0)], "REQUEST", people[1], [], description="x"))
    assert event["ORGANIZER"].params["CN"] == "Trần Thị Bình"


def test_a_cancel_says_cancelled_asks_no_answer_and_rings_no_alarm(config_app, meeting, people):
    cal, (event,) = read(ical.invite_calendar(meeting, [sitting(0)], "CANCEL", people[0], people, description="x",
                                              stamp=STAMP))
    assert str(cal["METHOD"]) == "CANCEL" and str(event["STATUS"]) == "CANCELLED"
    assert [params["RSVP"] for _, params in attendees(event)] == ["FALSE", "FALSE"]
    assert event.walk("VALARM") == []


def test_a_single_meeting_shows_its_last_scheduled_sitting(config_app, meeting, people):
    """After a series became a single meeting its one sitting still scheduled is the one shown."""
    kept, dropped = sitting(7), sitting(14, status="cancelled")
    _, (event,) = read(ical.invite_calendar(meeting, [dropped, kept, sitting(0, status="cancelled")], "REQUEST",
                                            people[1], [], description="x"))
    assert event.decoded("DTSTART") == local(kept.starts_at)
    _, (event,) = read(ical.invite_calendar(meeting, [dropped, sitting(0, status="cancelled")], "REQUEST",
                                            people[1], [], description="x"))
    assert event.decoded("DTSTART") == local(dropped.starts_at)
    _, (event,) = read(ical.invite_calendar(meeting, [], "REQUEST", people[1], [], description="x"))
    assert event.decoded("DTSTART") == local(meeting.starts_at)


def test_a_series_is_a_master_with_exdates_and_one_event_per_moved_sitting(config_app, meeting, people):
    meeting.recurrence = "FREQ=WEEKLY;COUNT=5"
    sittings = [sitting(28), sitting(0), sitting(7, status="cancelled"), sitting(14, moved_hours=30),
                sitting(21, moved_hours=2, status="cancelled")]
    cal, events = read(ical.invite_calendar(meeting, sittings, "REQUEST", people[1], people, description="x",
                                            stamp=STAMP))
    master, moved = events
    assert master["RRULE"] == icalendar.vRecur.from_ical("FREQ=WEEKLY;COUNT=5")
    assert "RECURRENCE-ID" not in master
    assert master.decoded("DTSTART") == local(START)
    exdates = master["EXDATE"]
    assert [d.dt for d in exdates.dts] == [local(START + timedelta(days=7)), local(START + timedelta(days=21))]
    assert moved.decoded("RECURRENCE-ID") == local(START + timedelta(days=14))
    assert moved.decoded("DTSTART") == local(START + timedelta(days=14, hours=30))
    assert (str(moved["UID"]), moved["SEQUENCE"], str(moved["STATUS"])) == ("giao-ban@vmeeting", 3, "CONFIRMED")
    for event in (master, moved):
        assert (str(event["LOCATION"]), str(event["DESCRIPTION"])) == ("UBND tỉnh Lạng Sơn, Số 1 Hoàng Văn Thụ", "x")
    assert len(attendees(moved)) == 2 and len(moved.walk("VALARM")) == 1
    assert len(attendees(master)) == 2 and len(master.walk("VALARM")) == 1


def test_a_cancelled_series_is_its_master_alone_without_exdates(config_app, meeting, people):
    meeting.recurrence = "FREQ=WEEKLY;COUNT=3"
    sittings = [sitting(0), sitting(7, status="cancelled"), sitting(14, moved_hours=3)]
    _, events = read(ical.invite_calendar(meeting, sittings, "CANCEL", people[1], people, description="x"))
    (master,) = events
    assert str(master["STATUS"]) == "CANCELLED" and "EXDATE" not in master and "RRULE" in master
    assert master.walk("VALARM") == []


def test_a_series_without_skipped_sittings_has_no_exdate(config_app, meeting, people):
    meeting.recurrence = "FREQ=WEEKLY;COUNT=2"
    _, (master,) = read(ical.invite_calendar(meeting, [sitting(0), sitting(7)], "REQUEST", people[1], [],
                                             description="x"))
    assert "EXDATE" not in master


def test_one_sitting_cancelled_names_it_by_its_original_start(config_app, meeting, people):
    moved = sitting(14, moved_hours=30)
    cal, (event,) = read(ical.sitting_cancel_calendar(meeting, moved, people[0], people, description="Hủy buổi",
                                                      stamp=STAMP))
    assert str(cal["METHOD"]) == "CANCEL" and [c.name for c in cal.subcomponents] == ["VTIMEZONE", "VEVENT"]
    assert event.decoded("RECURRENCE-ID") == local(moved.original_starts_at)
    assert event.decoded("DTSTART") == local(moved.starts_at) and event.decoded("DTEND") == local(moved.ends_at)
    assert (str(event["STATUS"]), str(event["UID"]), event["SEQUENCE"]) == ("CANCELLED", "giao-ban@vmeeting", 3)
    assert (str(event["LOCATION"]), str(event["DESCRIPTION"])) == ("UBND xã Mai Sao", "Hủy buổi")
    assert event.decoded("DTSTAMP") == STAMP
    assert [(a, p["PARTSTAT"], p["RSVP"]) for a, p in attendees(event)] == [
        ("mailto:ktv@example.vn", "NEEDS-ACTION", "FALSE"), ("mailto:khach@example.com", "NEEDS-ACTION", "FALSE")]
    assert event.walk("VALARM") == []
    _, (event,) = read(ical.sitting_cancel_calendar(meeting, moved, people[1], [], description="x"))
    assert abs(event.decoded("DTSTAMP") - datetime.now(UTC)) < timedelta(minutes=1)
    assert str(event["LOCATION"]) == "UBND tỉnh Lạng Sơn, Số 1 Hoàng Văn Thụ"  # no site of their own: the chair's


def test_a_download_publishes_without_attendees_and_reminds_participants(config_app, meeting):
    cal, (event,) = read(ical.publish_calendar(meeting, [sitting(0)], location="Phòng họp", description="Nội dung"))
    assert str(cal["METHOD"]) == "PUBLISH" and "ATTENDEE" not in event
    assert str(event["DESCRIPTION"]) == "Nội dung" and event.decoded("DTSTART") == local(START)
    assert str(event["LOCATION"]) == "Phòng họp" and str(event["STATUS"]) == "CONFIRMED"
    assert event.walk("VALARM")[0].decoded("TRIGGER") == timedelta(minutes=-15)
    meeting.is_cancelled = True
    _, (event,) = read(ical.publish_calendar(meeting, [sitting(0)], location="Phòng họp", description="x"))
    assert str(event["STATUS"]) == "CANCELLED" and event.walk("VALARM") == []


def test_a_feed_is_named_has_no_method_and_holds_every_entry(config_app, meeting):
    other = SimpleNamespace(**{**vars(meeting), "uid": "khac@vmeeting", "title": "Họp khác"})
    cal, events = read(ical.feed_calendar("Lịch họp xã Mai Sao", [(meeting, [sitting(0)], "Phòng 1", "a"),
                                                                 (other, [sitting(1)], "Phòng 2", "b")], stamp=STAMP))
    assert "METHOD" not in cal
    assert (str(cal["X-WR-CALNAME"]), str(cal["X-WR-TIMEZONE"])) == ("Lịch họp xã Mai Sao", "Asia/Ho_Chi_Minh")
    assert [(str(e["UID"]), str(e["LOCATION"]), str(e["DESCRIPTION"])) for e in events] == [
        ("giao-ban@vmeeting", "Phòng 1", "a"), ("khac@vmeeting", "Phòng 2", "b")]
    assert all(e.decoded("DTSTAMP") == STAMP for e in events)
    assert all(e.walk("VALARM")[0].decoded("TRIGGER") == timedelta(minutes=-15) for e in events)
    assert [c.name for c in cal.subcomponents].count("VTIMEZONE") == 1
