"""Overlaps and capacity, generated: booking.conflicts against a brute-force oracle on a minute grid.

Busy intervals are [start - set-up, end): touching intervals do not overlap, and an end at t frees
a port before a start at t. The oracle counts, minute by minute, what holds each site and bridge;
every bound is a whole minute, so counting minutes is exact.
"""

import uuid
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vmeeting.booking.conflicts import PlannedSitting, find_conflicts, peak
from vmeeting.booking.models import Meeting, Occurrence, Reservation
from vmeeting.core.extensions import db

#: a Monday far ahead, so no rule about the past comes into it
BASE = datetime(2030, 1, 7, tzinfo=timezone.utc)
SITES = 4
SUITE = settings(max_examples=60, derandomize=True, deadline=None, database=None,
                 suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def minute(n):
    return BASE + timedelta(minutes=n)


# -- peak(): the most intervals holding one instant -----------------------------------------

interval = st.tuples(st.integers(0, 120), st.integers(1, 60)).map(lambda t: (t[0], t[0] + t[1]))


def brute_peak(intervals, start, end):
    return max([sum(1 for lo, hi in intervals if lo <= t < hi) for t in range(start, end)], default=0)


@SUITE
@given(intervals=st.lists(interval, max_size=8), window=interval)
def test_peak_is_the_most_intervals_holding_one_minute(intervals, window):
    as_times = [(minute(lo), minute(hi)) for lo, hi in intervals]
    assert peak(as_times, minute(window[0]), minute(window[1])) == brute_peak(intervals, *window)


# -- find_conflicts(): against reservations in the database -----------------------------------

#: lengths and set-ups on a 5-minute grid with small numbers: touching and nested cases come often
five = st.integers(0, 12).map(lambda n: n * 5)


@st.composite
def site_bookings(draw):
    """For one site, busy intervals that do not overlap each other (PostgreSQL refuses that)."""
    booked, cursor = [], draw(st.integers(0, 6)) * 5
    for _ in range(draw(st.integers(0, 3))):
        setup = draw(five)
        length = draw(st.integers(1, 12)) * 5
        start = cursor + setup
        booked.append((cursor, start, start + length))  # (busy_from, starts_at, ends_at) in minutes
        cursor = start + length + draw(five)  # 0: the next one touches
    return booked


@pytest.fixture
def grid(make_endpoint, make_bridge):
    bridge = make_bridge(ports=2)
    return bridge, [make_endpoint(bridge_id=bridge.id) for _ in range(SITES)]


def _store(bookings, endpoints, bridge):
    """Store each busy interval as a sitting of its own meeting; return {occurrence id: (site index, busy)}."""
    stored = {}
    for index, intervals in enumerate(bookings):
        for busy_from, starts_at, ends_at in intervals:
            meeting = Meeting(uid=f"{uuid.uuid4()}@test", title="Có sẵn", chair_endpoint_id=endpoints[index].id,
                              starts_at=minute(starts_at), ends_at=minute(ends_at),
                              setup_minutes=starts_at - busy_from)
            occurrence = Occurrence(meeting=meeting, starts_at=minute(starts_at), ends_at=minute(ends_at),
                                    original_starts_at=minute(starts_at))
            db.session.add(occurrence)
            db.session.flush()
            db.session.add(Reservation(occurrence_id=occurrence.id, endpoint_id=endpoints[index].id,
                                       bridge_id=bridge.id, busy_from=minute(busy_from), busy_until=minute(ends_at)))
            stored[occurrence.id] = (index, busy_from, ends_at)
    db.session.flush()
    return stored


def _clear():
    db.session.rollback()
    for model in (Reservation, Occurrence, Meeting):
        db.session.execute(sa.delete(model))
    db.session.commit()


@SUITE
@given(bookings=st.lists(site_bookings(), min_size=SITES, max_size=SITES),
       chosen=st.sets(st.integers(0, SITES - 1), min_size=1),
       start=st.integers(0, 40).map(lambda n: n * 5), length=st.integers(1, 12).map(lambda n: n * 5),
       setup=five, ports=st.integers(1, 6))
def test_conflicts_and_capacity_match_the_oracle(grid, bookings, chosen, start, length, setup, ports):
    bridge, endpoints = grid
    bridge.ports = ports
    try:
        stored = _store(bookings, endpoints, bridge)
        sitting = PlannedSitting(minute(start), minute(start), minute(start + length), timedelta(minutes=setup))
        picked = [endpoints[i] for i in sorted(chosen)]
        conflicts, capacity = find_conflicts([sitting], picked)

        busy_from, busy_until = start - setup, start + length
        expected = {(endpoints[i].id, occ) for occ, (i, lo, hi) in stored.items()
                    if i in chosen and lo < busy_until and hi > busy_from}
        assert {(c["endpoint_id"], c["occurrence_id"]) for c in conflicts} == expected

        in_use = brute_peak([(lo, hi) for _, lo, hi in stored.values()], busy_from, busy_until)
        overfilled = in_use + len(picked) > ports
        assert bool(capacity) == overfilled
        if overfilled:
            assert [(c["bridge_id"], c["in_use"], c["requested"], c["ports"]) for c in capacity] == \
                [(bridge.id, in_use, len(picked), ports)]
    finally:
        _clear()


@SUITE
@given(gap=st.integers(-30, 30), setup=five, before=st.booleans())
def test_touching_is_free_and_one_minute_more_is_a_conflict(grid, gap, setup, before):
    """Another meeting holds the site over [60, 120); a 30-minute sitting whose busy interval ends `gap`
    minutes before it, or starts `gap` minutes after it, conflicts exactly when gap < 0."""
    bridge, endpoints = grid
    try:
        stored = _store([[(60, 60, 120)], [], [], []], endpoints, bridge)
        start = 60 - gap - 30 if before else 120 + gap + setup
        sitting = PlannedSitting(minute(start), minute(start), minute(start + 30), timedelta(minutes=setup))
        conflicts, _ = find_conflicts([sitting], [endpoints[0]])
        assert [c["occurrence_id"] for c in conflicts] == (list(stored) if gap < 0 else [])
    finally:
        _clear()
