"""The outbox: one row per mail to one person, from the change that calls for it until the server accepts it."""

from datetime import datetime
from typing import Optional

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from vmeeting.core.database import UTCDateTime, utcnow
from vmeeting.core.extensions import db
from vmeeting.core.text import N_

MAIL_STATUSES = ("pending", "sent", "failed", "superseded")
#: each status as pages name it, in Vietnamese; they show it through the catalogue (text.N_)
STATUS_LABELS = {"pending": N_("Chờ gửi"), "sent": N_("Đã gửi"), "failed": N_("Thất bại"), "superseded": N_("Đã thay thế")}
MAIL_METHODS = ("REQUEST", "CANCEL")


class Delivered:
    """The columns of a piece of outgoing work that workers claim, attempt and settle (a mail, a webhook POST).

    Shared by `OutboxMail` and `WebhookDelivery` so that both obey one claim protocol
    (`service.claim_rows`): a row is due while `pending` and `next_attempt_at` has come; a worker that
    claims it names itself in `claimed_by` and holds it until `next_attempt_at`, which it renews while
    it works.
    """

    status: Mapped[str] = mapped_column(sa.String(20), default="pending")
    attempt_count: Mapped[int] = mapped_column(default=0)
    #: when the next attempt is due; while a worker holds the row (`claimed_by`), when its claim runs out
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: the worker (host:pid:drain) that claimed the row for an attempt; None once the attempt's outcome is
    #: recorded. Its claim lasts until next_attempt_at, which it renews while it works (service.CLAIM_LEASE)
    claimed_by: Mapped[Optional[str]] = mapped_column(sa.String(200))
    #: when that worker claimed it
    claimed_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    #: the last attempt's error (for a webhook: the receiver's status and the start of its body)
    last_error: Mapped[str] = mapped_column(sa.Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)

    @property
    def is_pending(self):
        return self.status == "pending"

    def is_claimed(self, now):
        """Tell whether a worker holds the row at `now` (an aware instant): claimed, and its lease not run out."""
        return self.status == "pending" and self.claimed_by is not None and self.next_attempt_at > now


class OutboxMail(Delivered, db.Model):
    """One e-mail to one person: written with the change it announces, built once, delivered by the workers.

    A row is written either whole (`message` set: a plain mail) or compact
    (`builder` and `payload` set, `message` NULL): the worker then builds the
    message with the registered builder, stores it before the first attempt,
    and every retry sends those same bytes.
    """

    __tablename__ = "outbox_mails"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: unique per piece of work (for an invite: meeting uid, sequence, method, recipient): queued once
    key: Mapped[str] = mapped_column(sa.String(400), unique=True)
    #: the meeting the mail is about (named by id only: the outbox knows mails, not meetings)
    meeting_id: Mapped[Optional[int]] = mapped_column(sa.ForeignKey("meetings.id", ondelete="CASCADE"), index=True)
    recipient: Mapped[str] = mapped_column(sa.String(254))
    recipient_name: Mapped[str] = mapped_column(sa.String(200), default="")
    #: the iTIP method of the calendar part; None for a plain mail without one (a readiness escalation)
    method: Mapped[Optional[str]] = mapped_column(sa.String(10))
    sequence: Mapped[int] = mapped_column(default=0)
    subject: Mapped[str] = mapped_column(sa.String(400))
    #: the whole RFC 5322 message, 7-bit, as it goes over the wire; NULL until the builder has built it
    message: Mapped[Optional[str]] = mapped_column(sa.Text)
    #: the registered builder that turns `payload` into `message` (e.g. "invite"); None for a mail written whole
    builder: Mapped[Optional[str]] = mapped_column(sa.String(40))
    #: what the builder needs beyond the row's own columns, small (JSON object)
    payload: Mapped[Optional[dict]] = mapped_column(sa.JSON)
    __table_args__ = (
        sa.CheckConstraint(sa.column("status").in_(MAIL_STATUSES), name="status"),
        sa.CheckConstraint(sa.column("method").in_(MAIL_METHODS), name="method"),
        # the workers' question: what is pending and due?
        sa.Index("ix_outbox_mails_due", "status", "next_attempt_at"),
    )

    @property
    def is_invite(self):
        """Tell whether the mail carries a calendar (REQUEST or CANCEL), rather than plain text."""
        return self.method is not None

    @property
    def is_built(self):
        """Tell whether the message is written (a compact row is not, until the worker builds it)."""
        return self.message is not None


WEBHOOK_STATUSES = ("pending", "sent", "failed", "superseded")


class WebhookDelivery(Delivered, db.Model):
    """The JSON POST to WEBHOOK_URL that repeats one outbox mail (an SMS or Zalo gateway's feed), and its fate.

    One row per mail, written by the worker's webhook tick for every mail the
    outbox holds (not change records), then delivered with the mail's own
    retries and claims (`outbox.webhooks`).
    """

    __tablename__ = "webhook_deliveries"

    id: Mapped[int] = mapped_column(primary_key=True)
    mail_id: Mapped[int] = mapped_column(sa.ForeignKey("outbox_mails.id", ondelete="CASCADE"), unique=True)

    __table_args__ = (
        sa.CheckConstraint(sa.column("status").in_(WEBHOOK_STATUSES), name="status"),
        sa.Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
    )
