"""Network operations: each site's live state, its history of state changes, and its incidents."""

from datetime import datetime
from typing import Optional

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from vmeeting.auth.models import User
from vmeeting.core.database import UTCDateTime, utcnow
from vmeeting.core.extensions import db
from vmeeting.registry.models import Endpoint

STATES = ("up", "down", "unknown")
SEVERITIES = ("minor", "major", "critical")
INCIDENT_STATUSES = ("open", "resolved")
INCIDENT_SOURCES = ("manual", "network", "readiness")


class NetworkState(db.Model):
    """The last known state of one endpoint, rewritten by every sweep; one row per swept endpoint.

    `failures` counts the failed sweeps in a row: the site is `down` once it
    reaches NETWORK_DOWN_AFTER; one answer makes it `up` again.
    """

    __tablename__ = "network_states"

    endpoint_id: Mapped[int] = mapped_column(sa.ForeignKey("endpoints.id", ondelete="CASCADE"), primary_key=True)
    state: Mapped[str] = mapped_column(sa.String(10), default="unknown", index=True)
    #: when the site entered its state
    since: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    failures: Mapped[int] = mapped_column(default=0)
    last_checked_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    #: the last sweep the site answered
    last_seen_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    rtt_ms: Mapped[Optional[float]] = mapped_column()
    #: the wire method of the last probe: sip-udp, sip-tcp, sip-tls or tcp
    method: Mapped[Optional[str]] = mapped_column(sa.String(20))
    error: Mapped[Optional[str]] = mapped_column(sa.String(300))

    endpoint: Mapped[Endpoint] = relationship()

    __table_args__ = (sa.CheckConstraint(sa.column("state").in_(STATES), name="state"),)


class NetworkEvent(db.Model):
    """One change of a site's state (not every sweep): the history, pruned after a year."""

    __tablename__ = "network_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    endpoint_id: Mapped[int] = mapped_column(sa.ForeignKey("endpoints.id", ondelete="CASCADE"))
    state: Mapped[str] = mapped_column(sa.String(10))
    previous: Mapped[str] = mapped_column(sa.String(10))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    error: Mapped[Optional[str]] = mapped_column(sa.String(300))

    __table_args__ = (
        sa.Index("ix_network_events_endpoint_time", "endpoint_id", "occurred_at"),
        sa.CheckConstraint(sa.column("state").in_(STATES), name="state"),
    )


class NetworkSweep(db.Model):
    """One sweep of every active site: when it ran, how long it took, and what it found; kept a week.

    The web processes read the last one for `/metrics` and the network board, so a
    sweep run by the worker is seen everywhere. Sweeps recorded without probing
    (`record_sweep` alone) take their start as their end.
    """

    __tablename__ = "network_sweeps"

    id: Mapped[int] = mapped_column(primary_key=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    #: sites probed, and active sites that could not be (no address, or probe `none`)
    probed: Mapped[int] = mapped_column(default=0)
    unprobed: Mapped[int] = mapped_column(default=0)
    #: of the probed sites, those that answered this sweep
    answered: Mapped[int] = mapped_column(default=0)
    went_down: Mapped[int] = mapped_column(default=0)
    came_up: Mapped[int] = mapped_column(default=0)

    @property
    def duration_seconds(self):
        """Seconds from the sweep's start to its results written (float)."""
        return (self.finished_at - self.started_at).total_seconds()


class Incident(db.Model):
    """A problem at a site, opened by someone (or by the sweep, when the site goes down) and resolved later."""

    __tablename__ = "incidents"

    id: Mapped[int] = mapped_column(primary_key=True)
    endpoint_id: Mapped[int] = mapped_column(sa.ForeignKey("endpoints.id"))
    title: Mapped[str] = mapped_column(sa.String(200))
    severity: Mapped[str] = mapped_column(sa.String(10), default="major")
    status: Mapped[str] = mapped_column(sa.String(10), default="open")
    source: Mapped[str] = mapped_column(sa.String(10), default="manual")
    note: Mapped[str] = mapped_column(sa.Text, default="")
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    opened_by_id: Mapped[Optional[int]] = mapped_column(sa.ForeignKey("users.id"))
    resolved_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    resolved_by_id: Mapped[Optional[int]] = mapped_column(sa.ForeignKey("users.id"))
    resolution: Mapped[str] = mapped_column(sa.Text, default="")

    endpoint: Mapped[Endpoint] = relationship()
    opened_by: Mapped[Optional[User]] = relationship(foreign_keys=[opened_by_id])
    resolved_by: Mapped[Optional[User]] = relationship(foreign_keys=[resolved_by_id])

    __table_args__ = (
        sa.Index("ix_incidents_endpoint_status", "endpoint_id", "status"),
        sa.Index("ix_incidents_status_opened", "status", "opened_at"),
        sa.CheckConstraint(sa.column("severity").in_(SEVERITIES), name="severity"),
        sa.CheckConstraint(sa.column("status").in_(INCIDENT_STATUSES), name="status"),
        sa.CheckConstraint(sa.column("source").in_(INCIDENT_SOURCES), name="source"),
    )

    @property
    def is_open(self):
        return self.status == "open"
