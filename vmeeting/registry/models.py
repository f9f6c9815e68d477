"""The registry's tables: units, their succession, bridges, endpoints, groups."""

from datetime import date, datetime
from typing import Any, Optional

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from vmeeting.auth.models import User
from vmeeting.core.database import UTCDateTime, utcnow
from vmeeting.core.extensions import db
from vmeeting.core.text import clean, fold, sort_key

UNIT_LEVELS = ("province", "district", "commune")
ENDPOINT_STATUSES = ("active", "maintenance", "retired")
PROBE_METHODS = ("sip-options", "tcp", "none")
SITE_CATEGORIES = ("provincial", "agency", "district", "commune", "other")
TRANSPORTS = ("tslcd", "wan", "internet")
PROTOCOLS = ("sip", "h323", "webrtc")


class AdminUnit(db.Model):
    """A province, district-level or commune-level unit, valid between two dates.

    Codes are re-used after reorganisations, so a unit is keyed by id and a
    code names it only together with its validity dates.
    """

    __tablename__ = "admin_units"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(20), index=True)
    #: the official name with its kind: "Huyện Chi Lăng", "Xã Hòa Bình"
    name: Mapped[str] = mapped_column(sa.String(200))
    #: tỉnh, thành phố, huyện, thị xã, xã, phường, thị trấn
    kind: Mapped[str] = mapped_column(sa.String(20))
    level: Mapped[str] = mapped_column(sa.String(10))
    parent_id: Mapped[Optional[int]] = mapped_column(sa.ForeignKey("admin_units.id"), index=True)
    #: position in the official listing, for sorting among siblings
    position: Mapped[int] = mapped_column(default=0)
    valid_from: Mapped[Optional[date]] = mapped_column(sa.Date)
    #: the last day the unit existed; None while it exists
    valid_to: Mapped[Optional[date]] = mapped_column(sa.Date)
    search_key: Mapped[str] = mapped_column(sa.String(400), default="")

    parent: Mapped[Optional["AdminUnit"]] = relationship(
        remote_side="AdminUnit.id", back_populates="children"
    )
    children: Mapped[list["AdminUnit"]] = relationship(
        back_populates="parent", order_by="AdminUnit.position"
    )

    __table_args__ = (sa.CheckConstraint(sa.column("level").in_(UNIT_LEVELS), name="level"),)

    @property
    def full_name(self):
        """The name with its parent, since names repeat inside a province."""
        if self.parent is not None and self.level == "commune":
            return f"{self.name} ({self.parent.name})"
        return self.name

    def is_valid_on(self, day):
        """Tell whether the unit existed on that day."""
        return (self.valid_from is None or self.valid_from <= day) and (
            self.valid_to is None or day <= self.valid_to
        )

    def __repr__(self):
        return f"<AdminUnit {self.code} {self.name}>"


class UnitSuccession(db.Model):
    """A reorganisation link: an old unit passes all or part of itself to a new one."""

    __tablename__ = "unit_successions"

    id: Mapped[int] = mapped_column(primary_key=True)
    predecessor_id: Mapped[int] = mapped_column(sa.ForeignKey("admin_units.id"), index=True)
    successor_id: Mapped[int] = mapped_column(sa.ForeignKey("admin_units.id"), index=True)
    is_partial: Mapped[bool] = mapped_column(default=False)
    legal_basis: Mapped[str] = mapped_column(sa.String(200), default="")
    effective_on: Mapped[date] = mapped_column(sa.Date)

    predecessor: Mapped[AdminUnit] = relationship(foreign_keys=[predecessor_id])
    successor: Mapped[AdminUnit] = relationship(foreign_keys=[successor_id])


class Bridge(db.Model):
    """An MCU bridge; a meeting on it may join at most `ports` endpoints at once."""

    __tablename__ = "bridges"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(40), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    ports: Mapped[int]
    address: Mapped[str] = mapped_column(sa.String(200), default="")
    notes: Mapped[str] = mapped_column(sa.Text, default="")
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (sa.CheckConstraint("ports > 0", name="ports_positive"),)


endpoint_group_members = sa.Table(
    "endpoint_group_members",
    db.metadata,
    sa.Column("group_id", sa.ForeignKey("endpoint_groups.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("endpoint_id", sa.ForeignKey("endpoints.id"), primary_key=True, index=True),
)


class Endpoint(db.Model):
    """A conference site: a room system or PC client that joins meetings."""

    __tablename__ = "endpoints"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(40), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("admin_units.id"), index=True)
    category: Mapped[str] = mapped_column(sa.String(20), default="commune")
    address: Mapped[str] = mapped_column(sa.String(300), default="")
    sip_uri: Mapped[str] = mapped_column(sa.String(300), default="")
    probe: Mapped[str] = mapped_column(sa.String(20), default="sip-options")
    bridge_id: Mapped[Optional[int]] = mapped_column(sa.ForeignKey("bridges.id"), index=True)
    status: Mapped[str] = mapped_column(sa.String(20), default="active", index=True)
    contact_name: Mapped[str] = mapped_column(sa.String(200), default="")
    contact_phone: Mapped[str] = mapped_column(sa.String(40), default="")
    contact_emails: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    technician_id: Mapped[Optional[int]] = mapped_column(sa.ForeignKey("users.id"), index=True)
    transport: Mapped[str] = mapped_column(sa.String(20), default="tslcd")
    protocol: Mapped[str] = mapped_column(sa.String(20), default="sip")
    device_model: Mapped[str] = mapped_column(sa.String(120), default="")
    device_serial: Mapped[str] = mapped_column(sa.String(120), default="")
    #: the conferencing platform's own room or account reference
    platform_ref: Mapped[str] = mapped_column(sa.String(120), default="")
    notes: Mapped[str] = mapped_column(sa.Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    retired_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    #: folded "name code" (text.fold), for accent- and case-blind search
    search_key: Mapped[str] = mapped_column(sa.String(400), default="", index=True)
    #: case-folded name with its accents, to rank exact-accent matches first
    name_casefold: Mapped[str] = mapped_column(sa.String(200), default="")
    #: ICU collation key of the name, so the database sorts in Vietnamese order
    name_sort_key: Mapped[bytes] = mapped_column(sa.LargeBinary, default=b"", index=True)

    unit: Mapped[AdminUnit] = relationship()
    bridge: Mapped[Optional[Bridge]] = relationship()
    technician: Mapped[Optional[User]] = relationship()
    groups: Mapped[list["EndpointGroup"]] = relationship(
        secondary=endpoint_group_members, back_populates="endpoints"
    )

    __table_args__ = (
        sa.CheckConstraint(sa.column("status").in_(ENDPOINT_STATUSES), name="status"),
        sa.CheckConstraint(sa.column("probe").in_(PROBE_METHODS), name="probe"),
        sa.CheckConstraint(sa.column("category").in_(SITE_CATEGORIES), name="category"),
    )

    def refresh_keys(self):
        """Recompute the stored search and sort keys from name and code."""
        self.name = clean(self.name)
        self.search_key = fold(f"{self.name} {self.code}")
        self.name_casefold = self.name.casefold()
        self.name_sort_key = sort_key(self.name)

    @property
    def is_bookable(self):
        return self.status == "active"

    def __repr__(self):
        return f"<Endpoint {self.code} {self.name}>"


#: codes are unique without regard to case (`ls-178` is `LS-178`); lower() folds ASCII alike on
#: SQLite and PostgreSQL, and codes are ASCII (registry.fields.CODE_RE)
sa.Index("uq_endpoints_code_lower", sa.func.lower(Endpoint.code), unique=True)


class EndpointGroup(db.Model):
    """A named, saved selection of endpoints (e.g. "Giao ban khối huyện")."""

    __tablename__ = "endpoint_groups"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200), unique=True)
    description: Mapped[str] = mapped_column(sa.Text, default="")
    created_by_id: Mapped[Optional[int]] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    endpoints: Mapped[list[Endpoint]] = relationship(
        secondary=endpoint_group_members, back_populates="groups", order_by=Endpoint.name_sort_key
    )
    created_by: Mapped[Optional[User]] = relationship()


class ImportBatch(db.Model):
    """An uploaded endpoint file, parsed and kept between the preview and its confirmation."""

    __tablename__ = "import_batches"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: unguessable; the confirm form carries it instead of the id
    token: Mapped[str] = mapped_column(sa.String(64), unique=True)
    #: only this user may confirm the batch
    created_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    filename: Mapped[str] = mapped_column(sa.String(255), default="")
    #: the rows as read from the file (column → text, plus "_row", the spreadsheet row number)
    rows: Mapped[list[dict[str, Any]]] = mapped_column(sa.JSON, default=list)
    #: set once the batch has been applied; an applied batch cannot be applied again
    applied_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)

    created_by: Mapped[User] = relationship()

    def __repr__(self):
        return f"<ImportBatch {self.id} {self.filename}>"
