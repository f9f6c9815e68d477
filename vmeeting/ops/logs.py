"""`LOG_FORMAT=json`: one JSON object per line on stderr, per request and per worker event (CONTRACT.md).

A request's line names its request id (the client's or proxy's X-Request-ID
when it sent a sane one, else a new one; the answer carries it back), the
user id, the URL rule (never the raw path: an RSVP link or a calendar feed
carries its token in the path), the method, the status and the duration in
ms. Query strings, headers, cookies and form fields are never logged. The
worker's own log records (vmeeting.jobs, vmeeting.outbox…) go out in the same
shape, and every line's text passes `redact` first: a password in a database
or SMTP URL, a bearer token and a `token=`/`password=` pair are replaced by
`***`. systemd's journal keeps stderr (deploy/vmeeting-web.service).
"""

import json
import logging
import re
import sys
import time
import uuid
from datetime import datetime, timezone

from flask import g, request
from flask.logging import default_handler
from flask_login import current_user

#: the logger of the per-request lines
REQUEST_LOG = "vmeeting.requests"
#: what an X-Request-ID may be to be kept as it came: a proxy's or a client's id, no line breaks or quotes
REQUEST_ID = re.compile(r"[A-Za-z0-9._:@/+=-]{1,128}")
#: a secret in free text, and what stays of it
SECRETS = (
    (re.compile(r"(?P<keep>://[^:/@\s]*:)[^@\s]*(?=@)"), r"\g<keep>***"),  # scheme://user:password@host
    (re.compile(r"(?P<keep>\bBearer\s+)\S+", re.IGNORECASE), r"\g<keep>***"),
    (re.compile(r"(?P<keep>\b(?:password|passwd|token|secret|api_key)[\"']?\s*[=:]\s*[\"']?)[^\s&\"',;]+",
                re.IGNORECASE), r"\g<keep>***"),
)


def redact(text):
    """text (str) with every secret SECRETS recognises replaced by ***."""
    for pattern, replacement in SECRETS:
        text = pattern.sub(replacement, text)
    return text


class JsonFormatter(logging.Formatter):
    """A log record as one JSON object: time (UTC, ISO 8601), level, logger, message, and the record's `fields`."""

    def format(self, record):
        line = {"time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
                "level": record.levelname.lower(), "logger": record.name, "message": redact(record.getMessage())}
        line.update(getattr(record, "fields", {}))
        if record.exc_info:
            line["error"] = redact(self.formatException(record.exc_info))
        return json.dumps(line, ensure_ascii=False, default=str)


class StderrHandler(logging.StreamHandler):
    """A handler writing to whatever sys.stderr is at each record (gunicorn's, the journal's, a test's capture)."""

    def __init__(self):
        super().__init__(sys.stderr)

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, _value):
        pass


def configure_json_logging():
    """Send vmeeting's loggers (requests and worker events alike) to stderr as JSON lines, once per process."""
    logger = logging.getLogger("vmeeting")
    if not any(isinstance(handler, StderrHandler) for handler in logger.handlers):
        handler = StderrHandler()
        handler.setFormatter(JsonFormatter())
        logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False  # one line per event, not a second one through the root's text handler


def _start():
    given = request.headers.get("X-Request-ID", "")
    g.request_id = given if REQUEST_ID.fullmatch(given) else uuid.uuid4().hex
    g.request_log_started = time.perf_counter()


def _log_request(response):
    started = g.pop("request_log_started", None)
    if started is None:
        return response
    response.headers["X-Request-ID"] = g.request_id
    # the user's row id, never get_id(): Flask-Login's id is the server-side session's, a secret
    user_id = current_user.id if current_user and current_user.is_authenticated else None
    fields = {"event": "request", "request_id": g.request_id, "user_id": user_id,
              "route": request.url_rule.rule if request.url_rule is not None else None,
              "method": request.method, "status": response.status_code,
              "duration_ms": round((time.perf_counter() - started) * 1000, 2)}
    logging.getLogger(REQUEST_LOG).info("%s %s %s", fields["method"], fields["route"], fields["status"],
                                        extra={"fields": fields})
    return response


def init_app(app):
    """With LOG_FORMAT=json, log each request of app and every vmeeting record as JSON lines; else nothing."""
    if app.config.get("LOG_FORMAT", "text") != "json":
        return
    configure_json_logging()
    app.logger.removeHandler(default_handler)  # app.logger is the "vmeeting" logger: its errors go out as JSON
    app.before_request(_start)
    app.after_request(_log_request)
