"""Configuration classes, read from the environment (see CONTRACT.md)."""

import os
import secrets
from datetime import timedelta
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent


def _env(name, default=None):
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def _flag(name, default):
    """Read an on/off setting: 1, true, yes, on (any case) are on; unset keeps the default."""
    value = _env(name)
    return default if value is None else value.strip().lower() in ("1", "true", "yes", "on")


def _minutes(text):
    """Parse "60,30,10" into (60, 30, 10): whole minutes, each at least 1."""
    values = tuple(int(part) for part in text.replace(" ", "").split(",") if part)
    if any(value < 1 for value in values):
        raise ValueError(f"minutes must be whole numbers above 0: {text!r}")
    return values


def _hours(text):
    """Parse "07:30-11:30,13:30-17:00" into (("07:30", "11:30"), ("13:30", "17:00")): ordered, not overlapping."""
    from datetime import time

    blocks = []
    for part in text.replace(" ", "").split(","):
        start, _, end = part.partition("-")
        if time.fromisoformat(start) >= time.fromisoformat(end):
            raise ValueError(f"working hours must run forward: {part!r}")
        blocks.append((start, end))
    blocks.sort()
    if any(a[1] > b[0] for a, b in zip(blocks, blocks[1:])) or not blocks:
        raise ValueError(f"working hours must not overlap: {text!r}")
    return tuple(blocks)


class Config:
    """Settings shared by every environment."""

    SECRET_KEY = _env("SECRET_KEY")
    SQLALCHEMY_DATABASE_URI = _env("DATABASE_URL")  # None: the factory puts SQLite under instance/
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
    SMTP_URL = _env("SMTP_URL")
    #: SMTP sessions each worker process keeps open at once while it drains the outbox
    SMTP_CONNECTIONS = max(1, int(_env("SMTP_CONNECTIONS", "4")))
    #: how often a worker asks whether mail is due when nothing wakes it (seconds); unset: 1 on SQLite,
    #: 10 on PostgreSQL (where a booking's commit wakes every worker at once with NOTIFY)
    OUTBOX_POLL_SECONDS = float(_env("OUTBOX_POLL_SECONDS", "0")) or None
    # a booking of at least this many sites writes one change record in its transaction; the worker expands it
    # into one mail per person (a national booking stays well under a second)
    OUTBOX_FANOUT_SITES = max(1, int(_env("OUTBOX_FANOUT_SITES", "1000")))
    MAIL_FROM = _env("MAIL_FROM", "vmeeting@localhost")
    #: the MAIL_FROM mailbox, read for the calendars' iTIP REPLY mails; unset: replies are not read
    IMAP_URL = _env("IMAP_URL")
    #: a mail in that mailbox larger than this (bytes, IMAP RFC822.SIZE) is refused unread: no calendar
    #: answer comes near it, and parsing one costs the worker seconds and memory
    REPLY_MAX_BYTES = max(1, int(_env("REPLY_MAX_BYTES", "1000000")))
    BASE_URL = _env("BASE_URL", "http://127.0.0.1:5000")
    #: where every mail of the outbox is also POSTed as signed JSON (outbox.webhooks); unset: nothing is posted
    WEBHOOK_URL = _env("WEBHOOK_URL")
    #: the HMAC-SHA256 key of X-Vmeeting-Signature; required with WEBHOOK_URL
    WEBHOOK_SECRET = _env("WEBHOOK_SECRET")
    #: when reminders go to each site's contacts and technician (invites.reminders): "-Nd@HH:MM" a working day
    #: before at a local time, "Nm"/"Nh" before the start; comma-separated; empty: no reminders
    REMINDER_SCHEDULE = _env("REMINDER_SCHEDULE", "-1d@15:00,60m")
    #: a booking waiting for approval (booking.approvals) reminds its unit's approvers this many working days
    #: before the meeting's start (at the start's hour), the province office one working day later
    APPROVAL_REMIND_BEFORE = max(1, int(_env("APPROVAL_REMIND_BEFORE", "2")))
    TIMEZONE = _env("TIMEZONE", "Asia/Ho_Chi_Minh")
    SCHEDULER = _env("SCHEDULER", "off")
    #: how many reverse proxies stand in front (0: none); their X-Forwarded-For/-Proto are then believed,
    #: so sign-in throttling counts the real client's address
    TRUSTED_PROXIES = int(_env("TRUSTED_PROXIES", "0"))
    #: the bearer token GET /metrics asks for; unset: /metrics answers 404
    METRICS_TOKEN = _env("METRICS_TOKEN")
    #: "json": one JSON object per line on stderr, per request and per worker event; "text": Python's usual lines
    LOG_FORMAT = _env("LOG_FORMAT", "text")

    BABEL_DEFAULT_LOCALE = "vi"
    BABEL_DEFAULT_TIMEZONE = TIMEZONE
    LANGUAGES = ("vi", "en")
    BOOTSTRAP_SERVE_LOCAL = True
    BOOTSTRAP_BOOTSWATCH_THEME = None

    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    #: how long "remember me" lasts, and the longest any signed-in session is honoured on the server
    REMEMBER_COOKIE_DURATION = timedelta(days=30)
    WTF_CSRF_TIME_LIMIT = 8 * 3600

    #: sign-in throttling (auth.service.sign_in_delay): failures of one user name from one address, and
    #: of one address over any names, that pass free within the window; each one after doubles the wait
    LOGIN_FREE_FAILURES = 5
    LOGIN_ADDRESS_FREE_FAILURES = 20
    LOGIN_FIRST_DELAY_SECONDS = 30
    LOGIN_MAX_DELAY_SECONDS = 15 * 60
    LOGIN_FAILURE_WINDOW_MINUTES = 24 * 60

    #: the set-up window reserved before a meeting for the test call
    SETUP_MINUTES = 30
    #: working hours, local wall-clock blocks (DOMAIN.md: Vietnamese public offices); a sitting outside
    #: them needs an explicit choice, and the slot finder offers none outside them
    WORKING_HOURS = _hours(_env("WORKING_HOURS", "07:30-11:30,13:30-17:00"))

    MAX_CONTENT_LENGTH = 10 * 1024 * 1024

    #: readiness: the worker probes every site of a sitting this many minutes before its start
    PROBE_MINUTES_BEFORE = _minutes(_env("PROBE_MINUTES_BEFORE", "60,30,10"))
    #: readiness: the mail listing the sites not ready goes out this many minutes before the start
    ESCALATION_MINUTES_BEFORE = int(_env("ESCALATION_MINUTES_BEFORE", "15"))
    #: readiness: how long one probe waits for an answer; a whole sweep lasts about this long
    PROBE_TIMEOUT_SECONDS = float(_env("PROBE_TIMEOUT_SECONDS", "3"))
    #: readiness and network: TCP/TLS probes holding a socket at once (UDP probes share a few sockets and are
    #: not counted); a sweep lowers it to what the process's open-file limit leaves (vmeeting/probes.py)
    PROBE_MAX_STREAMS = 10_000
    #: readiness: whether probes may dial 127.0.0.0/8 and ::1 (the server itself); off unless a class turns it on
    PROBE_ALLOW_LOOPBACK = _flag("PROBE_ALLOW_LOOPBACK", False)
    #: readiness: how often the board asks for fresh data
    BOARD_REFRESH_SECONDS = 5

    #: network: how often the worker probes every active endpoint, meetings or not (0: never)
    NETWORK_SWEEP_SECONDS = int(_env("NETWORK_SWEEP_SECONDS", "300"))
    #: network: failed sweeps in a row before a site counts as down (and the alarm goes out)
    NETWORK_DOWN_AFTER = max(1, int(_env("NETWORK_DOWN_AFTER", "2")))
    #: network: who is told, besides the site's technician, when a site goes down and comes back
    NETWORK_ALERT_EMAILS = tuple(a.strip() for a in _env("NETWORK_ALERT_EMAILS", "").split(",") if a.strip())
    #: network: state changes are kept this many days
    NETWORK_HISTORY_DAYS = 365


class DevelopmentConfig(Config):
    """`make run` and the CLI: a random key per run when none is given."""

    SECRET_KEY = Config.SECRET_KEY or secrets.token_hex(32)
    #: the demo's devices and a developer's SIP peers answer on this machine
    PROBE_ALLOW_LOOPBACK = _flag("PROBE_ALLOW_LOOPBACK", True)
    #: host:port of the demo's SIP simulator (demo.simulator) that `demo load` points the demo sites at and
    #: `make run` starts; empty: the demo's sites get made-up addresses. Production has no such setting.
    DEMO_SIP_SIMULATOR = _env("DEMO_SIP_SIMULATOR", "127.0.0.1:5070")


class ProductionConfig(Config):
    """gunicorn: SECRET_KEY is required, the scheduler runs as its own process."""

    SESSION_COOKIE_SECURE = _env("SESSION_COOKIE_SECURE", "1") == "1"
    REMEMBER_COOKIE_SECURE = SESSION_COOKIE_SECURE

    @classmethod
    def check(cls):
        """Refuse to start without a secret key."""
        if not cls.SECRET_KEY:
            raise RuntimeError("SECRET_KEY must be set in production (see README)")


class TestingConfig(Config):
    """pytest: the database comes from the fixtures, mail and the scheduler stay off."""

    TESTING = True
    SECRET_KEY = "testing-secret-key"
    SCHEDULER = "off"
    SMTP_URL = None
    IMAP_URL = None
    #: the tests' SIP peers (sipp) answer on loopback
    PROBE_ALLOW_LOOPBACK = True
    # Hashing costs nothing in tests; production keeps werkzeug's default.
    PASSWORD_HASH_METHOD = "pbkdf2:sha256:1000"


CONFIGS = {
    "development": DevelopmentConfig,
    "production": ProductionConfig,
    "testing": TestingConfig,
}
