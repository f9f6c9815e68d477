"""The roll-call: whether each site of a sitting was present, late or absent, and why."""

from datetime import datetime
from typing import Optional

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from vmeeting.auth.models import User
from vmeeting.booking.models import Occurrence
from vmeeting.core.database import UTCDateTime, utcnow
from vmeeting.core.extensions import db
from vmeeting.registry.models import Endpoint

STATUSES = ("present", "late", "absent")


class Attendance(db.Model):
    """One site's mark for one sitting; a site without a row is unmarked."""

    __tablename__ = "attendance"

    id: Mapped[int] = mapped_column(primary_key=True)
    occurrence_id: Mapped[int] = mapped_column(sa.ForeignKey("occurrences.id", ondelete="CASCADE"))
    endpoint_id: Mapped[int] = mapped_column(sa.ForeignKey("endpoints.id"), index=True)
    status: Mapped[str] = mapped_column(sa.String(10))
    #: why the site was absent (or late): required for absent
    reason: Mapped[str] = mapped_column(sa.String(300), default="")
    marked_by_id: Mapped[Optional[int]] = mapped_column(sa.ForeignKey("users.id"))
    marked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    occurrence: Mapped[Occurrence] = relationship()
    endpoint: Mapped[Endpoint] = relationship()
    marked_by: Mapped[Optional[User]] = relationship()

    __table_args__ = (
        sa.UniqueConstraint("occurrence_id", "endpoint_id", name="uq_attendance_occurrence_endpoint"),
        sa.CheckConstraint(sa.column("status").in_(STATUSES), name="status"),
        sa.CheckConstraint("status <> 'absent' OR reason <> ''", name="absent_reason"),
    )
