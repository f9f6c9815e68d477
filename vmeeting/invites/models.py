"""Attendees' answers and calendar feed tokens (the mails themselves are the outbox's)."""

from datetime import datetime
from typing import Optional

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from vmeeting.auth.models import User
from vmeeting.booking.models import Meeting, Occurrence
from vmeeting.core.database import UTCDateTime, utcnow
from vmeeting.core.extensions import db
from vmeeting.core.text import Sentence
from vmeeting.registry.models import AdminUnit, Endpoint

#: the answers an attendee can give with the link (RFC 5545 §3.2.12, for a VEVENT)
PARTSTATS = ("ACCEPTED", "DECLINED", "TENTATIVE")
#: and with a calendar's REPLY, which may also hand the invite on (RFC 5546 §3.2.2.3)
REPLY_PARTSTATS = (*PARTSTATS, "DELEGATED")
#: what became of a mail read from the organizer mailbox that did not count (invites.replies)
REFUSAL_KINDS = ("rejected", "unusable")
#: how an answer came: the signed RSVP link, or an iTIP REPLY read from the organizer mailbox (IMAP_URL)
ANSWER_SOURCES = ("link", "mail")
FEED_KINDS = ("endpoint", "technician", "unit")


class InviteResponse(db.Model):
    """An attendee's answer to a meeting's invite, or to one sitting of it: their signed link or their calendar's REPLY.

    One answer per person for the whole meeting (`occurrence_id` NULL) and at
    most one per person and sitting (a REPLY with RECURRENCE-ID, RFC 5546
    §3.2.3): "decline this occurrence" is an answer for that sitting only.
    """

    __tablename__ = "invite_responses"

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(sa.ForeignKey("meetings.id", ondelete="CASCADE"))
    #: lower-case address, as the invite was sent
    email: Mapped[str] = mapped_column(sa.String(254))
    #: the sitting answered, for an answer to one sitting of a series; None for the whole meeting
    occurrence_id: Mapped[Optional[int]] = mapped_column(sa.ForeignKey("occurrences.id", ondelete="CASCADE"))
    #: iCalendar PARTSTAT: ACCEPTED, DECLINED, TENTATIVE, or DELEGATED (by REPLY only)
    partstat: Mapped[str] = mapped_column(sa.String(20))
    #: DELEGATED: the address the invite was handed on to (DELEGATED-TO)
    delegated_to: Mapped[str] = mapped_column(sa.String(254), default="", server_default="")
    #: the answer of a delegate: the invited address that handed the invite on (DELEGATED-FROM)
    delegated_from: Mapped[str] = mapped_column(sa.String(254), default="", server_default="")
    comment: Mapped[str] = mapped_column(sa.String(500), default="")
    #: the SEQUENCE the person answered
    sequence: Mapped[int] = mapped_column(default=0)
    #: when the person answered: the click, or the REPLY's DTSTAMP; an older answer never overwrites a newer one
    responded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    source: Mapped[str] = mapped_column(sa.String(10), default="link")

    meeting: Mapped[Meeting] = relationship()
    occurrence: Mapped[Optional[Occurrence]] = relationship()

    __table_args__ = (
        # one whole-meeting answer per person, and one per person and sitting
        sa.Index("uq_invite_responses_meeting_email", "meeting_id", "email", unique=True,
                 sqlite_where=sa.text("occurrence_id IS NULL"), postgresql_where=sa.text("occurrence_id IS NULL")),
        sa.Index("uq_invite_responses_sitting_email", "occurrence_id", "email", unique=True,
                 sqlite_where=sa.text("occurrence_id IS NOT NULL"),
                 postgresql_where=sa.text("occurrence_id IS NOT NULL")),
        sa.CheckConstraint(sa.column("partstat").in_(REPLY_PARTSTATS), name="partstat"),
        sa.CheckConstraint(sa.column("source").in_(ANSWER_SOURCES), name="source"),
    )


class RefusedReply(db.Model):
    """A mail read from the organizer mailbox that changed nothing, and why: for the booker and admins to read.

    kind: `rejected` (an iTIP message refused: unproven sender, stale,
    a COUNTER, a mail over REPLY_MAX_BYTES, …) or `unusable` (no iTIP message
    in it). One row per mail and attendee answered for; `key` keeps a mail
    read twice (after a crash) to one row.
    """

    __tablename__ = "refused_replies"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: sha-256 hex of the mail's Message-ID (or its bytes) and the attendee
    key: Mapped[str] = mapped_column(sa.String(64), unique=True)
    #: the meeting its UID names, when it names one
    meeting_id: Mapped[Optional[int]] = mapped_column(sa.ForeignKey("meetings.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(10))
    #: iTIP METHOD (REPLY, COUNTER, REFRESH, …), '' when none was found
    method: Mapped[str] = mapped_column(sa.String(20), default="")
    #: the mail's From as written (all its addresses)
    sender: Mapped[str] = mapped_column(sa.String(500), default="")
    #: the ATTENDEE the message answers for, lower-case, '' when none
    attendee: Mapped[str] = mapped_column(sa.String(254), default="")
    subject: Mapped[str] = mapped_column(sa.String(400), default="")
    #: why it did not count: the Vietnamese sentence with %(name)s places, and its values (text.say)
    reason: Mapped[str] = mapped_column(sa.String(500))
    reason_params: Mapped[Optional[dict]] = mapped_column(sa.JSON)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    meeting: Mapped[Optional[Meeting]] = relationship()

    __table_args__ = (sa.CheckConstraint(sa.column("kind").in_(REFUSAL_KINDS), name="kind"),)

    @property
    def reason_sentence(self):
        """The reason as a `text.Sentence`: Vietnamese as a str, and `shown` says it in the page's language."""
        return Sentence(self.reason, self.reason_params or {})


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
    #: the ETag last served and since when it stands: the feed's Last-Modified moves whenever what it
    #: serves changes, whatever changed (a booker's agency has no time of change of its own)
    served_etag: Mapped[Optional[str]] = mapped_column(sa.String(40))
    served_since: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)

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
