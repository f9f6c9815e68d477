"""Series, generated: the .ics we produce, expanded by recurring-ical-events, gives exactly our sittings.

Daily, weekly, monthly (the 29th to the 31st and the last day: months without them) and yearly
rules, near month-end and year-end, with sittings moved and cancelled; the calendar a program
reads (RRULE, EXDATE, RECURRENCE-ID in the meeting's zone) must hold the sittings the database
holds, no more, no fewer.
"""

from datetime import date, datetime, timedelta, timezone

import pytest
import recurring_ical_events
from dateutil.rrule import rrulestr
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from icalendar import Calendar

from tests.conftest import _empty_tables
from vmeeting.booking import service as booking
from vmeeting.booking.models import Meeting
from vmeeting.core.errors import ValidationError
from vmeeting.core.extensions import db
from vmeeting.invites import service
from vmeeting.registry import service as registry
from vmeeting.core.timefmt import local_zone

#: weekends and holidays are part of what is generated: booked as a deliberate choice
ANY_TIME = booking.BookingChoices(allow_non_working_time=True)
SUITE = settings(max_examples=25, derandomize=True, deadline=None, database=None,
                 suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

RULES = st.one_of(
    st.integers(1, 3).map(lambda n: f"FREQ=DAILY;INTERVAL={n}"),
    st.sampled_from(["MO", "TU,TH", "MO,WE,FR", "FR"]).map(lambda days: f"FREQ=WEEKLY;BYDAY={days}"),
    st.sampled_from(["29", "30", "31", "-1", "1,15"]).map(lambda day: f"FREQ=MONTHLY;BYMONTHDAY={day}"),
    st.just("FREQ=MONTHLY"),
    st.just("FREQ=YEARLY"),
)
#: the days around month-ends and the year-end of the next two years
DAYS = st.sampled_from([date(2027, 1, 28), date(2027, 2, 26), date(2027, 12, 27), date(2027, 12, 31),
                        date(2028, 2, 28), date(2028, 2, 29), date(2028, 4, 29), date(2028, 12, 30)])


def _site():
    unit = registry.save_unit(None, {"name": "Tỉnh Lạng Sơn", "kind": "tỉnh", "code": "20", "parent_id": None})
    endpoint = registry.create_endpoint({"code": "EP1", "name": "UBND tỉnh", "unit_id": unit.id,
                                        "sip_uri": "sip:ubnd@127.0.0.1:5060"})
    db.session.commit()
    return endpoint


def _expanded(ics, around):
    cal = Calendar.from_ical(ics)
    events = recurring_ical_events.of(cal).between(around[0] - timedelta(days=2), around[1] + timedelta(days=2))
    return sorted((e["DTSTART"].dt.astimezone(timezone.utc), e["DTEND"].dt.astimezone(timezone.utc)) for e in events)


@SUITE
@given(day=DAYS, hour=st.integers(8, 15), minutes=st.sampled_from([30, 60, 120]), rule=RULES,
       count=st.integers(1, 7), moves=st.lists(st.tuples(st.integers(0, 6), st.sampled_from([-60, 30, 90])),
                                               max_size=3),
       cancels=st.sets(st.integers(0, 6), max_size=3))
def test_the_downloaded_calendar_expands_to_the_stored_sittings(app, day, hour, minutes, rule, count, moves, cancels):
    try:
        endpoint = _site()
        count = min(count, 2) if "YEARLY" in rule else count  # a series spans two years at most
        if "YEARLY" in rule and (day.month, day.day) == (2, 29):
            count = 1  # the next 29 February is four years on
        # the series starts on its rule's first day (a start off the rule moves there: see below)
        near = datetime(day.year, day.month, day.day, hour, tzinfo=local_zone())
        starts_at = rrulestr(f"{rule};COUNT=1", dtstart=near)[0]
        choice = booking.resolve_sites(endpoint_ids=[endpoint.id], on_day=starts_at.date())
        meeting = booking.book_meeting({"title": "Giao ban", "starts_at": starts_at,
                                        "ends_at": starts_at + timedelta(minutes=minutes),
                                        "chair_endpoint_id": endpoint.id, "recurrence": f"{rule};COUNT={count}"},
                                       choice, choices=ANY_TIME)
        db.session.commit()
        sittings = list(meeting.occurrences)
        for index, shift in moves:
            if index < len(sittings) and sittings[index].status == "scheduled":
                sitting = sittings[index]
                booking.move_occurrence(sitting, sitting.starts_at + timedelta(minutes=shift),
                                        sitting.ends_at + timedelta(minutes=shift), choices=ANY_TIME)
                db.session.commit()
        for index in sorted(cancels):
            # always leave one sitting: cancelling the last one cancels the meeting, another promise
            if index < len(sittings) and sum(o.status == "scheduled" for o in sittings) > 1:
                booking.cancel_occurrence(sittings[index])
                db.session.commit()

        db.session.refresh(meeting)
        expected = sorted((o.starts_at, o.ends_at) for o in meeting.occurrences if o.status == "scheduled")
        around = (min(o.original_starts_at for o in meeting.occurrences),
                  max(o.ends_at for o in meeting.occurrences))
        assert _expanded(service.download_calendar(meeting), around) == expected
    finally:
        db.session.rollback()
        _empty_tables()


@pytest.mark.parametrize(("rule", "first"), [
    ("FREQ=MONTHLY;BYMONTHDAY=29;COUNT=3", date(2027, 1, 29)),
    ("FREQ=WEEKLY;BYDAY=FR;COUNT=2", date(2027, 1, 29)),
    ("FREQ=MONTHLY;BYMONTHDAY=-1;COUNT=2", date(2027, 1, 31)),
])
def test_a_series_whose_start_is_not_its_first_sitting_starts_on_its_first_sitting(app, rule, first):
    """RFC 5545 §3.8.5.3 leaves a DTSTART off its rule undefined (recurring-ical-events counts it as a
    sitting and COUNT on top of it, dateutil neither), so the series' start moves to its first sitting:
    what calendar programs show is what was booked."""
    endpoint = _site()
    starts_at = datetime(2027, 1, 28, 9, tzinfo=local_zone())  # a Thursday
    meeting = booking.book_meeting({"title": "Lệch", "starts_at": starts_at,
                                    "ends_at": starts_at + timedelta(hours=1),
                                    "chair_endpoint_id": endpoint.id, "recurrence": rule},
                                   booking.resolve_sites(endpoint_ids=[endpoint.id], on_day=starts_at.date()),
                                   choices=ANY_TIME)
    db.session.commit()
    assert meeting.starts_at.astimezone(local_zone()).date() == first
    expected = sorted((o.starts_at, o.ends_at) for o in meeting.occurrences)
    assert _expanded(service.download_calendar(meeting), (expected[0][0], expected[-1][1])) == expected


def test_the_series_rules_above_lay_out_what_dateutil_does_in_local_time(app):
    """The oracle's own footing: a monthly rule on the 31st skips the months without one, in local wall time."""
    endpoint = _site()
    starts_at = datetime(2027, 1, 31, 9, tzinfo=local_zone())
    meeting = booking.book_meeting({"title": "Cuối tháng", "starts_at": starts_at,
                                    "ends_at": starts_at + timedelta(hours=1), "chair_endpoint_id": endpoint.id,
                                    "recurrence": "FREQ=MONTHLY;BYMONTHDAY=31;COUNT=4"},
                                   booking.resolve_sites(endpoint_ids=[endpoint.id], on_day=starts_at.date()),
                                   choices=ANY_TIME)
    db.session.commit()
    days = [o.starts_at.astimezone(local_zone()).date() for o in meeting.occurrences]
    assert days == [date(2027, 1, 31), date(2027, 3, 31), date(2027, 5, 31), date(2027, 7, 31)]
