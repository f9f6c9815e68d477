"""Users, their API tokens and the record of sign-in attempts."""

import hashlib
from datetime import datetime
from typing import Optional

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship

from vmeeting.core.database import UTCDateTime, utcnow
from vmeeting.core.extensions import db

ROLES = ("admin", "scheduler", "technician", "viewer")

#: what each role may do; every route names one of these permissions
PERMISSIONS = {
    "registry.view": {"admin", "scheduler", "technician", "viewer"},
    "endpoints.edit": {"admin", "scheduler"},
    #: set where the probes dial (an endpoint's SIP address and probe kind): whoever may, can make the
    #: server knock on any host and port and read the answer from the board, so only admins
    "endpoints.dial": {"admin"},
    "groups.edit": {"admin", "scheduler"},
    "units.edit": {"admin"},
    "bridges.edit": {"admin"},
    "users.manage": {"admin"},
    "audit.view": {"admin", "scheduler"},
    "calendar.edit": {"admin"},
    "meetings.view": {"admin", "scheduler", "technician", "viewer"},
    "meetings.book": {"admin", "scheduler"},
    #: an office's own giấy mời template (documents): its words go into every meeting's draft
    "documents.templates": {"admin"},
    #: an invite's RSVP link answers in the attendee's name: the outbox shows it to administrators only
    "invites.rsvp_links": {"admin"},
    #: the replies the organizer mailbox refused, of every meeting (a meeting's booker reads its own on its page)
    "invites.refused_replies": {"admin"},
    "readiness.confirm": {"admin", "scheduler", "technician"},
    #: network operations: everyone sees the sites' state and incidents; technicians handle their own sites'
    "network.view": {"admin", "scheduler", "technician", "viewer"},
    "incidents.open": {"admin", "scheduler", "technician"},
    #: the roll-call of a sitting: the service narrows technicians to the chair site's
    "attendance.mark": {"admin", "scheduler", "technician"},
    #: calendar feeds (.ics subscriptions): office staff make them for anyone, a technician for themself
    "feeds.use": {"admin", "scheduler", "technician"},
}


class User(UserMixin, db.Model):
    """A person who signs in: office staff, a technician, an admin or a viewer."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: stored lower-case; sign-in ignores case
    username: Mapped[str] = mapped_column(sa.String(64), unique=True)
    full_name: Mapped[str] = mapped_column(sa.String(200), default="")
    #: the agency the person books for (e.g. "Văn phòng UBND tỉnh Lạng Sơn"): named as the invites' organizer
    agency: Mapped[str] = mapped_column(sa.String(200), default="")
    email: Mapped[Optional[str]] = mapped_column(sa.String(254))
    phone: Mapped[Optional[str]] = mapped_column(sa.String(40))
    role: Mapped[str] = mapped_column(sa.String(20))
    password_hash: Mapped[Optional[str]] = mapped_column(sa.String(256))
    is_enabled: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    #: the administrative unit the person works for (a commune's clerk, a district's technician); None for the
    #: province office. The basis of scopes (issue 27): a unit is named with its validity, so a home unit
    #: that ended in a reorganisation is shown as such until someone names its successor
    home_unit_id: Mapped[Optional[int]] = mapped_column(sa.ForeignKey("admin_units.id"), index=True)
    #: approves bookings of the sites of the home unit and the units under it (issue 27, booking.approvals);
    #: with no home unit, or the province's, for the units that have no approver of their own
    approves: Mapped[bool] = mapped_column(default=False, server_default=sa.false())

    tokens: Mapped[list["ApiToken"]] = relationship(back_populates="user")
    #: the registry's AdminUnit, resolved by name when the mappers are configured (auth sits below the registry)
    home_unit = relationship("AdminUnit", foreign_keys=[home_unit_id])

    #: the key of the signed-in browser's UserSession, set at sign-in and when a request loads the user
    session_key = None

    __table_args__ = (sa.CheckConstraint(sa.column("role").in_(ROLES), name="role"),)

    @property
    def is_active(self):
        return self.is_enabled

    @property
    def session_stamp(self):
        """A short fingerprint of the password hash: a new password changes it."""
        return hashlib.sha256((self.password_hash or "").encode()).hexdigest()[:16]

    def get_id(self):
        """The id Flask-Login keeps in the session and the remember-me cookie: `id:stamp:key`.

        The stamp means a password change (or reset by an admin) ends every
        session and every remembered browser opened before it; the key names this
        browser's UserSession, which sign-out ends on the server, so a copy of the
        cookie taken before is worth nothing after.
        """
        return f"{self.id}:{self.session_stamp}:{self.session_key or ''}"

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


class UserSession(db.Model):
    """One signed-in browser, from sign-in to sign-out (or its expiry); only the key's SHA-256 is kept."""

    __tablename__ = "user_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    #: hex SHA-256 of the key the browser's cookies carry
    key_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: the latest moment the session is honoured, remembered or not (REMEMBER_COOKIE_DURATION after sign-in)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    #: set by sign-out, "sign out everywhere", a password change or an admin disabling the user
    ended_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    remote_addr: Mapped[str] = mapped_column(sa.String(64), default="")
    user_agent: Mapped[str] = mapped_column(sa.String(200), default="")

    user: Mapped[User] = relationship()


class LoginAttempt(db.Model):
    """One sign-in attempt; recent failures slow down guessing."""

    __tablename__ = "login_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(sa.String(64), index=True)
    remote_addr: Mapped[str] = mapped_column(sa.String(64), index=True)
    attempted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    is_success: Mapped[bool] = mapped_column(default=False)
    #: refused unread while a delay was running: not a guess, so it neither counts nor lengthens the delay
    is_throttled: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
