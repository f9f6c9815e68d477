"""One row per recorded change."""

from datetime import datetime
from typing import TYPE_CHECKING, Any, Optional

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from vmeeting.core.database import UTCDateTime, utcnow
from vmeeting.core.extensions import db

if TYPE_CHECKING:  # audit sits below auth (DESIGN.md): the user table is named, not imported
    from vmeeting.auth.models import User


class AuditEvent(db.Model):
    """A change to a record: the actor, the moment, and each field's before and after."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    #: None for changes made by the system (CLI without a user, the worker)
    actor_id: Mapped[Optional[int]] = mapped_column(sa.ForeignKey("users.id"))
    #: create, update, retire, import, cancel, ...
    action: Mapped[str] = mapped_column(sa.String(40))
    #: the table's singular name: endpoint, unit, bridge, group, user, meeting, ...
    entity_type: Mapped[str] = mapped_column(sa.String(40))
    entity_id: Mapped[str] = mapped_column(sa.String(40))
    #: {field: [before, after]}
    changes: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    summary: Mapped[str] = mapped_column(sa.String(500), default="")

    #: the user who made the change; the class is resolved by name when the mappers are configured
    actor: Mapped[Optional["User"]] = relationship("User")

    __table_args__ = (sa.Index("ix_audit_events_entity", "entity_type", "entity_id"),)
