"""Reservations stored straight into the tables, on a minute grid from a fixed instant, for the rule tests."""

import uuid
from datetime import datetime, timedelta, timezone

from vmeeting.booking.models import Meeting, Occurrence, Reservation
from vmeeting.core.extensions import db

#: a Monday far ahead (07/01/2030, 07:00 in Asia/Ho_Chi_Minh), so no rule about the past comes into it
BASE = datetime(2030, 1, 7, tzinfo=timezone.utc)


def minute(n):
    return BASE + timedelta(minutes=n)


def store(endpoint, start, end, *, setup=0, bridge=None, title="Có sẵn", meeting=None):
    """Store one sitting of a meeting (a new one unless given) reserving the endpoint; return (meeting, occurrence)."""
    if meeting is None:
        meeting = Meeting(uid=f"{uuid.uuid4()}@test", title=title, chair_endpoint_id=endpoint.id,
                          starts_at=minute(start), ends_at=minute(end), setup_minutes=setup)
    occurrence = Occurrence(meeting=meeting, starts_at=minute(start), ends_at=minute(end),
                            original_starts_at=minute(start))
    db.session.add(occurrence)
    db.session.flush()
    bridge_id = bridge.id if bridge is not None else endpoint.bridge_id
    db.session.add(Reservation(occurrence_id=occurrence.id, endpoint_id=endpoint.id, bridge_id=bridge_id,
                               busy_from=minute(start - setup), busy_until=minute(end)))
    db.session.flush()
    return meeting, occurrence
