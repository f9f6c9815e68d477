"""Users, passwords, sign-in throttling and API tokens."""

import hashlib
import logging
import math
import secrets
from datetime import timedelta
from functools import lru_cache

import sqlalchemy as sa
from email_validator import EmailNotValidError, validate_email
from flask import current_app
from sqlalchemy.orm import aliased
from werkzeug.security import check_password_hash, generate_password_hash

from vmeeting.audit import service as audit
from vmeeting.auth.models import ROLES, ApiToken, LoginAttempt, User, UserSession
from vmeeting.auth.passwords import normalized, password_weakness
from vmeeting.core.database import began_writing, utcnow, writing
from vmeeting.core.errors import ValidationError
from vmeeting.core.extensions import db
from vmeeting.core.text import N_, clean, say

MIN_PASSWORD_LENGTH = 8
#: long enough for any passphrase, short enough that hashing one costs nothing
MAX_PASSWORD_LENGTH = 256
MAX_FULL_NAME_LENGTH = 200
MAX_AGENCY_LENGTH = 200
#: a token's last use is recorded to this precision: its requests write it at most once in this time
TOKEN_USE_RESOLUTION = timedelta(minutes=1)

log = logging.getLogger(__name__)


class SignInRefused(Exception):
    """A sign-in that failed.

    `is_throttled`: too many failures came before it, and `retry_after` tells
    the seconds left to wait; `is_disabled`: the password was right but the
    account is disabled (told only to someone who knows the password).
    """

    def __init__(self, is_throttled=False, is_disabled=False, retry_after=0):
        super().__init__("throttled" if is_throttled else "disabled" if is_disabled else "bad credentials")
        self.is_throttled = is_throttled
        self.is_disabled = is_disabled
        self.retry_after = retry_after


def hash_password(password):
    """Return a salted hash of the password with the configured method."""
    method = current_app.config.get("PASSWORD_HASH_METHOD", "scrypt")
    return generate_password_hash(normalized(password), method=method)


def get_user_by_name(username):
    """Return the user with that name (any case), or None."""
    return db.session.scalar(sa.select(User).where(User.username == clean(username).lower()))


def create_user(username, role, *, email=None, password=None, full_name="", agency="", actor=None):
    """Create a user after checking the name, role, e-mail, agency and password; raise ValidationError."""
    username = clean(username).lower()
    errors = {}
    if not username or len(username) > 64 or not all(c.isalnum() or c in "._-" for c in username):
        errors["username"] = N_("Tên đăng nhập chỉ gồm chữ, số và . _ - (tối đa 64 ký tự).")
    elif get_user_by_name(username) is not None:
        errors["username"] = say("Tên đăng nhập «%(username)s» đã có.", username=username)
    if role not in ROLES:
        errors["role"] = say("Vai trò phải là một trong: %(roles)s.", roles=", ".join(ROLES))
    values = _check_profile(errors, email=email, full_name=full_name, agency=agency)
    if password is not None:
        _check_password(errors, password, context=(username, full_name, email), agencies=(agency,))
    if errors:
        raise ValidationError(errors)
    user = User(username=username, role=role, email=values["email"], full_name=values["full_name"],
                agency=values["agency"])
    if password:
        user.password_hash = hash_password(password)
    db.session.add(user)
    db.session.flush()
    changes = audit.diff({}, {"role": role, "email": user.email, "full_name": user.full_name, "agency": user.agency})
    audit.record(actor, "create", "user", user.id, changes, f"Tạo người dùng {username}")
    return user


def _check_profile(errors, **data):
    """Return the cleaned e-mail, full name and agency found in data; add reasons to errors."""
    values = {}
    if "email" in data:
        email = clean(data["email"])
        if email:
            try:
                email = validate_email(email, check_deliverability=False).normalized
            except EmailNotValidError:
                errors["email"] = say("Địa chỉ thư «%(email)s» không hợp lệ.", email=email)
        values["email"] = email or None
    if "full_name" in data:
        values["full_name"] = clean(data["full_name"])
        if len(values["full_name"]) > MAX_FULL_NAME_LENGTH:
            errors["full_name"] = say("Họ và tên tối đa %(limit)s ký tự.", limit=MAX_FULL_NAME_LENGTH)
    if "agency" in data:
        values["agency"] = clean(data["agency"])
        if len(values["agency"]) > MAX_AGENCY_LENGTH:
            errors["agency"] = say("Tên cơ quan tối đa %(limit)s ký tự.", limit=MAX_AGENCY_LENGTH)
    return values


def _check_password(errors, password, field="password", context=(), agencies=()):
    """Add the reason a password is refused to errors: its length, or how easily it is guessed.

    `context` holds what an attacker knows of the person (user name, full name,
    e-mail) and `agencies` the offices they work for: the password must not be built from them.
    """
    if len(password or "") < MIN_PASSWORD_LENGTH:
        errors[field] = say("Mật khẩu cần ít nhất %(length)s ký tự.", length=MIN_PASSWORD_LENGTH)
    elif len(password) > MAX_PASSWORD_LENGTH:
        errors[field] = say("Mật khẩu tối đa %(length)s ký tự.", length=MAX_PASSWORD_LENGTH)
    else:
        weakness = password_weakness(password, context, agencies)
        if weakness:
            errors[field] = weakness


def _context(user, values=None):
    """What is known of a user, for the password check: the values being saved, else the stored ones."""
    values = values or {}
    return (user.username, values.get("full_name", user.full_name), values.get("email", user.email))


def _agencies(user, values=None):
    return ((values or {}).get("agency", user.agency),)


def users_select():
    """Select every user, admins first, then by user name."""
    return sa.select(User).order_by(
        sa.case({role: i for i, role in enumerate(ROLES)}, value=User.role), User.username
    )


def update_user(user, data, actor=None):
    """Change a user's role, full name, agency, e-mail, enabled flag or password; raise ValidationError.

    `data` holds only the fields to change. The province must keep one enabled
    admin, so a change that would leave none is refused; the enabled admins are
    locked (PostgreSQL) until the caller commits, so two admins demoting each
    other at once cannot both succeed.
    """
    errors = {}
    values = _check_profile(errors, **{k: data[k] for k in ("email", "full_name", "agency") if k in data})
    if "role" in data:
        if data["role"] not in ROLES:
            errors["role"] = say("Vai trò phải là một trong: %(roles)s.", roles=", ".join(ROLES))
        values["role"] = data["role"]
    if "is_enabled" in data:
        values["is_enabled"] = bool(data["is_enabled"])
    password = data.get("password") or None
    if password is not None:
        _check_password(errors, password, context=_context(user, values), agencies=_agencies(user, values))
    loses_admin = user.role == "admin" and user.is_enabled and (
        values.get("role", "admin") != "admin" or not values.get("is_enabled", True)
    )
    if loses_admin and not errors and not _other_enabled_admins(user):
        field = "role" if values.get("role", "admin") != "admin" else "is_enabled"
        errors[field] = N_("Đây là quản trị viên duy nhất còn hoạt động:"
                           " hãy cấp quyền quản trị cho người khác trước.")
    if errors:
        raise ValidationError(errors)
    fields = ("role", "full_name", "agency", "email", "is_enabled")
    before = audit.snapshot(user, fields)
    for field, value in values.items():
        setattr(user, field, value)
    changes = audit.diff(before, audit.snapshot(user, fields))
    if password is not None:
        user.password_hash = hash_password(password)
        changes["password"] = ["***", "***"]
        end_sessions(user, keep_key=user.session_key)
    if not user.is_enabled:
        end_sessions(user)
    db.session.flush()
    if changes:
        audit.record(actor, "update", "user", user.id, changes, f"Sửa người dùng {user.username}")
    return user


def _other_enabled_admins(user):
    # FOR UPDATE holds these rows until the caller commits (PostgreSQL); SQLite
    # serialises the whole write transaction instead.
    rows = db.session.scalars(
        sa.select(User.id).where(User.role == "admin", User.is_enabled.is_(True), User.id != user.id).with_for_update()
    ).all()
    return len(rows)


def set_password(user, password, actor=None):
    """Replace a user's password and end their other sessions; raise ValidationError if it is refused.

    The session of the browser that loaded `user` (its session_key) is kept: a
    person changing their own password stays signed in there.
    """
    errors = {}
    _check_password(errors, password, context=_context(user), agencies=_agencies(user))
    if errors:
        raise ValidationError(errors)
    user.password_hash = hash_password(password)
    end_sessions(user, keep_key=user.session_key)
    audit.record(actor, "update", "user", user.id, {"password": ["***", "***"]}, "Đổi mật khẩu")


def change_own_password(user, current_password, new_password):
    """Replace the user's password after checking the current one; raise ValidationError."""
    if not _password_matches(user, current_password):
        raise ValidationError({"current_password": N_("Mật khẩu hiện tại không đúng.")})
    errors = {}
    _check_password(errors, new_password, field="new_password", context=_context(user), agencies=_agencies(user))
    if errors:
        raise ValidationError(errors)
    set_password(user, new_password, actor=user)


def _password_matches(user, password):
    # Hash even when there is nothing to compare with, so the answer takes as
    # long for an unknown user name as for a wrong password.
    # A hash made before passwords were normalized matches the password as typed.
    stored = user.password_hash if user is not None and user.password_hash else _dummy_hash()
    matches = check_password_hash(stored, normalized(password))
    if not matches and normalized(password) != (password or ""):
        matches = check_password_hash(stored, password or "")
    return matches and user is not None and user.password_hash is not None


@lru_cache(maxsize=4)
def _dummy_hash_for(method):
    return generate_password_hash(secrets.token_hex(16), method=method)


def _dummy_hash():
    return _dummy_hash_for(current_app.config.get("PASSWORD_HASH_METHOD", "scrypt"))


def authenticate(username, password, remote_addr):
    """Return the user for valid credentials, or raise SignInRefused.

    While sign_in_delay says this address must wait for this name, the attempt
    is refused unread (so guessing gains nothing) and recorded as throttled
    (so it does not lengthen the wait).
    """
    session = db.session
    name = clean(username).lower()[:64]
    addr = (remote_addr or "?")[:64]
    wait = sign_in_delay(name, addr)
    if wait:
        session.add(LoginAttempt(username=name, remote_addr=addr, is_success=False, is_throttled=True))
        raise SignInRefused(is_throttled=True, retry_after=wait)
    user = get_user_by_name(name)
    password_ok = _password_matches(user, password)
    ok = password_ok and user.is_enabled
    session.add(LoginAttempt(username=name, remote_addr=addr, is_success=ok))
    if not ok:
        raise SignInRefused(is_disabled=password_ok)
    user.last_login_at = utcnow()
    return user


def sign_in_delay(name, addr, now=None):
    """Return the whole seconds this address must still wait before trying this user name (0: none).

    Two counts of failed guesses within LOGIN_FAILURE_WINDOW_MINUTES, each with
    a free allowance and then a delay that doubles with every further failure,
    from LOGIN_FIRST_DELAY_SECONDS up to LOGIN_MAX_DELAY_SECONDS (OWASP
    Authentication Cheat Sheet, "Login Throttling"):

    - this name from this address, since this pair's last success
      (LOGIN_FREE_FAILURES): a person who mistypes, then gets it right, starts afresh;
    - this address, whatever the name (LOGIN_ADDRESS_FREE_FAILURES): guessing
      across many names. A failure is forgiven here once the same name later
      signs in from the same address (an office behind one NAT address, its
      people's typos), but only that name's: signing in to one's own account
      between guesses at others forgives none of them.

    The name alone counts nothing, so a wrong password from one address never
    slows the right one from another: nobody can lock an account out. A delay
    runs from the latest counted failure; attempts refused meanwhile are not
    counted, so it ends when it said it would.
    """
    config = current_app.config
    now = now or utcnow()
    since = now - timedelta(minutes=config["LOGIN_FAILURE_WINDOW_MINUTES"])
    counted = sa.and_(LoginAttempt.attempted_at >= since, LoginAttempt.is_success.is_(False),
                      LoginAttempt.is_throttled.is_(False))
    pair = sa.and_(LoginAttempt.username == name, LoginAttempt.remote_addr == addr)
    last_success = db.session.scalar(
        sa.select(sa.func.max(LoginAttempt.attempted_at)).where(pair, LoginAttempt.is_success.is_(True),
                                                                LoginAttempt.attempted_at >= since))
    by_pair = sa.and_(counted, pair)
    if last_success is not None:
        by_pair = sa.and_(by_pair, LoginAttempt.attempted_at > last_success)
    later = aliased(LoginAttempt)
    forgiven = sa.exists().where(later.username == LoginAttempt.username, later.remote_addr == addr,
                                 later.is_success.is_(True), later.attempted_at > LoginAttempt.attempted_at)
    by_addr = sa.and_(counted, LoginAttempt.remote_addr == addr, ~forgiven)
    wait = 0.0
    for condition, free in ((by_pair, config["LOGIN_FREE_FAILURES"]), (by_addr, config["LOGIN_ADDRESS_FREE_FAILURES"])):
        failures, latest = db.session.execute(
            sa.select(sa.func.count(), sa.func.max(LoginAttempt.attempted_at)).where(condition)).one()
        if failures < free:
            continue
        delay = min(config["LOGIN_FIRST_DELAY_SECONDS"] * 2 ** min(failures - free, 32), config["LOGIN_MAX_DELAY_SECONDS"])
        wait = max(wait, (latest + timedelta(seconds=delay) - now).total_seconds())
    return math.ceil(wait) if wait > 0 else 0


# -- sessions --------------------------------------------------------------------------


def start_session(user, remote_addr, user_agent):
    """Open a server-side session for a browser that just signed in; return its key (kept hashed only).

    The key travels in the browser's session and remember-me cookies through
    `User.get_id`; the session is honoured until sign-out or its expiry,
    REMEMBER_COOKIE_DURATION after sign-in, whichever comes first.
    """
    key = secrets.token_urlsafe(32)
    now = utcnow()
    db.session.add(UserSession(user_id=user.id, key_hash=_token_hash(key), created_at=now,
                               expires_at=now + current_app.config["REMEMBER_COOKIE_DURATION"],
                               remote_addr=(remote_addr or "")[:64], user_agent=(user_agent or "")[:200]))
    user.session_key = key
    return key


def user_and_session(user_id, key):
    """Return (the user or None, whether key names an open, unexpired session of theirs): one query.

    What every signed-in request asks first (the app's user loader); as one
    round trip, a page pays once for who is asking.
    """
    open_session = (sa.exists().where(UserSession.user_id == User.id, UserSession.key_hash == _token_hash(key),
                                      UserSession.ended_at.is_(None), UserSession.expires_at > utcnow())
                    if key and len(key) <= 100 else sa.false())
    row = db.session.execute(sa.select(User, open_session.label("open")).where(User.id == user_id)).first()
    return (row[0], bool(row[1])) if row is not None else (None, False)


def end_session(key):
    """End the session key names (sign-out); a copy of its cookies is worth nothing afterwards."""
    if key:
        db.session.execute(sa.update(UserSession).where(UserSession.key_hash == _token_hash(key),
                                                        UserSession.ended_at.is_(None)).values(ended_at=utcnow()))


def end_sessions(user, keep_key=None):
    """End every open session of the user but the one keep_key names; return how many ended."""
    if user.id is None:
        return 0
    query = sa.update(UserSession).where(UserSession.user_id == user.id, UserSession.ended_at.is_(None))
    if keep_key:
        query = query.where(UserSession.key_hash != _token_hash(keep_key))
    return db.session.execute(query.values(ended_at=utcnow())).rowcount


def sessions_select(user):
    """Select the user's open, unexpired sessions, newest first."""
    return (sa.select(UserSession)
            .where(UserSession.user_id == user.id, UserSession.ended_at.is_(None), UserSession.expires_at > utcnow())
            .order_by(UserSession.created_at.desc(), UserSession.id.desc()))


def session_key_hash(key):
    """Return the stored form of a session key, to tell the current browser's session in a list."""
    return _token_hash(key) if key else None


def _token_hash(token):
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(user, actor=None):
    """Create an API token for the user and return its text, which is never stored."""
    token = "vmt_" + secrets.token_urlsafe(32)
    api_token = ApiToken(user=user, token_hash=_token_hash(token), prefix=token[:12])
    db.session.add(api_token)
    db.session.flush()
    audit.record(actor, "create", "api_token", api_token.id, {"user_id": [None, user.id]},
                 f"Cấp mã API {api_token.prefix}… cho {user.username}")
    return token


def tokens_select(user):
    """Select the user's tokens that still work, newest first."""
    return (
        sa.select(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
    )


def get_token(user, token_id):
    """Return the user's unrevoked token with that id, or None (another user's token is None too)."""
    return db.session.scalar(tokens_select(user).where(ApiToken.id == token_id))


def revoke_token(api_token, actor=None):
    """Revoke a token; requests carrying it are refused from now on."""
    if api_token.revoked_at is not None:
        return
    api_token.revoked_at = utcnow()
    audit.record(actor, "revoke", "api_token", api_token.id, {"user_id": [api_token.user_id, api_token.user_id]},
                 f"Thu hồi mã API {api_token.prefix}…")


def user_for_token(token, now=None):
    """Return the enabled user owning a valid, unrevoked token, or None; record its use (record_token_use).

    Reads nothing but the token and its user, and writes only when the stored
    last use is TOKEN_USE_RESOLUTION old: the API's reads stay reads.
    """
    if not token or len(token) > 200:
        return None
    api_token = db.session.scalar(
        sa.select(ApiToken).where(ApiToken.token_hash == _token_hash(token), ApiToken.revoked_at.is_(None))
    )
    if api_token is None or not api_token.user.is_enabled:
        return None
    now = now or utcnow()
    if api_token.last_used_at is None or api_token.last_used_at <= now - TOKEN_USE_RESOLUTION:
        record_token_use(api_token, now)
    return api_token.user


def record_token_use(api_token, now):
    """Set the token's last_used_at to now (an aware datetime) without turning a read into a write.

    A transaction that took the lock when it began (database.began_writing: a
    request that writes) sets it itself; the API's sign-in commits it at once.
    Any other caller, a read above all, writes it in a short transaction of
    its own, on another connection, that takes SQLite's write lock when it
    begins (database.writing) and waits for it within the busy timeout: the
    read's own transaction could not become a write once another connection
    had written ("database is locked" at once, whatever the busy timeout;
    DESIGN.md, "The embedded database"). The UPDATE names the old time, so
    requests racing with one token write it once. If that writer fails (no
    lock within the busy timeout, the database going away) the use
    is logged and left to the token's next request: nobody is refused for it.
    """
    if began_writing(db.session):  # another writer would wait for this one's lock
        api_token.last_used_at = now
        return
    try:
        with writing(), db.engine.begin() as conn:
            conn.execute(sa.update(ApiToken)
                         .where(ApiToken.id == api_token.id,
                                sa.or_(ApiToken.last_used_at.is_(None),
                                       ApiToken.last_used_at <= now - TOKEN_USE_RESOLUTION))
                         .values(last_used_at=now))
    except sa.exc.OperationalError as exc:
        log.warning("the use of API token %s… was not recorded: %s", api_token.prefix, exc.orig)
