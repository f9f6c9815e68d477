"""The roll-call rules called directly: who may mark, what a mark may say, the report's period."""

from datetime import datetime, timedelta, timezone

import pytest

import sqlalchemy as sa

from tests.booking.reservations import store
from tests.config_only import config_app  # noqa: F401 (the fixture)
from vmeeting.attendance import service
from vmeeting.attendance.models import Attendance
from vmeeting.core.errors import Conflict, NotFound, ValidationError
from vmeeting.core.extensions import db

ABSENT_NEEDS_REASON = "Vắng mặt cần ghi lý do (ví dụ: mất kết nối, không có người dự, thiết bị hỏng)."
BAD_STATUS = "Chọn có mặt (present), đến muộn (late) hoặc vắng (absent)."
BAD_BOUND = "Dùng ngày YYYY-MM-DD hoặc thời điểm ISO 8601 có múi giờ."


def refused(data):
    with pytest.raises(ValidationError) as caught:
        service.validate_mark(data)
    return caught.value.fields


# -- what a mark may say ---------------------------------------------------------------------


@pytest.mark.parametrize("data, expected", [
    ({"status": "present"}, ("present", "")),
    ({"status": "late", "reason": None}, ("late", "")),
    ({"status": "late", "reason": "  đường   truyền\tchậm \n"}, ("late", "đường truyền chậm")),
    ({"status": "absent", "reason": "Mất điện"}, ("absent", "Mất điện")),
    ({"status": "absent", "reason": "x" * service.REASON_MAX}, ("absent", "x" * service.REASON_MAX)),
])
def test_a_good_mark_comes_back_with_its_reason_tidied(config_app, data, expected):
    assert service.validate_mark(data) == expected


@pytest.mark.parametrize("data, fields", [
    ([], {"body": "Cần một đối tượng JSON."}),
    ({}, {"status": BAD_STATUS}),
    ({"status": "PRESENT"}, {"status": BAD_STATUS}),
    ({"status": "absent"}, {"reason": ABSENT_NEEDS_REASON}),
    ({"status": "absent", "reason": " \t "}, {"reason": ABSENT_NEEDS_REASON}),
    ({"status": "present", "reason": 5}, {"reason": "Lý do là văn bản."}),
    # a reason that is not text counts as none: absent says so
    ({"status": "absent", "reason": ["Mất điện"]}, {"reason": ABSENT_NEEDS_REASON}),
    ({"status": "present", "reason": "x" * (service.REASON_MAX + 1)},
     {"reason": f"Lý do dài tối đa {service.REASON_MAX} ký tự."}),
    ({"status": "gone", "reason": "x" * (service.REASON_MAX + 1)},
     {"status": BAD_STATUS, "reason": f"Lý do dài tối đa {service.REASON_MAX} ký tự."}),
])
def test_a_bad_mark_names_every_bad_field(config_app, data, fields):
    assert refused(data) == fields


# -- the report's period ---------------------------------------------------------------------


def utc(*parts):
    return datetime(*parts, tzinfo=timezone.utc)


def test_days_are_local_days_and_to_includes_its_day(config_app):
    assert service.report_period({"from": "2026-03-01", "to": "2026-03-31"}) == (
        utc(2026, 2, 28, 17), utc(2026, 3, 31, 17))
    assert service.report_period({"from": "2026-03-02", "to": "2026-03-02"}) == (
        utc(2026, 3, 1, 17), utc(2026, 3, 2, 17))


def test_instants_keep_their_offset(config_app):
    assert service.report_period({"from": "2026-03-02T08:00:00+07:00", "to": "2026-03-02T10:30:00Z"}) == (
        utc(2026, 3, 2, 1), utc(2026, 3, 2, 10, 30))


def test_by_default_the_last_thirty_days_up_to_the_end_of_today(config_app):
    window_from, window_to = service.report_period({})
    local_now = datetime.now(timezone(timedelta(hours=7)))
    tomorrow = (local_now + timedelta(days=1)).date()
    assert window_to == datetime(tomorrow.year, tomorrow.month, tomorrow.day, tzinfo=timezone(timedelta(hours=7)))
    assert window_to - window_from == timedelta(days=30)
    assert service.report_period({"to": "2026-03-31"}) == (utc(2026, 3, 1, 17), utc(2026, 3, 31, 17))
    assert service.report_period({"from": "", "to": ""})[1] == window_to


def test_the_period_is_at_most_the_report_limit(config_app):
    longest = service.MAX_REPORT_DAYS
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    fits = {"from": start.isoformat(), "to": (start + timedelta(days=longest)).isoformat()}
    assert service.report_period(fits) == (start, start + timedelta(days=longest))
    too_long = {"from": start.isoformat(), "to": (start + timedelta(days=longest, seconds=1)).isoformat()}
    with pytest.raises(ValidationError) as caught:
        service.report_period(too_long)
    assert caught.value.fields == {"to": f"Khoảng thời gian tối đa {longest} ngày."}


@pytest.mark.parametrize("args", [
    {"from": "2026-03-02", "to": "2026-03-01"},
    {"from": "2026-03-02T08:00:00+07:00", "to": "2026-03-02T01:00:00Z"},
])
def test_to_must_come_after_from(config_app, args):
    with pytest.raises(ValidationError) as caught:
        service.report_period(args)
    assert caught.value.fields == {"to": "Phải sau «from»."}


@pytest.mark.parametrize("args, fields", [
    ({"from": "02/03/2026"}, {"from": BAD_BOUND}),
    ({"to": "2026-13-01"}, {"to": BAD_BOUND}),
    ({"from": "2026-03-02T08:00:00", "to": "hôm qua"}, {"from": BAD_BOUND, "to": BAD_BOUND}),
])
def test_a_bad_bound_is_named(config_app, args, fields):
    with pytest.raises(ValidationError) as caught:
        service.report_period(args)
    assert caught.value.fields == fields


# -- who may mark ----------------------------------------------------------------------------


def test_who_may_mark_a_sitting(roll, make_user):
    meeting = roll.meeting
    for user, allowed in [(roll.organizer, True), (roll.chair_tech, True), (roll.other_tech, False),
                          (make_user("admin"), True), (make_user("scheduler"), True),
                          (make_user("technician"), False), (make_user("viewer"), False)]:
        assert service.may_mark(user, meeting) is allowed, user.role
        if allowed:
            assert service.require_mark(user, meeting) is None
        else:
            with pytest.raises(service.NotAllowed) as caught:
                service.require_mark(user, meeting)
            assert caught.value.code == 403


def test_a_technician_who_organized_the_meeting_may_mark_a_viewer_may_not(roll, make_user):
    meeting = roll.meeting
    technician, viewer = make_user("technician"), make_user("viewer")
    meeting.organizer_id = technician.id
    db.session.flush()
    assert service.may_mark(technician, meeting) is True
    meeting.organizer_id = viewer.id
    assert service.may_mark(viewer, meeting) is False


def test_a_chair_without_a_technician_lets_no_technician_mark(roll, make_user):
    roll.hall.technician_id = None
    db.session.flush()
    assert service.may_mark(roll.chair_tech, roll.meeting) is False
    roll.chair_tech.is_enabled = False
    roll.hall.technician_id = roll.chair_tech.id
    assert service.may_mark(roll.chair_tech, roll.meeting) is False


# -- marking -----------------------------------------------------------------------------------


def setup_opens(roll):
    return roll.occurrence.starts_at - timedelta(minutes=roll.meeting.setup_minutes)


def test_a_mark_is_kept_once_per_site_and_sitting_with_who_and_when(roll):
    site, opens = roll.communes[1], setup_opens(roll)
    row = service.mark(roll.occurrence, site.id, roll.chair_tech, {"status": "late", "reason": " mạng  chậm "}, opens)
    assert (row.occurrence_id, row.endpoint_id, row.status, row.reason, row.marked_by_id, row.marked_at) == (
        roll.occurrence.id, site.id, "late", "mạng chậm", roll.chair_tech.id, opens)
    later = opens + timedelta(hours=5)
    again = service.mark(roll.occurrence, site.id, roll.organizer, {"status": "present"}, later)
    assert again.id == row.id
    assert (again.status, again.reason, again.marked_by_id, again.marked_at) == ("present", "", roll.organizer.id, later)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Attendance)) == 1


def test_the_roll_opens_with_the_set_up_window(roll):
    site, opens = roll.communes[1], setup_opens(roll)
    with pytest.raises(Conflict) as caught:
        service.mark(roll.occurrence, site.id, roll.organizer, {"status": "present"}, opens - timedelta(seconds=1))
    assert caught.value.message == "Chưa đến giờ họp: điểm danh trong hoặc sau buổi họp."
    assert service.mark(roll.occurrence, site.id, roll.organizer, {"status": "present"}).status == "present"


def test_no_roll_for_a_cancelled_sitting_or_meeting(roll):
    site, now = roll.communes[1], setup_opens(roll) + timedelta(minutes=5)
    roll.occurrence.status = "cancelled"
    with pytest.raises(Conflict) as caught:
        service.mark(roll.occurrence, site.id, roll.organizer, {"status": "present"}, now)
    assert caught.value.message == "Buổi họp đã bị hủy."
    roll.occurrence.status, roll.meeting.status = "scheduled", "cancelled"
    with pytest.raises(Conflict):
        service.mark(roll.occurrence, site.id, roll.organizer, {"status": "present"}, now)


def test_who_then_what_then_where(roll, make_user):
    """The checks come in order: the right to mark, the mark itself, the site in the sitting."""
    stranger, now = make_user("technician"), setup_opens(roll)
    outside = roll.hall.id + 1000
    with pytest.raises(service.NotAllowed):
        service.mark(roll.occurrence, outside, stranger, {"status": "gone"}, now)
    with pytest.raises(ValidationError):
        service.mark(roll.occurrence, outside, roll.organizer, {"status": "gone"}, now)
    with pytest.raises(NotFound) as caught:
        service.mark(roll.occurrence, outside, roll.organizer, {"status": "present"}, now)
    assert str(caught.value) == "Điểm cầu không tham dự buổi họp này."


def test_a_site_booked_in_another_meeting_is_not_in_this_roll(roll, make_endpoint):
    elsewhere = make_endpoint()
    store(elsewhere, 0, 60)
    with pytest.raises(NotFound):
        service.mark(roll.occurrence, elsewhere.id, roll.organizer, {"status": "present"}, setup_opens(roll))
