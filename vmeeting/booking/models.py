"""Meeting (what and who) → Occurrence (when) → Reservation (endpoint × busy interval)."""

from datetime import datetime, timedelta
from typing import Optional

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from vmeeting.auth.models import User
from vmeeting.core.database import UTCDateTime, utcnow
from vmeeting.core.extensions import db
from vmeeting.registry.models import Bridge, Endpoint
from vmeeting.core.text import fold

#: pending: a booking across scopes waits for the owning units' approval (booking.approvals); it holds its
#: sites as a scheduled one does, and no invite goes out until it is scheduled
MEETING_STATUSES = ("scheduled", "pending", "cancelled")
#: the statuses of a meeting that takes place (or may): its sittings hold their sites
LIVE_STATUSES = ("scheduled", "pending")
OCCURRENCE_STATUSES = ("scheduled", "cancelled")
#: a meeting's priority classes, highest first (booking.priority names them and says who may set which)
MEETING_PRIORITIES = ("central", "province", "local", "internal")

meeting_endpoints = sa.Table(
    "meeting_endpoints",
    db.metadata,
    sa.Column("meeting_id", sa.ForeignKey("meetings.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("endpoint_id", sa.ForeignKey("endpoints.id"), primary_key=True, index=True),
)


class Meeting(db.Model):
    """A meeting across sites: a single one, or a series from an RRULE."""

    __tablename__ = "meetings"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: the iCalendar UID, stable for the meeting's whole life
    uid: Mapped[str] = mapped_column(sa.String(120), unique=True)
    title: Mapped[str] = mapped_column(sa.String(300))
    #: folded title (text.fold), for accent- and case-blind search
    search_key: Mapped[str] = mapped_column(sa.String(300), default="")
    #: the agenda
    description: Mapped[str] = mapped_column(sa.Text, default="")
    organizer_id: Mapped[Optional[int]] = mapped_column(sa.ForeignKey("users.id"), index=True)
    chair_endpoint_id: Mapped[int] = mapped_column(sa.ForeignKey("endpoints.id"))
    #: the bridge all sites join through; None: each site through its own bridge
    bridge_id: Mapped[Optional[int]] = mapped_column(sa.ForeignKey("bridges.id"))
    #: extra attendees' e-mail addresses, besides the sites' contacts and technicians
    attendees: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    status: Mapped[str] = mapped_column(sa.String(20), default="scheduled")
    #: its priority class (MEETING_PRIORITIES, booking.priority): a higher class may displace a lower one's sittings
    priority: Mapped[str] = mapped_column(sa.String(20), default="local", server_default="local")
    #: iCalendar SEQUENCE; every change that matters to attendees bumps it
    sequence: Mapped[int] = mapped_column(default=0)
    #: the RRULE of a series (without "RRULE:"), None for a single meeting
    recurrence: Mapped[Optional[str]] = mapped_column(sa.String(500))
    #: the first occurrence's start and end (a series' DTSTART)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: the test-call window reserved before each occurrence
    setup_minutes: Mapped[int] = mapped_column(default=30)
    #: len(endpoints), kept with them so lists need no count per row
    endpoint_count: Mapped[int] = mapped_column(default=0)
    #: how the sites were chosen, to show it back: {"all": bool, "unit_ids": [...], "group_ids": [...]}
    selection: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    cancelled_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    #: why it was cancelled, as the CANCEL mail tells it
    cancel_reason: Mapped[Optional[str]] = mapped_column(sa.String(500))

    organizer: Mapped[Optional[User]] = relationship()
    chair: Mapped[Endpoint] = relationship(foreign_keys=[chair_endpoint_id])
    bridge: Mapped[Optional[Bridge]] = relationship()
    endpoints: Mapped[list[Endpoint]] = relationship(secondary=meeting_endpoints,
                                                       order_by=[Endpoint.name_sort_key, Endpoint.id])
    occurrences: Mapped[list["Occurrence"]] = relationship(
        back_populates="meeting", order_by="Occurrence.starts_at", cascade="all, delete-orphan"
    )

    __table_args__ = (sa.CheckConstraint(sa.column("status").in_(MEETING_STATUSES), name="status"),
                      sa.CheckConstraint(sa.column("priority").in_(MEETING_PRIORITIES), name="priority"),
                      # the meeting list's order: its first page read from the index, not by sorting them all
                      sa.Index("ix_meetings_starts_at", "starts_at", "id"))

    @property
    def is_cancelled(self):
        return self.status == "cancelled"

    @property
    def sittings_held(self):
        """The sittings that take place, earliest first: not cancelled, nor skipped (a sitting a series skipped,
        for a holiday or a busy site, is stored cancelled with the reason). Every count of a series' sittings
        (its words, the page's badge, the booking's preview) is this list's length."""
        return [o for o in self.occurrences if o.status == "scheduled"]

    @property
    def test_call_at(self):
        """When the sites are held for the test call before the first sitting."""
        return self.starts_at - timedelta(minutes=self.setup_minutes)

    @validates("title")
    def _fold_title(self, _key, title):
        self.search_key = fold(title)
        return title

    def __repr__(self):
        return f"<Meeting {self.id} {self.title!r}>"


class Occurrence(db.Model):
    """One sitting of a meeting; a moved sitting keeps the start its rule gave it."""

    __tablename__ = "occurrences"

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(sa.ForeignKey("meetings.id", ondelete="CASCADE"), index=True)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: the start the series rule gave (iCalendar RECURRENCE-ID)
    original_starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(sa.String(20), default="scheduled")
    is_moved: Mapped[bool] = mapped_column(default=False)
    #: why this sitting does not take place (a cancel's reason, or the holiday a series skipped)
    cancel_reason: Mapped[Optional[str]] = mapped_column(sa.String(500))

    meeting: Mapped[Meeting] = relationship(back_populates="occurrences")
    reservations: Mapped[list["Reservation"]] = relationship(
        back_populates="occurrence", cascade="all, delete-orphan"
    )

    __table_args__ = (
        sa.CheckConstraint(sa.column("status").in_(OCCURRENCE_STATUSES), name="status"),
        sa.CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        sa.UniqueConstraint("meeting_id", "original_starts_at", name="uq_occurrences_meeting_original"),
    )

    @property
    def is_cancelled(self):
        return self.status == "cancelled" or self.meeting.status == "cancelled"


class Reservation(db.Model):
    """An endpoint held busy for one occurrence, set-up window included.

    Only live occurrences have reservations: cancelling one deletes its rows,
    since they are derived from the occurrence and its endpoints. On PostgreSQL
    the database itself forbids two overlapping rows for one endpoint, whatever
    the application does: a statement-level trigger that locks the statement's
    endpoints, then looks for an overlap (migration 0017; it replaced 0003's
    GiST exclusion constraint, the dearest part of a national booking).
    """

    __tablename__ = "reservations"

    id: Mapped[int] = mapped_column(primary_key=True)
    # no index of its own: uq_reservations_occurrence_endpoint leads with it (migration 0016)
    occurrence_id: Mapped[int] = mapped_column(sa.ForeignKey("occurrences.id", ondelete="CASCADE"))
    endpoint_id: Mapped[int] = mapped_column(sa.ForeignKey("endpoints.id"))
    #: the bridge this endpoint joins through for this occurrence (capacity), if any
    bridge_id: Mapped[Optional[int]] = mapped_column(sa.ForeignKey("bridges.id"))
    busy_from: Mapped[datetime] = mapped_column(UTCDateTime)
    busy_until: Mapped[datetime] = mapped_column(UTCDateTime)

    occurrence: Mapped[Occurrence] = relationship(back_populates="reservations")
    endpoint: Mapped[Endpoint] = relationship()

    __table_args__ = (
        sa.CheckConstraint("busy_until > busy_from", name="busy_until_after_from"),
        sa.UniqueConstraint("occurrence_id", "endpoint_id", name="uq_reservations_occurrence_endpoint"),
        sa.Index("ix_reservations_endpoint_busy", "endpoint_id", "busy_from", "busy_until"),
        sa.Index("ix_reservations_bridge_busy", "bridge_id", "busy_from", "busy_until"),
        # thousands of sites at once: one range scan by time instead of one descent per site (migration 0015)
        sa.Index("ix_reservations_busy", "busy_from", "busy_until", "endpoint_id"),
    )


class IdempotencyKey(db.Model):
    """A client's Idempotency-Key on POST /meetings and the answer the booking it named gave.

    draft-ietf-httpapi-idempotency-key-header: a retry with the same key, by the
    same user, with the same body gets the stored answer instead of a second
    booking (or a 409 against the first). Written in the booking's own
    transaction, so a key is kept exactly when its booking is; kept 24 hours
    (booking.idempotency.KEPT).
    """

    __tablename__ = "idempotency_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    #: the header's value as the client chose it (a UUID, say), unquoted
    key: Mapped[str] = mapped_column(sa.String(255))
    #: SHA-256 (hex) of the method, path and canonical JSON body: a reuse with another body is refused
    fingerprint: Mapped[str] = mapped_column(sa.String(64))
    meeting_id: Mapped[Optional[int]] = mapped_column(sa.ForeignKey("meetings.id", ondelete="CASCADE"))
    #: the answer the booking gave: its status, ETag and JSON body, repeated to a retry
    status_code: Mapped[Optional[int]]
    etag: Mapped[Optional[str]] = mapped_column(sa.String(100))
    response_body: Mapped[Optional[str]] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (sa.UniqueConstraint("user_id", "key", name="uq_idempotency_keys_user_id"),
                      sa.Index("ix_idempotency_keys_created_at", "created_at"))
