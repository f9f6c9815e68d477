"""Attendees' answers and calendar feed tokens (the mails themselves are the outbox's)."""

from datetime import datetime
from typing import Optional

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from vmeeting.auth.models import User
from vmeeting.booking.models import Meeting
from vmeeting.core.database import UTCDateTime, utcnow
from vmeeting.core.extensions import db
from vmeeting.registry.models import AdminUnit, Endpoint

#: the answers an attendee can give (RFC 5545 §3.2.12, for a VEVENT)
PARTSTATS = ("ACCEPTED", "DECLINED", "TENTATIVE")
#: how an answer came: the signed RSVP link, or an iTIP REPLY read from the organizer mailbox (IMAP_URL)
ANSWER_SOURCES = ("link", "mail")
FEED_KINDS = ("endpoint", "technician", "unit")


class InviteResponse(db.Model):
    """An attendee's answer to a meeting's invite: through their signed link, or their calendar's iTIP REPLY."""

    __tablename__ = "invite_responses"

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(sa.ForeignKey("meetings.id", ondelete="CASCADE"))
    #: lower-case address, as the invite was sent
    email: Mapped[str] = mapped_column(sa.String(254))
    #: iCalendar PARTSTAT: ACCEPTED, DECLINED or TENTATIVE
    partstat: Mapped[str] = mapped_column(sa.String(20))
    comment: Mapped[str] = mapped_column(sa.String(500), default="")
    #: the SEQUENCE the person answered
    sequence: Mapped[int] = mapped_column(default=0)
    #: when the person answered: the click, or the REPLY's DTSTAMP; an older answer never overwrites a newer one
    responded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    source: Mapped[str] = mapped_column(sa.String(10), default="link")

    meeting: Mapped[Meeting] = relationship()

    __table_args__ = (
        sa.UniqueConstraint("meeting_id", "email", name="uq_invite_responses_meeting_email"),
        sa.CheckConstraint(sa.column("partstat").in_(PARTSTATS), name="partstat"),
        sa.CheckConstraint(sa.column("source").in_(ANSWER_SOURCES), name="source"),
    )


class CalendarFeed(db.Model):
    """A subscribable calendar of an endpoint, a technician or a unit; only its token's hash is stored."""

    __tablename__ = "calendar_feeds"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(20))
    endpoint_id: Mapped[Optional[int]] = mapped_column(sa.ForeignKey("endpoints.id"), index=True)
    user_id: Mapped[Optional[int]] = mapped_column(sa.ForeignKey("users.id"), index=True)
    unit_id: Mapped[Optional[int]] = mapped_column(sa.ForeignKey("admin_units.id"), index=True)
    #: hex SHA-256 of the token; the token is shown once, in the feed's address
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    #: the first characters, so a person can tell their feeds apart
    prefix: Mapped[str] = mapped_column(sa.String(12))
    created_by_id: Mapped[Optional[int]] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)

    endpoint: Mapped[Optional[Endpoint]] = relationship()
    user: Mapped[Optional[User]] = relationship(foreign_keys=[user_id])
    unit: Mapped[Optional[AdminUnit]] = relationship()
    created_by: Mapped[Optional[User]] = relationship(foreign_keys=[created_by_id])

    __table_args__ = (
        sa.CheckConstraint(sa.column("kind").in_(FEED_KINDS), name="kind"),
        sa.CheckConstraint(
            "(kind = 'endpoint' AND endpoint_id IS NOT NULL) OR (kind = 'technician' AND user_id IS NOT NULL)"
            " OR (kind = 'unit' AND unit_id IS NOT NULL)", name="target"),
    )

    @property
    def is_revoked(self):
        return self.revoked_at is not None

    @property
    def subject(self):
        """What the feed covers, as a person reads it."""
        if self.kind == "endpoint":
            return self.endpoint.name
        if self.kind == "technician":
            return self.user.display_name
        return self.unit.name
