"""The approvals a booking across scopes waits for (issue 27): one row per (meeting, approving unit)."""

from datetime import datetime
from typing import Optional

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from vmeeting.auth.models import User
from vmeeting.booking.models import Meeting
from vmeeting.core.database import UTCDateTime, utcnow
from vmeeting.core.extensions import db
from vmeeting.registry.models import AdminUnit

APPROVAL_STATUSES = ("pending", "approved", "refused")


class Approval(db.Model):
    """One approving unit's answer to a booking that holds its sites (booking.approvals).

    A row is asked again (status back to pending, `round` + 1) when a change that matters touches its
    sites; what each round decided stays in the audit trail. `endpoint_ids` are the unit's sites in the
    meeting as last asked (a refusal takes exactly these off).
    """

    __tablename__ = "approvals"

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(sa.ForeignKey("meetings.id", ondelete="CASCADE"))
    #: the approving unit: the nearest unit from the sites' own upward that has an approver (or the province's)
    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("admin_units.id"), index=True)
    status: Mapped[str] = mapped_column(sa.String(20), default="pending")
    #: the meeting's sites this unit answers for, in the sites' order
    endpoint_ids: Mapped[list[int]] = mapped_column(sa.JSON, default=list)
    #: 1 for the booking; each change that asks again adds one (the mails' keys name it)
    round: Mapped[int] = mapped_column(default=1)
    requested_by_id: Mapped[Optional[int]] = mapped_column(sa.ForeignKey("users.id"))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_by_id: Mapped[Optional[int]] = mapped_column(sa.ForeignKey("users.id"))
    decided_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    #: a refusal's reason (required), an approval's note (optional); the automatic refusal says so
    reason: Mapped[Optional[str]] = mapped_column(sa.String(500))
    #: the meeting's invites have gone out (it was scheduled when a change asked this row, or a round was
    #: settled): the next settling sends an update, and a cancel a CANCEL
    invites_sent: Mapped[bool] = mapped_column(default=False)

    meeting: Mapped[Meeting] = relationship()
    unit: Mapped[AdminUnit] = relationship()
    requested_by: Mapped[Optional[User]] = relationship(foreign_keys=[requested_by_id])
    decided_by: Mapped[Optional[User]] = relationship(foreign_keys=[decided_by_id])

    __table_args__ = (
        sa.CheckConstraint(sa.column("status").in_(APPROVAL_STATUSES), name="status"),
        sa.UniqueConstraint("meeting_id", "unit_id", name="uq_approvals_meeting_unit"),
        # the inbox and the tick: what is still pending
        sa.Index("ix_approvals_status_unit", "status", "unit_id"),
    )
