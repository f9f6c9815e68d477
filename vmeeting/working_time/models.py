"""What the government declares each year beside the fixed holidays: days off and working days."""

from datetime import date, datetime
from typing import Optional

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from vmeeting.core.database import UTCDateTime, utcnow
from vmeeting.core.extensions import db

#: day_off: a weekday declared off (nghỉ bù, a bridge day); working_day: a weekend day worked (làm bù)
DECLARED_KINDS = ("day_off", "working_day")


class DeclaredDay(db.Model):
    """A day the government's yearly notice makes off or working, against the usual week."""

    __tablename__ = "declared_days"

    #: the local calendar day (Asia/Ho_Chi_Minh)
    day: Mapped[date] = mapped_column(sa.Date, primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(20))
    #: what the notice calls it, e.g. "Nghỉ bù Quốc khánh", "Làm bù cho ngày 02/01/2026"
    name: Mapped[str] = mapped_column(sa.String(200))
    created_by_id: Mapped[Optional[int]] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (sa.CheckConstraint(sa.column("kind").in_(DECLARED_KINDS), name="kind"),)

    def __repr__(self):
        return f"<DeclaredDay {self.day} {self.kind}>"
