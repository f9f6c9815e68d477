"""vmeeting: the video-conference network of a province, as a Flask app."""

import json
import os
import sys
import time
from functools import cached_property
from pathlib import Path

import click
from flask import Flask, Request, g, has_request_context, request, session
from flask_login import current_user
from werkzeug.middleware.proxy_fix import ProxyFix

from config import CONFIGS
from vmeeting.core import database, errorpages, text, timefmt
from vmeeting.core.bounds import IdConverter
from vmeeting.core.extensions import babel, bootstrap, csrf, db, migrate

PACKAGE_DIR = Path(__file__).resolve().parent


def _config_name():
    # gunicorn is production unless told otherwise; every other entry is development.
    return os.environ.get("VMEETING_ENV") or ("production" if "gunicorn" in sys.modules else "development")


class AsciiCookieRequest(Request):
    """A request whose cookies are only those a server could have set: ASCII text.

    The cookies vmeeting sets (Flask's session and Flask-Login's remember_token)
    are signed ASCII; RFC 6265 section 4.1.1 allows nothing else in a value.
    Anything else was planted (by a sibling subdomain, a script, a proxy) and
    is dropped as absent: Flask-Login's remember-cookie check compares digests
    with hmac.compare_digest, which raises TypeError on non-ASCII text, so a
    `remember_token=1|é` answered 500 on every page, the error page included.
    """

    @cached_property
    def cookies(self):
        """The request's ASCII cookies (an ImmutableMultiDict of str)."""
        cookies = super().cookies
        if all(value.isascii() for value in cookies.values()):
            return cookies
        return self.dict_storage_class([(name, value) for name, value in cookies.items(multi=True)
                                        if name.isascii() and value.isascii()])


def create_app(config_class=None, overrides=None):
    """Build the app: configuration, extensions, blueprints, CLI, scheduler."""
    app = Flask(
        __name__,
        template_folder=str(PACKAGE_DIR.parent / "templates"),
        instance_path=os.environ.get("VMEETING_INSTANCE") or str(PACKAGE_DIR.parent / "instance"),
    )
    app.request_class = AsciiCookieRequest
    config_class = config_class or CONFIGS[_config_name()]
    if hasattr(config_class, "check"):
        config_class.check()
    app.config.from_object(config_class)
    app.config.from_mapping(overrides or {})
    if not app.config.get("SQLALCHEMY_DATABASE_URI"):
        os.makedirs(app.instance_path, exist_ok=True)
        app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite:///" + os.path.join(app.instance_path, "vmeeting.db")
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(PACKAGE_DIR / "translations"))
    if app.config.get("TRUSTED_PROXIES"):
        hops = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)

    # Every <int:…> of every route is a row id: one bounded reading, so a number too large is a 404.
    app.url_map.converters["int"] = IdConverter
    db.init_app(app)
    migrate.init_app(app, db, directory=str(PACKAGE_DIR.parent / "migrations"), render_as_batch=True)
    csrf.init_app(app)
    bootstrap.init_app(app)
    babel.init_app(app, locale_selector=_select_locale, timezone_selector=lambda: app.config["TIMEZONE"])

    # The capabilities are imported here, not at the top: any module of the package imports this file
    # first, and importing a model must not load every capability's pages (nor the worker, below).
    from vmeeting import apidoc, attendance, auth, booking, cli, documents, home, invites, network, ops, outbox
    from vmeeting import approvals, readiness
    from vmeeting import models  # noqa: F401 (every table, for Alembic)
    from vmeeting import registry, working_time

    database.init_app(app)
    errorpages.register(app)
    timefmt.register(app)
    app.jinja_env.globals["shown"] = text.shown  # a service's message in the page's language
    # The whole wiring: each capability registers its pages, API, hooks into those below it, outbox builders
    # and ticks, in the order of DESIGN.md (below before above).
    for capability in (auth, registry, working_time, booking, invites, outbox, network, readiness, attendance,
                       documents, approvals, apidoc, home, ops):
        capability.init_app(app)
    cli.register(app)
    # first of the hooks, so that Server-Timing covers them all
    app.before_request_funcs.setdefault(None, []).insert(0, _start_timing)
    app.after_request(_security_headers)
    app.after_request(_server_timing)
    app.after_request(_bound_flashes)
    _start_scheduler(app)
    return app


def _start_scheduler(app):
    """Start the in-process worker when SCHEDULER=embedded, only in a process that serves pages."""
    if app.config.get("SCHEDULER") != "embedded" or app.testing:
        return
    # Not under `flask db upgrade` and other commands, nor in the reloader's watcher process.
    if os.environ.get("FLASK_RUN_FROM_CLI") == "true":
        ctx = click.get_current_context(silent=True)
        if ctx is None or ctx.info_name != "run" or ctx.parent is None or ctx.parent.parent is not None:
            return
    if app.debug and os.environ.get("WERKZEUG_RUN_MAIN") != "true":
        return
    from vmeeting import jobs  # here, as the capabilities in create_app: importing the package loads no worker

    jobs.start_embedded(app)


def _select_locale():
    if not has_request_context():
        return "vi"  # the worker and the CLI write Vietnamese
    if current_user and current_user.is_authenticated and session.get("lang"):
        return session["lang"]
    return session.get("lang") or "vi"


def _start_timing():
    g.request_started = time.perf_counter()


def _server_timing(response):
    """Tell how long the app worked on the request (Server-Timing `app;dur=` in ms), for the benchmark.

    From the first before-request hook to the response built: routing, the
    database, rendering; not the WSGI server's reading and writing.
    """
    started = g.get("request_started")
    if started is not None:
        response.headers["Server-Timing"] = f"app;dur={(time.perf_counter() - started) * 1000:.2f}"
    return response


#: the flashed messages a session keeps for its next page, each once: more than one request flashes (a booking:
#: its result, booking.views.SHOWN_WARNINGS warnings about its sites and a count of the rest)
MAX_FLASHES = 10
#: their share of the session cookie, and one message's, in bytes of the session's JSON (where a non-ASCII
#: letter is escaped to 6 bytes); the whole cookie must stay under the 4,096 bytes browsers keep
#: (RFC 6265 section 6.1), or they drop it unsaid
MAX_FLASH_BYTES, MAX_FLASH_MESSAGE_BYTES = 2400, 1200


def _bound_flashes(response):
    """Keep the session's waiting flashes to the latest MAX_FLASHES distinct ones, within MAX_FLASH_BYTES.

    Flask appends a flash to the session cookie until a page shows it. A client
    that never shows one (a script re-asking a page it may not see, redirected
    to sign in each time; tabs restored after a session ended) would otherwise
    carry one more copy of "please sign in" per request, all shown at once on
    its next page, and the cookie re-signed at a cost that grows with them
    (10,000 such requests took 4 minutes instead of 17 s). A repeated message
    keeps its latest place. Messages quoting long text (a title, five incident
    titles in a booking's warnings) are cut to MAX_FLASH_MESSAGE_BYTES, and the
    oldest dropped past MAX_FLASH_BYTES: a browser ignores a cookie over 4 KB,
    which would lose every message and the session's other changes with it.
    """
    if "_flashes" not in session:
        return response
    waiting = session["_flashes"]
    kept, size = [], 0
    for category, message in list(dict.fromkeys(reversed(waiting)))[:MAX_FLASHES]:  # newest first
        message = _cut_to(message, MAX_FLASH_MESSAGE_BYTES)
        size += _json_bytes(message)
        if size > MAX_FLASH_BYTES:
            break
        kept.append((category, message))
    kept.reverse()
    if kept != list(waiting):
        session["_flashes"] = kept
    return response


def _json_bytes(text):
    """The bytes `text` takes in the session's JSON, non-ASCII escaped."""
    return len(json.dumps(text))


def _cut_to(message, limit):
    """`message` (str) shortened with an ellipsis until its JSON takes at most `limit` bytes."""
    if _json_bytes(message) <= limit:
        return message
    low, high = 0, len(message)  # the longest prefix that fits, by bisection
    while low < high:
        middle = (low + high + 1) // 2
        if _json_bytes(message[:middle] + "…") <= limit:
            low = middle
        else:
            high = middle - 1
    return message[:low] + "…"


def _security_headers(response):
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    if response.mimetype == "text/html":
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
            "frame-ancestors 'none'; form-action 'self'",
        )
    if request.path.startswith("/api/") or request.path.startswith("/calendar/"):
        response.headers.setdefault("Cache-Control", "no-store")
    return response
