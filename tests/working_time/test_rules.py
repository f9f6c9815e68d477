"""The working calendar's rules with exact answers: day kinds and reasons, the edges of the hours,
the span a calendar reads, the years it answers for, and what a declaration records.

Dates are fixed (2027: Monday 1 March; Tết 04–10/02; Quốc khánh 02/09): these rules do not
depend on today, unlike booking, which refuses the past.
"""

from datetime import date, datetime, timedelta

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.working_time.dates import at
from vmeeting.audit.models import AuditEvent
from vmeeting.core.errors import ValidationError
from vmeeting.core.extensions import db
from vmeeting.working_time import service

MONDAY, SATURDAY, SUNDAY = date(2027, 3, 1), date(2027, 3, 6), date(2027, 3, 7)
OUTSIDE_HOURS = "ngoài giờ làm việc (07:30–11:30, 13:30–17:00)"


def test_what_the_calendar_says_of_each_kind_of_day(app):
    assert service.day_info(MONDAY) == service.DayInfo(MONDAY, True)
    assert service.day_info(MONDAY).reason == ""
    assert service.day_info(SATURDAY) == service.DayInfo(SATURDAY, False, "weekend")
    assert service.day_info(SATURDAY).reason == "Thứ Bảy"
    assert service.day_info(SUNDAY).reason == "Chủ Nhật"
    national_day = service.day_info(date(2027, 9, 2))
    assert (national_day.is_working, national_day.kind) == (False, "holiday")
    assert national_day.reason == national_day.name == service.public_holidays(2027)[date(2027, 9, 2)]
    service.declare_day({"date": SATURDAY, "kind": "working_day", "name": "Làm bù"})
    service.declare_day({"date": date(2027, 3, 5), "kind": "day_off", "name": "Nghỉ bù"})
    assert service.day_info(SATURDAY) == service.DayInfo(SATURDAY, True, "working_day", "Làm bù")
    assert service.day_info(SATURDAY).reason == ""
    assert service.day_info(date(2027, 3, 5)) == service.DayInfo(date(2027, 3, 5), False, "day_off", "Nghỉ bù")
    assert service.day_info(date(2027, 3, 5)).reason == "Nghỉ bù"


def test_holidays_count_from_the_first_to_the_last_year_the_calendar_knows(app):
    assert service.day_info(date(1999, 1, 1)).is_working  # Tết Dương lịch, but before FIRST_YEAR
    assert service.day_info(date(2000, 1, 3)).kind == "holiday"  # the first year: nghỉ bù of 1/1/2000
    assert service.day_info(date(2100, 1, 1)).kind == "holiday"  # the last year


# -- the edges of the working hours (07:30–11:30, 13:30–17:00) -------------------------------

@pytest.mark.parametrize("start, end, inside", [
    ((7, 30), (8, 30), True),     # starts at opening
    ((7, 29), (8, 30), False),    # a minute before
    ((11, 29), (11, 30), True),   # the last minute of the morning
    ((11, 30), (12, 0), False),   # starts as the morning block closes
    ((13, 29), (14, 0), False),
    ((13, 30), (14, 0), True),
    ((16, 0), (17, 0), True),     # ends at closing
    ((16, 0), (17, 1), False),    # a minute after
    ((16, 59), (17, 0), True),
    ((17, 0), (17, 30), False),
    ((8, 0), (17, 0), True),      # a full day through lunch
])
def test_the_edges_of_the_hours(app, start, end, inside):
    calendar = service.calendar_between(at(MONDAY, 0), at(MONDAY, 23))
    reason = calendar.reason_outside(at(MONDAY, *start), at(MONDAY, *end))
    assert reason == ("" if inside else OUTSIDE_HOURS)
    assert service.is_working_time(at(MONDAY, *start), at(MONDAY, *end)) is inside


def test_a_sitting_into_the_next_day_is_outside_and_a_rest_day_says_why(app):
    calendar = service.calendar_between(at(MONDAY, 0), at(MONDAY + timedelta(days=6), 23))
    assert calendar.reason_outside(at(MONDAY, 16), at(MONDAY + timedelta(days=1), 8)) == OUTSIDE_HOURS
    assert calendar.reason_outside(at(SATURDAY, 8), at(SATURDAY, 9)) == "Thứ Bảy, không phải ngày làm việc"


def test_an_instant_alone_is_working_time_inside_a_block(app):
    assert service.is_working_time(at(MONDAY, 7, 30)) is True
    assert service.is_working_time(at(MONDAY, 12)) is False
    assert service.is_working_time(at(SATURDAY, 9)) is False


def test_the_calendar_reads_a_day_of_margin_each_side(app):
    calendar = service.calendar_between(at(MONDAY, 0), at(MONDAY + timedelta(days=2), 23, 59))
    assert (calendar.first_day, calendar.last_day) == (MONDAY - timedelta(days=1), MONDAY + timedelta(days=3))
    assert list(calendar.working_days()) == [MONDAY + timedelta(days=d) for d in range(4)]
    assert service.WorkingCalendar(SATURDAY, SUNDAY + timedelta(days=1)).is_working_day(SUNDAY) is False
    assert list(service.WorkingCalendar(SATURDAY, SUNDAY + timedelta(days=1)).working_days()) == [
        SUNDAY + timedelta(days=1)]


@settings(max_examples=25, derandomize=True, database=None, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(after=st.dates(date(2026, 1, 1), date(2028, 12, 31)), count=st.integers(1, 70))
def test_next_working_days_are_the_first_working_days_after_the_day(app, after, count):
    days = service.next_working_days(after, count)
    expected, day = [], after
    while len(expected) < count:
        day += timedelta(days=1)
        if service.is_working_day(day):
            expected.append(day)
    assert days == expected


def test_the_hours_in_words_and_in_order(app):
    assert service.hours_text() == "07:30–11:30, 13:30–17:00"
    app.config["WORKING_HOURS"] = (("13:00", "17:00"), ("08:00", "12:00"))
    assert service.hours_text() == "08:00–12:00, 13:00–17:00"


# -- years and days as input ------------------------------------------------------------------

@pytest.mark.parametrize("year, good", [(2000, True), (2100, True), (1999, False), (2101, False),
                                        (True, False), ("2027", False), (2027.0, False)])
def test_the_years_the_calendar_answers_for(year, good):
    if good:
        assert service.check_year(year) is None
    else:
        with pytest.raises(ValidationError) as caught:
            service.check_year(year)
        assert caught.value.fields == {"year": "Năm từ 2000 đến 2100."}


@pytest.mark.parametrize("value, day", [("2027-03-06", date(2027, 3, 6)), (date(2000, 1, 1), date(2000, 1, 1)),
                                        ("2100-12-31", date(2100, 12, 31))])
def test_a_day_is_read_from_iso_text_or_a_date(value, day):
    assert service.parse_day(value) == day


@pytest.mark.parametrize("value", ["1999-12-31", "2101-01-01", "2027-3-6", "2027-03-06T08:00", "06/03/2027",
                                   "2027-02-30", None, 20270306, datetime(2027, 3, 6, 8)])
def test_a_bad_day_names_its_field(value):
    with pytest.raises(ValidationError) as caught:
        service.parse_day(value, field="day")
    assert caught.value.fields == {"day": "Ngày theo dạng YYYY-MM-DD, năm từ 2000 đến 2100."}


def test_the_year_lists_declared_days_over_the_holidays_by_date(app):
    service.declare_day({"date": "2027-03-06", "kind": "working_day", "name": "  Làm   bù "})
    service.declare_day({"date": "2027-01-02", "kind": "working_day", "name": "Làm bù đầu năm"})  # the year's first days
    service.declare_day({"date": "2027-12-31", "kind": "day_off", "name": "Nghỉ cuối năm"})  # and its last
    service.declare_day({"date": "2026-12-31", "kind": "day_off", "name": "Năm trước"})
    db.session.flush()
    items = service.year_items(2027)
    assert items == sorted(items, key=lambda item: item["date"])
    assert {"date": "2027-03-06", "name": "Làm bù", "kind": "working_day"} in items
    assert items[:2] == [{"date": "2027-01-01", "name": "Tết Dương lịch", "kind": "holiday"},
                         {"date": "2027-01-02", "name": "Làm bù đầu năm", "kind": "working_day"}]
    assert items[-1] == {"date": "2027-12-31", "name": "Nghỉ cuối năm", "kind": "day_off"}
    assert len(items) == len(service.public_holidays(2027)) + 3
    with pytest.raises(ValidationError):
        service.year_items(1999)


# -- declaring a day ----------------------------------------------------------------------------

@pytest.mark.parametrize("data, fields", [
    ({"date": "2027-03-08", "kind": "working_day", "name": "x"},
     {"date": "Ngày làm việc bù phải là Thứ Bảy hoặc Chủ Nhật."}),
    ({"date": "2027-03-07", "kind": "day_off", "name": "x"}, {"date": "Thứ Bảy, Chủ Nhật vốn đã là ngày nghỉ."}),
    ({"date": "2027-09-02", "kind": "day_off", "name": "x"}, {"date": "Ngày này đã là ngày lễ (Quốc khánh)."}),
    ({"date": "2027-03-06", "kind": "holiday", "name": "x"},
     {"kind": "Chọn «day_off» (ngày nghỉ) hoặc «working_day» (ngày làm việc bù)."}),
    ({"date": "2027-03-06", "kind": "working_day", "name": " "}, {"name": "Nhập tên, ví dụ «Nghỉ bù Quốc khánh»."}),
    ({"date": "2027-03-06", "kind": "working_day", "name": 7}, {"name": "Nhập tên, ví dụ «Nghỉ bù Quốc khánh»."}),
    ({"date": "2027-03-06", "kind": "working_day", "name": "x" * 201}, {"name": "Tên tối đa 200 ký tự."}),
    ({}, {"date": "Ngày theo dạng YYYY-MM-DD, năm từ 2000 đến 2100.",
          "kind": "Chọn «day_off» (ngày nghỉ) hoặc «working_day» (ngày làm việc bù).",
          "name": "Nhập tên, ví dụ «Nghỉ bù Quốc khánh»."}),
])
def test_a_bad_declaration_names_each_bad_field_with_its_reason(app, data, fields):
    with pytest.raises(ValidationError) as caught:
        service.declare_day(data)
    assert caught.value.fields == fields


def test_a_declaration_and_its_removal_are_kept_in_the_audit_trail(app, make_user):
    admin = make_user("admin")
    row = service.declare_day({"date": "2027-03-06", "kind": "working_day", "name": "x" * 200}, actor=admin)
    assert (row.day, row.kind, row.name, row.created_by_id) == (SATURDAY, "working_day", "x" * 200, admin.id)
    service.declare_day({"date": "2027-03-05", "kind": "day_off", "name": "Nghỉ bù"})
    removed = service.remove_day(date(2027, 3, 5), actor=admin)
    assert (removed.day, removed.kind) == (date(2027, 3, 5), "day_off")
    with pytest.raises(LookupError):
        service.remove_day("2027-03-05")
    events = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.entity_type == "declared_day")
                                .order_by(AuditEvent.id)).all()
    assert [(e.actor_id, e.action, e.entity_type, e.changes, e.summary) for e in events] == [
        (admin.id, "create", "declared_day", {"date": [None, "2027-03-06"], "kind": [None, "working_day"]},
         "Khai báo ngày làm việc bù 06/03/2027: " + "x" * 200),
        (None, "create", "declared_day", {"date": [None, "2027-03-05"], "kind": [None, "day_off"]},
         "Khai báo ngày nghỉ (nghỉ bù) 05/03/2027: Nghỉ bù"),
        (admin.id, "delete", "declared_day", {"date": ["2027-03-05", None], "kind": ["day_off", None]},
         "Xóa khai báo ngày nghỉ (nghỉ bù) 05/03/2027: Nghỉ bù"),
    ]


def test_holiday_names_follow_the_page_language(app):
    """The calendar shades holidays named in the page's language; the rules and mails keep Vietnamese."""
    from flask_babel import force_locale

    with app.test_request_context("/"):
        names = service.holiday_names_for_page(2027)
        with force_locale("en"):
            english = service.holiday_names_for_page(2027)
    assert names == service.public_holidays(2027) and names[date(2027, 9, 2)] == "Quốc khánh"
    assert english == service.public_holidays(2027, "en_US") and english[date(2027, 9, 2)] == "National Day"
    assert english.keys() == names.keys()
    with app.test_request_context("/"):
        assert service.holiday_names_for_page(2028) == service.public_holidays(2028) != names


def test_every_public_holiday_and_rest_day_reason_reads_in_english_on_an_english_page(app):
    """The reasons the calendar gives are Vietnamese (mails, the API); an English page says each in English."""
    from flask import session
    from flask_babel import refresh

    from vmeeting.core.text import Sentence, shown

    calendar = service.calendar_between(at(date(2027, 9, 1), 0), at(date(2027, 9, 6), 23))
    reasons = {day: calendar.reason_outside(at(day, 8), at(day, 9)) for day in (date(2027, 9, 2), SATURDAY)}
    reasons["hours"] = calendar.reason_outside(at(date(2027, 9, 1), 6), at(date(2027, 9, 1), 7))
    assert reasons == {date(2027, 9, 2): "Quốc khánh, không phải ngày làm việc",
                       SATURDAY: "Thứ Bảy, không phải ngày làm việc", "hours": OUTSIDE_HOURS}
    assert all(isinstance(reason, Sentence) for reason in reasons.values())
    names = {name: english for year in range(service.FIRST_YEAR, service.LAST_YEAR + 1)
             for day, name in service.public_holidays(year).items()
             for english in [service.public_holidays(year, "en_US")[day]]}
    with app.test_request_context():
        session["lang"] = "en"
        refresh()  # the test app context may hold a locale read before
        assert [shown(reason) for reason in reasons.values()] == [
            "National Day, not a working day", "Saturday, not a working day",
            "outside working hours (07:30–11:30, 13:30–17:00)"]
        for name, english in names.items():
            sentence = service.holiday_sentence(name)
            assert sentence == name
            if name.startswith("Ngày nghỉ (thay cho ngày "):  # the day it swaps with stays dd/mm/yyyy
                assert shown(sentence) == f"Day off (substituted from {name[-11:-1]})", name
            else:
                assert shown(sentence) == english, name
    with app.test_request_context():
        session["lang"] = "vi"
        refresh()  # flask_babel keeps the locale it read on the app context, which outlives a request context
        assert shown(reasons[date(2027, 9, 2)]) == "Quốc khánh, không phải ngày làm việc"
