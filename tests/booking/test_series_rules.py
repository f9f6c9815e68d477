"""Series rules with exact answers: the RRULE as stored, each refusal's words, the limits of a
series, and a series in words (every pattern) with its short-month warning.

Times are fixed (Monday 1 March 2027, 08:00 in Asia/Ho_Chi_Minh = 01:00 UTC): these rules do
not look at today.
"""

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from tests.config_only import config_app  # noqa: F401 (the fixture)
from vmeeting.booking import series
from vmeeting.core.errors import ValidationError

VN = ZoneInfo("Asia/Ho_Chi_Minh")
START = datetime(2027, 3, 1, 8, tzinfo=VN)  # a Monday
UTC = timezone.utc


# -- the rule as stored ------------------------------------------------------------------------

@pytest.mark.parametrize("text, stored", [
    ("FREQ=WEEKLY;COUNT=3", "FREQ=WEEKLY;COUNT=3"),
    ("rrule:freq=weekly;byday=mo,we;count=3", "FREQ=WEEKLY;BYDAY=MO,WE;COUNT=3"),
    ("RRULE:FREQ=DAILY;COUNT=2", "FREQ=DAILY;COUNT=2"),
    ("  FREQ = daily ; COUNT= 2 ;; ", "FREQ=DAILY;COUNT=2"),
    ("FREQ=DAILY;INTERVAL=99;COUNT=2", "FREQ=DAILY;INTERVAL=99;COUNT=2"),
    ("FREQ=DAILY;INTERVAL=1;COUNT=2", "FREQ=DAILY;INTERVAL=1;COUNT=2"),
    # UNTIL in UTC: a bare date is the end of that local day, a floating time is local, Z stays
    ("FREQ=DAILY;UNTIL=20270305", "FREQ=DAILY;UNTIL=20270305T165959Z"),
    ("FREQ=DAILY;until=20270305t080000", "FREQ=DAILY;UNTIL=20270305T010000Z"),
    ("FREQ=DAILY;UNTIL=20270305T080000Z", "FREQ=DAILY;UNTIL=20270305T080000Z"),
    ("FREQ=MONTHLY;BYMONTHDAY=-1;COUNT=4", "FREQ=MONTHLY;BYMONTHDAY=-1;COUNT=4"),
    ("FREQ=YEARLY;COUNT=2", "FREQ=YEARLY;COUNT=2"),
])
def test_a_rule_is_stored_in_upper_case_without_its_prefix_and_until_in_utc(config_app, text, stored):
    assert series.normalize_rrule(text, START) == stored


ONE_LINE = "Quy tắc lặp (RRULE) chỉ gồm một dòng FREQ=…;…, không kèm EXDATE, RDATE hay dòng khác."
ONCE = "Mỗi phần của quy tắc lặp (RRULE) chỉ được ghi một lần (RFC 5545, mục 3.3.10)."
INTERVAL = "INTERVAL phải là số nguyên từ 1 đến 99."
FREQUENCY = "Chỉ hỗ trợ lặp hằng ngày, hằng tuần, hằng tháng hoặc hằng năm."
END = "Lịch lặp cần ngày kết thúc (UNTIL) hoặc số lần (COUNT)."
ONE_A_DAY = ("Một chuỗi họp chỉ họp một buổi mỗi ngày, vào giờ của cuộc họp; "
             "không dùng BYHOUR, BYMINUTE hay BYSECOND.")
UNTIL = "UNTIL phải có dạng YYYYMMDD hoặc YYYYMMDDTHHMMSSZ."


@pytest.mark.parametrize("text, message", [
    ("FREQ=DAILY;COUNT=2\nEXDATE:20270302T080000", ONE_LINE),
    ("FREQ=DAILY;COUNT=2\rRDATE", ONE_LINE),
    ("FREQ=DAILY;COUNT=2;RRULE:FREQ=WEEKLY", ONE_LINE),
    ("FREQ=DAILY;COUNT=2;COUNT=3", ONCE),
    ("FREQ=DAILY;COUNT=2;freq=weekly", ONCE),
    ("FREQ=DAILY;INTERVAL=0;COUNT=2", INTERVAL),
    ("FREQ=DAILY;INTERVAL=100;COUNT=2", INTERVAL),
    ("FREQ=DAILY;INTERVAL=-1;COUNT=2", INTERVAL),
    ("FREQ=DAILY;INTERVAL=x;COUNT=2", INTERVAL),
    ("FREQ=DAILY;INTERVAL=٣;COUNT=2", INTERVAL),  # an Arabic-Indic three: a digit, not ASCII
    ("FREQ=HOURLY;COUNT=2", FREQUENCY),
    ("FREQ=MINUTELY;COUNT=2", FREQUENCY),
    ("FREQ=SECONDLY;COUNT=2", FREQUENCY),
    ("FREQ=WEEKLY", END),
    ("FREQ=WEEKLY;BYDAY=MO", END),
    ("FREQ=DAILY;COUNT=2;BYHOUR=9", ONE_A_DAY),
    ("FREQ=DAILY;COUNT=2;BYMINUTE=30", ONE_A_DAY),
    ("FREQ=DAILY;COUNT=2;BYSECOND=5", ONE_A_DAY),
    ("FREQ=DAILY;UNTIL=2027-03-05", UNTIL),
    ("FREQ=DAILY;UNTIL=20270305T080000X", UNTIL),
    ("FREQ=DAILY;UNTIL=2027030", UNTIL),
    ("FREQ=DAILY;COUNT=2;INTERVAL=5=5", INTERVAL),  # the value is all after the first "="
    ("FREQ=DAILY;UNTIL=20271305", UNTIL),
])
def test_each_refusal_says_what_is_wrong(config_app, text, message):
    with pytest.raises(ValueError) as caught:
        series.normalize_rrule(text, START)
    assert str(caught.value) == message


@pytest.mark.parametrize("text", ["FREQ=SOMETIMES;COUNT=2", "FREQ=DAILY;COUNT=two", "FREQ=WEEKLY;BYDAY=XX;COUNT=2",
                                  "FREQ=WEEKLY;COUNT=2;BYDAY=MO=TU"])
def test_a_rule_dateutil_cannot_read_is_refused_with_its_reason(config_app, text):
    with pytest.raises(ValueError) as caught:
        series.normalize_rrule(text, START)
    assert str(caught.value).startswith("Quy tắc lặp (RRULE) không hợp lệ: ")
    assert str(caught.value) != "Quy tắc lặp (RRULE) không hợp lệ: "


def test_until_is_written_in_utc_whatever_the_server_zone(config_app, monkeypatch):
    """The rule reads the configured zone, never the server's own (TZ)."""
    import time

    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    try:
        assert series.normalize_rrule("FREQ=DAILY;UNTIL=20270305T080000", START) == "FREQ=DAILY;UNTIL=20270305T010000Z"
        assert series.normalize_rrule("FREQ=DAILY;UNTIL=20270305", START) == "FREQ=DAILY;UNTIL=20270305T165959Z"
    finally:
        monkeypatch.undo()
        time.tzset()


# -- laying out the sittings -------------------------------------------------------------------

def test_a_single_meeting_is_its_own_one_sitting(config_app):
    ends = START + timedelta(hours=2)
    assert series.expand_series(START, ends, None) == [(START, START, ends)]
    assert series.expand_series(START, ends, "") == [(START, START, ends)]


def test_a_series_runs_on_local_wall_clock_time_and_keeps_the_length(config_app):
    starts_at, ends_at = START.astimezone(UTC), (START + timedelta(minutes=90)).astimezone(UTC)
    found = series.expand_series(starts_at, ends_at, "FREQ=WEEKLY;BYDAY=MO,TH;COUNT=3")
    first = datetime(2027, 3, 1, 1, tzinfo=UTC)
    expected = [first, first + timedelta(days=3), first + timedelta(days=7)]
    assert found == [(s, s, s + timedelta(minutes=90)) for s in expected]
    assert all(s.tzinfo == UTC for s, _, _ in found)


def test_a_late_evening_series_keeps_its_local_day(config_app):
    late = datetime(2027, 3, 1, 23, 30, tzinfo=VN)  # 16:30 UTC
    found = series.expand_series(late, late + timedelta(minutes=20), "FREQ=DAILY;COUNT=2")
    assert [s for s, _, _ in found] == [datetime(2027, 3, 1, 16, 30, tzinfo=UTC), datetime(2027, 3, 2, 16, 30, tzinfo=UTC)]


LIMIT = {"recurrence": "Lịch lặp tối đa 520 lần và 2 năm."}


def test_a_series_holds_at_most_520_sittings(config_app):
    assert len(series.expand_series(START, START + timedelta(hours=1), "FREQ=DAILY;COUNT=520")) == 520
    with pytest.raises(ValidationError) as caught:
        series.expand_series(START, START + timedelta(hours=1), "FREQ=DAILY;COUNT=521")
    assert caught.value.fields == LIMIT


def test_a_series_spans_at_most_two_years_to_the_day(config_app):
    last = series.expand_series(START, START + timedelta(hours=1), "FREQ=DAILY;INTERVAL=732;COUNT=2")[-1][0]
    assert last == START + timedelta(days=732)
    with pytest.raises(ValidationError) as caught:
        series.expand_series(START, START + timedelta(hours=1), "FREQ=DAILY;INTERVAL=733;COUNT=2")
    assert caught.value.fields == LIMIT


def test_a_rule_that_gives_no_sitting_is_refused(config_app):
    with pytest.raises(ValidationError) as caught:
        series.expand_series(START, START + timedelta(hours=1), "FREQ=DAILY;UNTIL=20000101T000000Z")
    assert caught.value.fields == {"recurrence": "Quy tắc lặp không cho buổi họp nào."}


# -- a series in words -------------------------------------------------------------------------

def test_rule_parts_reads_keys_and_values_in_upper_case():
    assert series.rule_parts(" rrule:freq=weekly;byday=mo,fr;junk;interval=2 ") == {
        "FREQ": "WEEKLY", "BYDAY": "MO,FR", "INTERVAL": "2"}
    assert series.rule_parts("FREQ=DAILY;X-NOTE=A=B") == {"FREQ": "DAILY", "X-NOTE": "A=B"}
    assert series.rule_parts("FREQ=MONTHLY;BYDAY=1MO") == {"FREQ": "MONTHLY", "BYDAY": "1MO"}


def sittings(*days):
    return [datetime(2027, 3, d, 1, tzinfo=UTC) for d in days]  # 08:00 local


@pytest.mark.parametrize("rule, words", [
    ("FREQ=DAILY;COUNT=3", "Hằng ngày"),
    ("FREQ=DAILY;INTERVAL=2;COUNT=3", "2 ngày một lần"),
    ("FREQ=WEEKLY;COUNT=3", "Hằng tuần vào Thứ Hai"),
    ("FREQ=WEEKLY;BYDAY=MO,FR;COUNT=3", "Hằng tuần vào Thứ Hai, Thứ Sáu"),
    ("FREQ=WEEKLY;INTERVAL=2;BYDAY=TU;COUNT=3", "2 tuần một lần vào Thứ Ba"),
    ("FREQ=WEEKLY;INTERVAL=3;COUNT=3", "3 tuần một lần vào Thứ Hai"),
    ("FREQ=MONTHLY;COUNT=3", "Hằng tháng vào ngày 1"),
    ("FREQ=MONTHLY;BYMONTHDAY=15;COUNT=3", "Hằng tháng vào ngày 15"),
    ("FREQ=MONTHLY;INTERVAL=3;BYMONTHDAY=15;COUNT=3", "3 tháng một lần vào ngày 15"),
    ("FREQ=MONTHLY;BYMONTHDAY=-1;COUNT=3", "Hằng tháng vào ngày cuối tháng"),
    ("FREQ=MONTHLY;INTERVAL=2;BYMONTHDAY=-1;COUNT=3", "2 tháng một lần vào ngày cuối tháng"),
    ("FREQ=MONTHLY;BYDAY=1MO;COUNT=3", "Hằng tháng vào Thứ Hai đầu tiên"),
    ("FREQ=MONTHLY;BYDAY=2TU;COUNT=3", "Hằng tháng vào Thứ Ba thứ hai"),
    ("FREQ=MONTHLY;BYDAY=3WE;COUNT=3", "Hằng tháng vào Thứ Tư thứ ba"),
    ("FREQ=MONTHLY;BYDAY=4TH;COUNT=3", "Hằng tháng vào Thứ Năm thứ tư"),
    ("FREQ=MONTHLY;BYDAY=-1FR;COUNT=3", "Hằng tháng vào Thứ Sáu cuối cùng"),
    ("FREQ=MONTHLY;BYDAY=-1SU;COUNT=3", "Hằng tháng vào Chủ Nhật cuối cùng"),
    ("FREQ=MONTHLY;BYDAY=-1SA;COUNT=3", "Hằng tháng vào Thứ Bảy cuối cùng"),
    ("FREQ=MONTHLY;BYDAY=5MO;COUNT=3", "Lặp lại mỗi tháng, theo quy tắc riêng"),  # no words for a fifth Monday
    ("FREQ=MONTHLY;BYDAY=MO,TU;COUNT=3", "Lặp lại mỗi tháng, theo quy tắc riêng"),
    ("FREQ=YEARLY;COUNT=3", "Hằng năm vào ngày 01/03"),
    ("FREQ=HOURLY;COUNT=3", "Lặp lại"),
    ("COUNT=3", "Lặp lại"),
    ("FREQ=WEEKLY;BYDAY=ZZ;COUNT=3", "Lặp lại"),
    ("FREQ=WEEKLY;INTERVAL=x;COUNT=3", "Lặp lại"),
    ("FREQ=DAILY;INTERVAL=2=2;COUNT=3", "Lặp lại"),
    ("FREQ=DAILY;X-NOTE=A=B;COUNT=3", "Hằng ngày"),
    ("FREQ=MONTHLY;BYMONTHDAY=-2;COUNT=3", "Lặp lại mỗi tháng, theo quy tắc riêng"),
    ("FREQ=MONTHLY;BYMONTHDAY=1,15;COUNT=3", "Lặp lại mỗi tháng, theo quy tắc riêng"),
    # BYSETPOS, BYWEEKNO, BYHOUR and their kin: how often, never "on day N" of the first sitting
    ("FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1;COUNT=3", "Hằng tháng vào ngày làm việc cuối cùng của tháng"),
    ("FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=1;COUNT=3", "Hằng tháng vào ngày làm việc đầu tiên của tháng"),
    ("FREQ=MONTHLY;INTERVAL=2;BYDAY=TU,TH;BYSETPOS=2;COUNT=3", "Lặp lại 2 tháng một lần, theo quy tắc riêng"),
    ("FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=2;COUNT=3", "Lặp lại mỗi tháng, theo quy tắc riêng"),
    ("FREQ=YEARLY;BYWEEKNO=20;BYDAY=MO;COUNT=3", "Lặp lại mỗi năm, theo quy tắc riêng"),
    ("FREQ=YEARLY;INTERVAL=2;BYWEEKNO=20;COUNT=3", "Lặp lại 2 năm một lần, theo quy tắc riêng"),
    ("FREQ=YEARLY;BYMONTH=3;BYDAY=1MO;COUNT=3", "Lặp lại mỗi năm, theo quy tắc riêng"),
    ("FREQ=WEEKLY;BYDAY=MO;BYHOUR=8,14;COUNT=3", "Lặp lại mỗi tuần, theo quy tắc riêng"),
    ("FREQ=WEEKLY;INTERVAL=2;BYHOUR=8;COUNT=3", "Lặp lại 2 tuần một lần, theo quy tắc riêng"),
    ("FREQ=WEEKLY;BYDAY=MO,FR;BYSETPOS=1;COUNT=3", "Lặp lại mỗi tuần, theo quy tắc riêng"),
    ("FREQ=DAILY;BYSETPOS=1;COUNT=3", "Lặp lại mỗi ngày, theo quy tắc riêng"),
    ("FREQ=DAILY;INTERVAL=3;BYHOUR=8;COUNT=3", "Lặp lại 3 ngày một lần, theo quy tắc riêng"),
    ("FREQ=MONTHLY;BYHOUR=8;COUNT=3", "Lặp lại mỗi tháng, theo quy tắc riêng"),
    ("FREQ=MONTHLY;INTERVAL=4;BYMINUTE=5;COUNT=3", "Lặp lại 4 tháng một lần, theo quy tắc riêng"),
])
def test_every_pattern_in_words(config_app, rule, words):
    assert series.describe_series(rule, sittings(15, 1, 8)) == f"{words}, 3 buổi (01/03/2027 – 15/03/2027)"


def test_a_series_in_words_counts_what_takes_place_in_local_days(config_app):
    assert series.describe_series("", sittings(1)) == ""
    assert series.describe_series(None, sittings(1)) == ""
    assert series.describe_series("FREQ=DAILY;COUNT=1", sittings(1)) == "Hằng ngày, 1 buổi (01/03/2027 – 01/03/2027)"
    late = [datetime(2027, 3, 1, 17, 30, tzinfo=UTC), datetime(2027, 3, 2, 16, 59, tzinfo=UTC)]
    assert series.describe_series("FREQ=DAILY;COUNT=2", late) == "Hằng ngày, 2 buổi (02/03/2027 – 02/03/2027)"
    assert series.describe_series("FREQ=DAILY;COUNT=3", []) == "Hằng ngày"


def test_a_series_without_sittings_is_described_from_today_in_the_configured_zone(config_app, monkeypatch):
    """A weekly rule without BYDAY is on today's weekday, Vietnamese time, whatever the server's TZ."""
    import time

    today = datetime.now(VN)
    # a server zone whose date is not Vietnam's at this moment
    monkeypatch.setenv("TZ", "Etc/GMT+12" if today.hour < 19 else "Etc/GMT-14")
    time.tzset()
    try:
        words = series.describe_series("FREQ=WEEKLY;COUNT=3", [])
    finally:
        monkeypatch.undo()
        time.tzset()
    names = ("Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy", "Chủ Nhật")
    assert words in {f"Hằng tuần vào {names[today.weekday()]}", f"Hằng tuần vào {names[datetime.now(VN).weekday()]}"}


@pytest.mark.parametrize("rule, starts_at, day", [
    ("FREQ=MONTHLY;COUNT=6", datetime(2027, 1, 31, 8, tzinfo=VN), 31),
    ("FREQ=MONTHLY;COUNT=6", datetime(2027, 1, 29, 8, tzinfo=VN), 29),
    ("FREQ=MONTHLY;COUNT=6", datetime(2027, 1, 28, 8, tzinfo=VN), None),
    ("FREQ=MONTHLY;COUNT=6", datetime(2027, 1, 30, 18, tzinfo=UTC), 31),  # 31/01 01:00 local
    ("FREQ=MONTHLY;BYMONTHDAY=30;COUNT=6", START, 30),
    ("FREQ=MONTHLY;BYMONTHDAY=28;COUNT=6", datetime(2027, 1, 31, 8, tzinfo=VN), None),
    ("FREQ=MONTHLY;BYMONTHDAY=-1;COUNT=6", datetime(2027, 1, 31, 8, tzinfo=VN), None),
    ("FREQ=MONTHLY;BYMONTHDAY=-3;COUNT=6", datetime(2027, 1, 29, 8, tzinfo=VN), None),
    ("FREQ=MONTHLY;BYDAY=-1FR;COUNT=6", datetime(2027, 1, 29, 8, tzinfo=VN), None),
    ("FREQ=MONTHLY;BYSETPOS=-1;BYDAY=MO,TU;COUNT=6", datetime(2027, 1, 29, 8, tzinfo=VN), None),
    # the last of the 28th-31st each month: BYSETPOS finds one in every month
    ("FREQ=MONTHLY;BYMONTHDAY=28,29,30,31;BYSETPOS=-1;COUNT=6", datetime(2027, 1, 31, 8, tzinfo=VN), None),
    ("FREQ=WEEKLY;COUNT=6", datetime(2027, 1, 31, 8, tzinfo=VN), None),
    ("FREQ=YEARLY;COUNT=6", datetime(2027, 1, 31, 8, tzinfo=VN), None),
    ("", datetime(2027, 1, 31, 8, tzinfo=VN), None),
])
def test_a_monthly_rule_past_the_28th_warns_of_the_short_months(config_app, rule, starts_at, day):
    expected = "" if day is None else (
        f"Tháng nào không có ngày {day} sẽ không họp (ví dụ tháng 2). Muốn họp mọi tháng, hãy chọn «ngày cuối tháng».")
    assert series.short_month_warning(rule, starts_at) == expected
