"""The slot finder: the earliest times when every chosen site and its bridge are free."""

from bisect import bisect_left
from collections import defaultdict
from datetime import date, datetime, timedelta, timezone

import sqlalchemy as sa
from flask import current_app

from vmeeting.booking.conflicts import MAX_BUSY, bridge_of, peak
from vmeeting.booking.models import Occurrence, Reservation
from vmeeting.database import utcnow
from vmeeting.extensions import db
from vmeeting.registry.models import Bridge
from vmeeting.timefmt import local_zone
from vmeeting.working_time import service as working_time

STEP_MINUTES = 30


def find_slots(endpoints, duration, window_from, window_to, *, limit=5, setup_minutes=None,
               meeting_bridge_id=None, ignore_meeting_id=None, step_minutes=STEP_MINUTES):
    """Return up to `limit` earliest (start, end) in UTC, never before now, on working days with
    the set-up window and the sitting inside one block of working hours (working_time), when no
    endpoint is reserved in [start - set-up, end) and no bridge lacks ports.

    A few queries whatever the window's length: the endpoints' reservations, the
    bridges' load, the declared days; the candidates are then checked in memory.
    """
    if setup_minutes is None:
        setup_minutes = current_app.config["SETUP_MINUTES"]
    setup = timedelta(minutes=setup_minutes)
    window_from = max(window_from, utcnow())
    if window_to <= window_from:
        return []
    endpoint_ids = [e.id for e in endpoints]
    margin_from, margin_to = window_from - setup - MAX_BUSY, window_to + MAX_BUSY

    def reservations(*conditions):
        query = sa.select(Reservation.busy_from, Reservation.busy_until, Reservation.bridge_id).where(
            Reservation.busy_from < margin_to, Reservation.busy_until > margin_from, *conditions)
        if ignore_meeting_id is not None:
            query = query.join(Occurrence).where(Occurrence.meeting_id != ignore_meeting_id)
        return db.session.execute(query).all()

    busy = _merge(sorted((f, u) for f, u, _ in reservations(Reservation.endpoint_id.in_(endpoint_ids))))
    busy_starts = [f for f, _ in busy]

    requested = defaultdict(int)
    for endpoint in endpoints:
        bridge_id = bridge_of(endpoint, meeting_bridge_id)
        if bridge_id is not None:
            requested[bridge_id] += 1
    ports = dict(db.session.execute(sa.select(Bridge.id, Bridge.ports).where(Bridge.id.in_(requested))).all())
    loads = defaultdict(list)
    if requested:
        for f, u, bridge_id in reservations(Reservation.bridge_id.in_(requested)):
            loads[bridge_id].append((f, u))
    for bridge_id in loads:
        loads[bridge_id].sort()
    load_starts = {b: [f for f, _ in intervals] for b, intervals in loads.items()}

    def is_free(start, end):
        busy_from = start - setup
        i = bisect_left(busy_starts, end) - 1
        if i >= 0 and busy[i][1] > busy_from:
            return False
        for bridge_id, count in requested.items():
            intervals = loads.get(bridge_id, [])
            lo = bisect_left(load_starts.get(bridge_id, []), busy_from - MAX_BUSY)
            hi = bisect_left(load_starts.get(bridge_id, []), end)
            if peak(intervals[lo:hi], busy_from, end) + count > ports[bridge_id]:
                return False
        return True

    found = []
    for start, end in _candidates(window_from, window_to, duration, setup, step_minutes):
        if is_free(start, end):
            found.append((start, end))
            if len(found) >= limit:
                break
    return found


def _candidates(window_from, window_to, duration, setup, step_minutes):
    """Yield (start, end) on the step grid of each working day, the set-up window inside a block.

    A sitting that fits in one block of working hours is offered only inside one
    (no one is offered a meeting that runs into lunch); a longer one, a full-day
    conference, may run through the break and ends by the day's closing time,
    as the booking rule (working_time) allows.
    """
    zone = local_zone()
    step = timedelta(minutes=step_minutes)
    calendar = working_time.calendar_between(window_from, window_to)
    longest_block = max(datetime.combine(date.min, b) - datetime.combine(date.min, a) for a, b in calendar.blocks)
    spans_break = duration > longest_block
    for day in calendar.working_days():
        day_close = datetime.combine(day, calendar.blocks[-1][1], tzinfo=zone)
        for block_start, block_end in calendar.blocks:
            start = datetime.combine(day, block_start, tzinfo=zone) + setup
            block_close = datetime.combine(day, block_end, tzinfo=zone)
            while start < block_close and start + duration <= (day_close if spans_break else block_close):
                utc_start = start.astimezone(timezone.utc)
                utc_end = utc_start + duration
                if utc_start >= window_from and utc_end <= window_to:
                    yield utc_start, utc_end
                start += step


def _merge(intervals):
    merged = []
    for f, u in intervals:
        if merged and f < merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], u))
        else:
            merged.append((f, u))
    return merged

