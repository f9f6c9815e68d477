"""Readiness of each site for each sitting: the current state, its history, and the work already done."""

from datetime import datetime
from typing import Optional

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from vmeeting.auth.models import User
from vmeeting.booking.models import Occurrence
from vmeeting.core.database import UTCDateTime, utcnow
from vmeeting.core.extensions import db
from vmeeting.registry.models import Endpoint

STATUSES = ("pending", "ready", "issue")
#: the technician's checklist, in the order it is done on site (DOMAIN.md)
CHECKS = ("camera", "microphone", "display", "network", "test_call")
EVENT_KINDS = ("confirmation", "probe")
JOB_KINDS = ("probe", "escalation")


class Readiness(db.Model):
    """The state of one endpoint for one occurrence: the technician's word and the latest probe.

    A row appears with the first confirmation or probe; a site without one is pending.
    """

    __tablename__ = "readiness"

    id: Mapped[int] = mapped_column(primary_key=True)
    occurrence_id: Mapped[int] = mapped_column(sa.ForeignKey("occurrences.id", ondelete="CASCADE"))
    endpoint_id: Mapped[int] = mapped_column(sa.ForeignKey("endpoints.id"), index=True)
    status: Mapped[str] = mapped_column(sa.String(20), default="pending")
    #: the checklist as last confirmed: {check name: bool} over CHECKS
    checks: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    note: Mapped[str] = mapped_column(sa.Text, default="")
    confirmed_by_id: Mapped[Optional[int]] = mapped_column(sa.ForeignKey("users.id"))
    confirmed_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    #: the latest probe; None while the site has never been probed
    is_reachable: Mapped[Optional[bool]] = mapped_column()
    rtt_ms: Mapped[Optional[float]] = mapped_column()
    #: the wire method used: sip-udp, sip-tcp, sip-tls or tcp
    probe_method: Mapped[Optional[str]] = mapped_column(sa.String(20))
    checked_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    probe_error: Mapped[Optional[str]] = mapped_column(sa.String(300))

    occurrence: Mapped[Occurrence] = relationship()
    endpoint: Mapped[Endpoint] = relationship()
    confirmed_by: Mapped[Optional[User]] = relationship()

    __table_args__ = (
        sa.UniqueConstraint("occurrence_id", "endpoint_id", name="uq_readiness_occurrence_endpoint"),
        sa.CheckConstraint(sa.column("status").in_(STATUSES), name="status"),
    )


class ReadinessEvent(db.Model):
    """One confirmation or probe result, kept for ever: the history and the report read these."""

    __tablename__ = "readiness_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    occurrence_id: Mapped[int] = mapped_column(sa.ForeignKey("occurrences.id", ondelete="CASCADE"), index=True)
    endpoint_id: Mapped[int] = mapped_column(sa.ForeignKey("endpoints.id"))
    kind: Mapped[str] = mapped_column(sa.String(20))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: a confirmation's status, checklist, note and author
    status: Mapped[Optional[str]] = mapped_column(sa.String(20))
    checks: Mapped[Optional[dict]] = mapped_column(sa.JSON)
    note: Mapped[Optional[str]] = mapped_column(sa.Text)
    actor_id: Mapped[Optional[int]] = mapped_column(sa.ForeignKey("users.id"))
    #: a probe's outcome
    is_reachable: Mapped[Optional[bool]] = mapped_column()
    rtt_ms: Mapped[Optional[float]] = mapped_column()
    probe_method: Mapped[Optional[str]] = mapped_column(sa.String(20))
    probe_error: Mapped[Optional[str]] = mapped_column(sa.String(300))

    actor: Mapped[Optional[User]] = relationship()

    __table_args__ = (
        sa.CheckConstraint(sa.column("kind").in_(EVENT_KINDS), name="kind"),
        sa.Index("ix_readiness_events_endpoint_occurred", "endpoint_id", "occurred_at"),
    )


class ReadinessJob(db.Model):
    """A piece of background work done for a sitting: a scheduled probe round or the escalation mail.

    Keyed by the sitting's start as well, so a moved sitting is probed and escalated
    again at its new time, while a second worker or a rerun finds the work done.
    """

    __tablename__ = "readiness_jobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    occurrence_id: Mapped[int] = mapped_column(sa.ForeignKey("occurrences.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(sa.String(20))
    #: minutes before the start this work was scheduled for
    minutes_before: Mapped[int]
    #: the sitting's start when the work was done
    for_starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    done_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: what was done: sites probed, mails queued
    detail: Mapped[dict] = mapped_column(sa.JSON, default=dict)

    __table_args__ = (
        sa.UniqueConstraint("occurrence_id", "kind", "minutes_before", "for_starts_at",
                            name="uq_readiness_jobs_work"),
        sa.CheckConstraint(sa.column("kind").in_(JOB_KINDS), name="kind"),
    )
