"""The slot finder against a brute-force oracle, generated: behaviour, not how it searches.

The oracle walks the contract's grid — each working day, each block of working hours, starts at
the block's opening plus the set-up window and then every step; a sitting stays inside its block
unless it is longer than every block (then it may run through the break and ends by closing) —
and keeps the starts inside the window whose sitting booking.conflicts finds free of conflicts and
of overfilled bridges. find_slots must give the earliest `limit` of them, in order.
"""

from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.booking.reservations import minute, store
from vmeeting.booking.conflicts import PlannedSitting, find_conflicts
from vmeeting.booking.models import Meeting, Occurrence, Reservation
from vmeeting.booking.slots import find_slots
from vmeeting.core.extensions import db
from vmeeting.working_time import service as working_time
from vmeeting.working_time.models import DeclaredDay

VN = ZoneInfo("Asia/Ho_Chi_Minh")
SUITE = settings(max_examples=30, derandomize=True, deadline=None, database=None,
                 suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def oracle(sites, duration, window_from, window_to, *, limit, setup, step, meeting_bridge_id=None,
           ignore_meeting_id=None):
    blocks = working_time.working_blocks()
    longest = max(datetime.combine(date.min, b) - datetime.combine(date.min, a) for a, b in blocks)
    day, last = window_from.astimezone(VN).date() - timedelta(days=1), window_to.astimezone(VN).date()
    found = []
    while day <= last:
        if working_time.is_working_day(day):
            closing = datetime.combine(day, blocks[-1][1], tzinfo=VN)
            for opens, closes in blocks:
                start = datetime.combine(day, opens, tzinfo=VN) + setup
                block_close = datetime.combine(day, closes, tzinfo=VN)
                while start < block_close:
                    end = start + duration
                    fits = end <= (closing if duration > longest else block_close)
                    if fits and window_from <= start and end <= window_to:
                        planned = PlannedSitting(start, start, end, setup)
                        if find_conflicts([planned], sites, meeting_bridge_id, ignore_meeting_id) == ([], []):
                            found.append((start.astimezone(timezone.utc), end.astimezone(timezone.utc)))
                    start += step
        day += timedelta(days=1)
    return sorted(found)[:limit]


@st.composite
def bookings(draw, count):
    """For each of `count` sites, busy intervals (minutes from BASE) that do not overlap each other."""
    sites = []
    for _ in range(count):
        booked, cursor = [], draw(st.integers(0, 40)) * 15
        for _ in range(draw(st.integers(0, 3))):
            setup, length = draw(st.sampled_from([0, 15, 30])), draw(st.integers(1, 16)) * 15
            booked.append((cursor + setup, cursor + setup + length, setup))
            cursor += setup + length + draw(st.integers(0, 30)) * 15
        sites.append(booked)
    return sites


@pytest.fixture
def world(make_endpoint, make_bridge):
    bridge, other_bridge = make_bridge(ports=2), make_bridge(ports=3)
    chosen = [make_endpoint(bridge_id=bridge.id) for _ in range(3)]
    others = [make_endpoint(bridge_id=bridge.id), make_endpoint(bridge_id=other_bridge.id)]
    return bridge, other_bridge, chosen, others


def _clear():
    db.session.rollback()
    for model in (Reservation, Occurrence, Meeting, DeclaredDay):
        db.session.execute(sa.delete(model))
    db.session.commit()


@SUITE
@given(booked=bookings(5), picked=st.sets(st.integers(0, 2), min_size=1), ports=st.integers(1, 4),
       duration=st.sampled_from([30, 60, 90, 120, 240, 300]), setup=st.sampled_from([0, 15, 30, 45]),
       step=st.sampled_from([15, 30, 60]), limit=st.integers(1, 6), window=st.tuples(
           st.integers(0, 96).map(lambda n: n * 15), st.integers(16, 192).map(lambda n: n * 15)),
       on_other_bridge=st.booleans(), ignore=st.booleans(), day_off=st.booleans())
def test_the_slots_are_the_earliest_free_grid_starts(world, booked, picked, ports, duration, setup, step, limit,
                                                      window, on_other_bridge, ignore, day_off):
    bridge, other_bridge, chosen, others = world
    bridge.ports = ports
    try:
        if day_off:  # the Tuesday is declared off: no slot on it
            working_time.declare_day({"date": date(2030, 1, 8), "kind": "day_off", "name": "Nghỉ bù"})
        meetings = []
        for site, intervals in zip(chosen + others, booked):
            for start, end, set_up in intervals:
                meetings.append(store(site, start, end, setup=set_up)[0])
        sites = [chosen[i] for i in sorted(picked)]
        window_from, window_to = minute(window[0]), minute(window[0] + window[1])
        options = {"meeting_bridge_id": other_bridge.id if on_other_bridge else None,
                   "ignore_meeting_id": meetings[0].id if ignore and meetings else None}
        found = find_slots(sites, timedelta(minutes=duration), window_from, window_to, limit=limit,
                           setup_minutes=setup, step_minutes=step, **options)
        assert found == oracle(sites, timedelta(minutes=duration), window_from, window_to, limit=limit,
                               setup=timedelta(minutes=setup), step=timedelta(minutes=step), **options)
    finally:
        _clear()


def test_a_free_site_gets_the_grid_from_the_opening_plus_the_set_up(app, make_endpoint):
    site = make_endpoint()
    day = date(2030, 1, 7)
    found = find_slots([site], timedelta(hours=1), minute(0), minute(27 * 60), limit=12, setup_minutes=30,
                       step_minutes=30)
    local = [(s.astimezone(VN).strftime("%H:%M"), e.astimezone(VN).strftime("%H:%M")) for s, e in found]
    assert local == [("08:00", "09:00"), ("08:30", "09:30"), ("09:00", "10:00"), ("09:30", "10:30"),
                     ("10:00", "11:00"), ("10:30", "11:30"), ("14:00", "15:00"), ("14:30", "15:30"),
                     ("15:00", "16:00"), ("15:30", "16:30"), ("16:00", "17:00"), ("08:00", "09:00")]
    assert found[0][0].tzinfo == timezone.utc and found[-1][0].astimezone(VN).date() == day + timedelta(days=1)


def test_the_set_up_window_defaults_to_the_configured_one(app, make_endpoint):
    site = make_endpoint()
    app.config["SETUP_MINUTES"] = 15
    found = find_slots([site], timedelta(hours=1), minute(0), minute(24 * 60), limit=1)
    assert found[0][0].astimezone(VN).time() == time(7, 45)


def test_never_the_past_and_nothing_in_an_empty_window(app, make_endpoint):
    site = make_endpoint()
    now = datetime.now(timezone.utc)
    found = find_slots([site], timedelta(minutes=30), now - timedelta(days=30), now + timedelta(days=30), limit=200,
                       setup_minutes=0)
    assert found and all(start >= now for start, _ in found)
    assert find_slots([site], timedelta(minutes=30), minute(600), minute(600), setup_minutes=0) == []
    assert find_slots([site], timedelta(minutes=30), minute(600), minute(500), setup_minutes=0) == []
    assert find_slots([site], timedelta(minutes=30), now - timedelta(days=2), now - timedelta(days=1)) == []
