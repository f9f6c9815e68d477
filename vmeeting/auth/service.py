"""Users, passwords, sign-in throttling and API tokens."""

import hashlib
import secrets
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app
from werkzeug.security import check_password_hash, generate_password_hash

from vmeeting.audit import service as audit
from vmeeting.auth.models import ROLES, ApiToken, LoginAttempt, User
from vmeeting.database import utcnow
from vmeeting.errors import ValidationError
from vmeeting.extensions import db
from vmeeting.text import clean

MIN_PASSWORD_LENGTH = 8


class SignInRefused(Exception):
    """A sign-in that failed; `is_throttled` says whether too many came before it."""

    def __init__(self, is_throttled=False):
        super().__init__("throttled" if is_throttled else "bad credentials")
        self.is_throttled = is_throttled


def hash_password(password):
    """Return a salted hash of the password with the configured method."""
    method = current_app.config.get("PASSWORD_HASH_METHOD", "scrypt")
    return generate_password_hash(password, method=method)


def get_user_by_name(username):
    """Return the user with that name (any case), or None."""
    return db.session.scalar(sa.select(User).where(User.username == clean(username).lower()))


def create_user(username, role, *, email=None, password=None, full_name="", actor=None):
    """Create a user after checking the name, role and password; raise ValidationError."""
    username = clean(username).lower()
    errors = {}
    if not username or len(username) > 64 or not all(c.isalnum() or c in "._-" for c in username):
        errors["username"] = "Tên đăng nhập chỉ gồm chữ, số và . _ - (tối đa 64 ký tự)."
    elif get_user_by_name(username) is not None:
        errors["username"] = f"Tên đăng nhập «{username}» đã có."
    if role not in ROLES:
        errors["role"] = "Vai trò phải là một trong: " + ", ".join(ROLES) + "."
    if password is not None and len(password) < MIN_PASSWORD_LENGTH:
        errors["password"] = f"Mật khẩu cần ít nhất {MIN_PASSWORD_LENGTH} ký tự."
    if errors:
        raise ValidationError(errors)
    user = User(username=username, role=role, email=email or None, full_name=clean(full_name))
    if password:
        user.password_hash = hash_password(password)
    db.session.add(user)
    db.session.flush()
    audit.record(actor, "create", "user", user.id, {"role": [None, role]}, f"Tạo người dùng {username}")
    return user


def set_password(user, password, actor=None):
    """Replace a user's password; raise ValidationError if it is too short."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationError({"password": f"Mật khẩu cần ít nhất {MIN_PASSWORD_LENGTH} ký tự."})
    user.password_hash = hash_password(password)
    audit.record(actor, "update", "user", user.id, {"password": ["***", "***"]}, "Đổi mật khẩu")


def authenticate(username, password, remote_addr):
    """Return the user for valid credentials, or raise SignInRefused.

    Failures are counted per user name and per address over a sliding window;
    past the limit every attempt is refused without checking the password, so
    guessing gains nothing until the window has passed.
    """
    session = db.session
    name = clean(username).lower()[:64]
    addr = (remote_addr or "?")[:64]
    if _is_throttled(name, addr):
        session.add(LoginAttempt(username=name, remote_addr=addr, is_success=False))
        raise SignInRefused(is_throttled=True)
    user = get_user_by_name(name)
    ok = (
        user is not None
        and user.is_enabled
        and user.password_hash is not None
        and check_password_hash(user.password_hash, password or "")
    )
    session.add(LoginAttempt(username=name, remote_addr=addr, is_success=ok))
    if not ok:
        raise SignInRefused()
    user.last_login_at = utcnow()
    return user


def _is_throttled(name, addr):
    config = current_app.config
    since = utcnow() - timedelta(minutes=config["LOGIN_FAILURE_WINDOW_MINUTES"])
    limit = config["LOGIN_MAX_FAILURES"]
    recent = sa.select(LoginAttempt).where(LoginAttempt.attempted_at >= since)

    def failures_since_success(column, value):
        last_success = db.session.scalar(
            sa.select(sa.func.max(LoginAttempt.attempted_at)).where(
                column == value, LoginAttempt.is_success.is_(True), LoginAttempt.attempted_at >= since
            )
        )
        query = recent.where(column == value, LoginAttempt.is_success.is_(False))
        if last_success is not None:
            query = query.where(LoginAttempt.attempted_at > last_success)
        return db.session.scalar(sa.select(sa.func.count()).select_from(query.subquery()))

    return (
        failures_since_success(LoginAttempt.username, name) >= limit
        or failures_since_success(LoginAttempt.remote_addr, addr) >= 4 * limit
    )


def _token_hash(token):
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(user, actor=None):
    """Create an API token for the user and return its text, which is never stored."""
    token = "vmt_" + secrets.token_urlsafe(32)
    db.session.add(ApiToken(user=user, token_hash=_token_hash(token), prefix=token[:12]))
    audit.record(actor, "create", "api_token", user.id, summary=f"Cấp mã API cho {user.username}")
    return token


def revoke_token(api_token, actor=None):
    """Revoke a token; requests carrying it are refused from now on."""
    api_token.revoked_at = utcnow()
    audit.record(actor, "revoke", "api_token", api_token.user_id, summary=f"Thu hồi mã {api_token.prefix}…")


def user_for_token(token):
    """Return the enabled user owning a valid, unrevoked token, or None."""
    if not token:
        return None
    api_token = db.session.scalar(
        sa.select(ApiToken).where(ApiToken.token_hash == _token_hash(token), ApiToken.revoked_at.is_(None))
    )
    if api_token is None or not api_token.user.is_enabled:
        return None
    api_token.last_used_at = utcnow()
    return api_token.user
