"""Overlaps and capacity: which reservations a booking would collide with, and the lock.

A busy interval is [start - set-up, end): touching intervals do not overlap.
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from vmeeting.booking.models import Meeting, Occurrence, Reservation
from vmeeting.core.database import one_of
from vmeeting.core.extensions import db
from vmeeting.core.text import fold
from vmeeting.registry import areas
from vmeeting.registry.models import AdminUnit, Bridge, Endpoint

MAX_DURATION = timedelta(hours=12)
MAX_SETUP_MINUTES = 240
#: how far back an overlap query must look: the longest busy interval there can be
MAX_BUSY = MAX_DURATION + timedelta(minutes=MAX_SETUP_MINUTES)

@dataclass
class PlannedSitting:
    """One occurrence about to be stored, with the busy interval its sites need."""

    original_starts_at: datetime
    starts_at: datetime
    ends_at: datetime
    setup: timedelta

    @property
    def busy_from(self):
        return self.starts_at - self.setup

    @property
    def busy_until(self):
        return self.ends_at


def bridge_of(endpoint, meeting_bridge_id):
    """Return the bridge an endpoint joins through: the meeting's, else its own."""
    return meeting_bridge_id if meeting_bridge_id is not None else endpoint.bridge_id


def find_conflicts(sittings, endpoints, meeting_bridge_id=None, ignore_meeting_id=None):
    """Return (conflicts, capacity) for booking endpoints at the sittings.

    conflicts: [{endpoint_id, endpoint_name, endpoint_district, meeting_id, meeting_title, occurrence_id,
    starts_at, ends_at, priority}] (priority: the busy meeting's class, booking.priority)
    for every endpoint already reserved in an overlapping busy interval (touching
    intervals do not overlap). capacity: [{bridge_id, bridge_code, ports, in_use,
    requested, starts_at, ends_at}] for every bridge the sittings would overfill.
    """
    if not sittings or not endpoints:
        return [], []
    endpoint_ids = [e.id for e in endpoints]
    by_id = {e.id: e for e in endpoints}
    conflicts = []
    seen = set()
    for chunk in _chunks(sittings, 100):
        rows = db.session.execute(
            _overlapping(sa.select(Reservation, Occurrence, Meeting), chunk, ignore_meeting_id)
            .where(one_of(Reservation.endpoint_id, endpoint_ids, db.session.get_bind()))
            .order_by(Occurrence.starts_at)
        ).all()
        for reservation, occurrence, meeting in rows:
            key = (reservation.endpoint_id, occurrence.id)
            if key in seen:
                continue
            seen.add(key)
            conflicts.append({
                "endpoint_id": reservation.endpoint_id,
                "endpoint_name": by_id[reservation.endpoint_id].name,
                "meeting_id": meeting.id,
                "meeting_title": meeting.title,
                "priority": meeting.priority,
                "occurrence_id": occurrence.id,
                "starts_at": occurrence.starts_at.isoformat(),
                "ends_at": occurrence.ends_at.isoformat(),
            })

    _name_districts(conflicts)

    capacity = []
    requested = defaultdict(int)
    for endpoint in endpoints:
        bridge_id = bridge_of(endpoint, meeting_bridge_id)
        if bridge_id is not None:
            requested[bridge_id] += 1
    if requested:
        bridges = {b.id: b for b in db.session.scalars(sa.select(Bridge).where(Bridge.id.in_(requested)))}
        for chunk in _chunks(sittings, 100):
            # a sitting's rows on one bridge share their interval: read as (interval, how many)
            rows = db.session.execute(
                _overlapping(sa.select(Reservation.bridge_id, Reservation.busy_from, Reservation.busy_until,
                                       sa.func.count()), chunk, ignore_meeting_id)
                .where(Reservation.bridge_id.in_(requested))
                .group_by(Reservation.bridge_id, Reservation.busy_from, Reservation.busy_until)
            ).all()
            load = defaultdict(list)
            for bridge_id, busy_from, busy_until, count in rows:
                load[bridge_id].append((busy_from, busy_until, count))
            for sitting in chunk:
                for bridge_id, count in requested.items():
                    in_use = peak(load[bridge_id], sitting.busy_from, sitting.busy_until)
                    bridge = bridges[bridge_id]
                    if in_use + count > bridge.ports:
                        capacity.append({
                            "bridge_id": bridge_id, "bridge_code": bridge.code, "ports": bridge.ports,
                            "in_use": in_use, "requested": count,
                            "starts_at": sitting.starts_at.isoformat(), "ends_at": sitting.ends_at.isoformat(),
                        })
    return conflicts, capacity


def _name_districts(conflicts):
    """Add each conflict's `endpoint_district`: the district its site is shown under (areas.district_heads), its
    "Huyện " dropped, "" at province level. Same-name sites (Xã Tân Thanh, Tân Thành; Hồng Phong ×2) read apart.
    Two queries for any number of conflicts."""
    if not conflicts:
        return
    units = dict(db.session.execute(sa.select(Endpoint.id, Endpoint.unit_id).where(
        one_of(Endpoint.id, sorted({c["endpoint_id"] for c in conflicts}), db.session.get_bind()))).all())
    loaded = db.session.scalars(sa.select(AdminUnit).where(AdminUnit.id.in_(set(units.values())))
                                .options(selectinload(AdminUnit.parent))).all()
    heads = areas.district_heads(loaded)
    for conflict in conflicts:
        head = heads.get(units.get(conflict["endpoint_id"]))
        conflict["endpoint_district"] = district_name(head)


def district_name(head):
    """A district as a site is named with it: "Văn Lãng" for Huyện Văn Lãng, a city whole, "" for the province."""
    if head is None or head.level == "province":
        return ""
    prefix = "huyện "
    return head.name[len(prefix):] if head.name.lower().startswith(prefix) else head.name


def busy_meetings(conflicts):
    """Group conflicts by the sitting that holds the sites: [{meeting_id, meeting_title, occurrence_id,
    starts_at, ends_at, priority, displaceable, sites: [{endpoint_id, endpoint_name, endpoint_district}]}], in
    time order, each sitting's sites by district then name: one row per busy meeting, its sites folded under it
    (issue 25); priority and displaceable as the conflicts carry them (booking.priority)."""
    groups = {}
    for c in conflicts:
        key = (c["meeting_id"], c.get("occurrence_id"))
        group = groups.setdefault(key, {k: c.get(k) for k in ("meeting_id", "meeting_title", "occurrence_id",
                                                              "starts_at", "ends_at", "priority",
                                                              "displaceable")} | {"sites": []})
        group["sites"].append({k: c.get(k, "") for k in ("endpoint_id", "endpoint_name", "endpoint_district")})
    for group in groups.values():
        group["sites"].sort(key=lambda site: (site["endpoint_district"] != "", fold(site["endpoint_district"]),
                                              fold(site["endpoint_name"])))
    return sorted(groups.values(), key=lambda g: (g["starts_at"], g["meeting_id"]))


def _overlapping(query, sittings, ignore_meeting_id):
    """Restrict a reservation query to rows overlapping any sitting's busy interval."""
    windows = [
        sa.and_(Reservation.busy_from < s.busy_until, Reservation.busy_until > s.busy_from,
                # bounds the index range scan: no busy interval is longer than MAX_BUSY
                Reservation.busy_from > s.busy_from - MAX_BUSY)
        for s in sittings
    ]
    query = (
        query.select_from(Reservation)
        .join(Occurrence, Reservation.occurrence_id == Occurrence.id)
        .join(Meeting, Occurrence.meeting_id == Meeting.id)
        .where(sa.or_(*windows))
    )
    if ignore_meeting_id is not None:
        query = query.where(Occurrence.meeting_id != ignore_meeting_id)
    return query


def peak(intervals, start, end):
    """Return the most intervals that overlap at one instant inside [start, end).

    intervals: (busy_from, busy_until) pairs, or (busy_from, busy_until, count)
    for `count` identical ones (the slot finder reads them grouped).
    """
    events = []
    for busy_from, busy_until, *count in intervals:
        lo, hi = max(busy_from, start), min(busy_until, end)
        if lo < hi:
            weight = count[0] if count else 1
            events.append((lo, weight))
            events.append((hi, -weight))
    events.sort(key=lambda e: (e[0], e[1]))  # an end at t frees the port before a start at t
    peak = current = 0
    for _, step in events:
        current += step
        peak = max(peak, current)
    return peak


def _chunks(items, size):
    for i in range(0, len(items), size):
        yield items[i:i + size]


def lock_sites(endpoints, meeting_bridge_id=None):
    """Serialize bookings that touch the same endpoints or bridges until the caller commits.

    Call it before writing anything. PostgreSQL: FOR NO KEY UPDATE row locks,
    bridges then endpoints, each in id order, so two bookings never wait on each
    other in a circle; NO KEY leaves foreign-key checks of other writers alone.
    SQLite: the request's write transaction (BEGIN IMMEDIATE, see
    vmeeting.core.database) already holds the database's one write lock.
    """
    if db.session.get_bind().dialect.name != "postgresql":
        return
    bridge_ids = sorted({bridge_of(e, meeting_bridge_id) for e in endpoints} - {None})
    if bridge_ids:
        db.session.execute(sa.select(Bridge.id).where(Bridge.id.in_(bridge_ids))
                           .order_by(Bridge.id).with_for_update(key_share=True))
    db.session.execute(sa.select(Endpoint.id).where(one_of(Endpoint.id, {e.id for e in endpoints}, db.session.get_bind()))
                       .order_by(Endpoint.id).with_for_update(key_share=True))
