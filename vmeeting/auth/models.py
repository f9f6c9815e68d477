"""Users, their API tokens and the record of sign-in attempts."""

import hashlib
from datetime import datetime
from typing import Optional

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship

from vmeeting.database import UTCDateTime, utcnow
from vmeeting.extensions import db

ROLES = ("admin", "scheduler", "technician", "viewer")

#: what each role may do; every route names one of these permissions
PERMISSIONS = {
    "registry.view": {"admin", "scheduler", "technician", "viewer"},
    "endpoints.edit": {"admin", "scheduler"},
    "groups.edit": {"admin", "scheduler"},
    "units.edit": {"admin"},
    "bridges.edit": {"admin"},
    "users.manage": {"admin"},
    "audit.view": {"admin", "scheduler"},
    "calendar.edit": {"admin"},
    "meetings.view": {"admin", "scheduler", "technician", "viewer"},
    "meetings.book": {"admin", "scheduler"},
    #: an invite's RSVP link answers in the attendee's name: the outbox shows it to administrators only
    "invites.rsvp_links": {"admin"},
    "readiness.confirm": {"admin", "scheduler", "technician"},
    #: network operations: everyone sees the sites' state and incidents; technicians handle their own sites'
    "network.view": {"admin", "scheduler", "technician", "viewer"},
    "incidents.open": {"admin", "scheduler", "technician"},
    #: the roll-call of a sitting: the service narrows technicians to the chair site's
    "attendance.mark": {"admin", "scheduler", "technician"},
}


class User(UserMixin, db.Model):
    """A person who signs in: office staff, a technician, an admin or a viewer."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: stored lower-case; sign-in ignores case
    username: Mapped[str] = mapped_column(sa.String(64), unique=True)
    full_name: Mapped[str] = mapped_column(sa.String(200), default="")
    email: Mapped[Optional[str]] = mapped_column(sa.String(254))
    phone: Mapped[Optional[str]] = mapped_column(sa.String(40))
    role: Mapped[str] = mapped_column(sa.String(20))
    password_hash: Mapped[Optional[str]] = mapped_column(sa.String(256))
    is_enabled: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)

    tokens: Mapped[list["ApiToken"]] = relationship(back_populates="user")

    __table_args__ = (sa.CheckConstraint(sa.column("role").in_(ROLES), name="role"),)

    @property
    def is_active(self):
        return self.is_enabled

    @property
    def session_stamp(self):
        """A short fingerprint of the password hash: a new password changes it."""
        return hashlib.sha256((self.password_hash or "").encode()).hexdigest()[:16]

    def get_id(self):
        """The id Flask-Login keeps in the session and the remember-me cookie, stamped.

        Carrying the stamp in both means a password change (or reset by an admin)
        ends every session and every remembered browser opened before it.
        """
        return f"{self.id}:{self.session_stamp}"

    @property
    def display_name(self):
        return self.full_name or self.username

    def can(self, permission):
        """Tell whether this user's role grants the permission."""
        return self.is_enabled and self.role in PERMISSIONS[permission]

    def __repr__(self):
        return f"<User {self.username} ({self.role})>"


class ApiToken(db.Model):
    """A bearer token for the JSON API; only its SHA-256 is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    #: hex SHA-256 of the token; the token itself is shown once and never stored
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    #: the first characters, so a person can tell their tokens apart
    prefix: Mapped[str] = mapped_column(sa.String(12))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    revoked_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship(back_populates="tokens")


class LoginAttempt(db.Model):
    """One sign-in attempt; recent failures slow down guessing."""

    __tablename__ = "login_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(sa.String(64), index=True)
    remote_addr: Mapped[str] = mapped_column(sa.String(64), index=True)
    attempted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    is_success: Mapped[bool] = mapped_column(default=False)
