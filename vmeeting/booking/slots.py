"""The slot finder: the earliest times when every chosen site and its bridge are free."""

import itertools
from bisect import bisect_left
from collections import defaultdict
from datetime import date, datetime, timedelta, timezone

import sqlalchemy as sa
from flask import current_app

from vmeeting.booking.conflicts import MAX_BUSY, bridge_of
from vmeeting.booking.models import Occurrence, Reservation
from vmeeting.core.database import one_of, utcnow
from vmeeting.core.extensions import db
from vmeeting.registry.models import Bridge
from vmeeting.core.timefmt import local_zone
from vmeeting.working_time import service as working_time

STEP_MINUTES = 30


#: the slot finder reads the reservations a few days at a time, doubling each time: the earliest
#: free slots are usually near, and a 42-day window of a national selection is 100,000 rows
FIRST_READ = timedelta(days=3)


def find_slots(endpoints, duration, window_from, window_to, *, limit=5, setup_minutes=None,
               meeting_bridge_id=None, ignore_meeting_id=None, step_minutes=STEP_MINUTES):
    """Return up to `limit` earliest (start, end) in UTC, never before now, on working days with
    the set-up window and the sitting inside one block of working hours (working_time), when no
    endpoint is reserved in [start - set-up, end) and no bridge lacks ports.

    endpoints: Endpoint objects or sites.SiteRow (id, bridge_id). The reservations
    are read a stretch at a time (FIRST_READ, then twice as long each time) until
    `limit` are found; each read is two queries folded in SQL whatever the number
    of sites: the distinct busy intervals of all the endpoints together (a
    sitting's reservations share one interval, so a national meeting's 10,000
    rows come back as one) and each bridge's load as (interval, how many). Each
    read turns them into one sorted list of blocked intervals (`_BusyReader`):
    the endpoints' busy ones merged with the spans where a bridge's load leaves
    fewer ports than the chosen sites need, found by one sweep of that bridge's
    load. A candidate is then one binary search, whatever the number of sites and
    bridges: the cost grows with the rows read, not with sites × candidates.
    """
    if setup_minutes is None:
        setup_minutes = current_app.config["SETUP_MINUTES"]
    setup = timedelta(minutes=setup_minutes)
    window_from = max(window_from, utcnow())
    if window_to <= window_from:
        return []
    requested = defaultdict(int)
    for endpoint in endpoints:
        bridge_id = bridge_of(endpoint, meeting_bridge_id)
        if bridge_id is not None:
            requested[bridge_id] += 1
    ports = dict(db.session.execute(sa.select(Bridge.id, Bridge.ports).where(Bridge.id.in_(requested))).all())
    # ports left for others: a bridge too small for the chosen sites alone is full at every instant
    spare = {bridge_id: ports[bridge_id] - count for bridge_id, count in requested.items()}
    if any(left < 0 for left in spare.values()):
        return []
    busy = _BusyReader([e.id for e in endpoints], spare, ignore_meeting_id, window_from - setup - MAX_BUSY)

    found = []
    for start, end in _candidates(window_from, window_to, duration, setup, step_minutes):
        if busy.is_free(start - setup, end):
            found.append((start, end))
            if len(found) >= limit:
                break
    return found


class _BusyReader:
    """The reservations of some endpoints and bridges, read by busy_from in consecutive stretches.

    Every reservation with busy_from in [first, read_to) has been read, each
    once: `intervals` (merged, sorted) for the endpoints, `loads` {bridge_id:
    [(busy_from, busy_until, count)]} for the bridges, and `blocked` (merged,
    sorted): when an endpoint is reserved or a bridge has no more than its
    `spare` ports in use by others. Exact before read_to: a reservation that
    counts at an instant t began at or before t.
    """

    def __init__(self, endpoint_ids, spare, ignore_meeting_id, first):
        self.endpoint_ids, self.spare, self.ignore_meeting_id = endpoint_ids, spare, ignore_meeting_id
        self.read_to, self.stretch = first, FIRST_READ
        self.intervals, self.loads, self.full = [], defaultdict(list), {}
        self.blocked, self.starts = [], []

    def is_free(self, busy_from, busy_until):
        """Tell whether [busy_from, busy_until) meets no blocked interval (touching is not meeting)."""
        self.read_until(busy_until)
        i = bisect_left(self.starts, busy_until) - 1
        return i < 0 or self.blocked[i][1] <= busy_from

    def read_until(self, instant):
        """Make sure every reservation with busy_from before instant has been read."""
        if instant <= self.read_to:
            return
        lo, hi = self.read_to, max(instant, self.read_to + self.stretch)
        self.read_to, self.stretch = hi, self.stretch * 2

        def stretch(query):
            query = query.where(Reservation.busy_from >= lo, Reservation.busy_from < hi)
            if self.ignore_meeting_id is not None:
                query = query.join(Occurrence).where(Occurrence.meeting_id != self.ignore_meeting_id)
            return query

        bind = db.session.get_bind()
        found = sorted(db.session.execute(stretch(
            sa.select(Reservation.busy_from, Reservation.busy_until).distinct()
            .where(one_of(Reservation.endpoint_id, self.endpoint_ids, bind)))).all())
        self.intervals = _merge(sorted(self.intervals + found))
        if self.spare:
            changed = set()
            for bridge_id, f, u, count in db.session.execute(stretch(
                    sa.select(Reservation.bridge_id, Reservation.busy_from, Reservation.busy_until, sa.func.count())
                    .where(Reservation.bridge_id.in_(list(self.spare)))
                    .group_by(Reservation.bridge_id, Reservation.busy_from, Reservation.busy_until))):
                self.loads[bridge_id].append((f, u, count))
                changed.add(bridge_id)
            for bridge_id in changed:
                self.full[bridge_id] = _over(self.loads[bridge_id], self.spare[bridge_id])
        self.blocked = _merge(sorted(itertools.chain(self.intervals, *self.full.values())))
        self.starts = [f for f, _u in self.blocked]


def _over(loads, spare):
    """Return the sorted spans [(from, until)] when more than `spare` of the loads' ports are in use.

    loads: (busy_from, busy_until, count). One sweep of their ends in time
    order, an end at t before a start at t (touching intervals never share a
    port), as conflicts.peak counts them.
    """
    events = sorted(itertools.chain.from_iterable(((f, count), (u, -count)) for f, u, count in loads))
    spans, in_use, since = [], 0, None
    for i, (instant, step) in enumerate(events):
        in_use += step
        if i + 1 < len(events) and events[i + 1][0] == instant:
            continue  # the load at an instant is the one after all of its events
        if in_use > spare and since is None:
            since = instant
        elif in_use <= spare and since is not None:
            spans.append((since, instant))
            since = None
    return spans


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

