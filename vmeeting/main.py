"""The home page, the health check and the language switch."""

import sqlalchemy as sa
from flask import Blueprint, abort, current_app, jsonify, redirect, request, session, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from vmeeting.extensions import db
from vmeeting.urls import safe_next_url

bp = Blueprint("main", __name__)


@bp.get("/")
@login_required
def index():
    """Send people to the page they use most: the meeting calendar."""
    return redirect(url_for("booking.calendar"))


@bp.get("/favicon.ico")
def favicon():
    """Browsers ask for /favicon.ico before reading the page's <link rel="icon">."""
    return redirect(url_for("static", filename="favicon.svg"), 301)


@bp.get("/healthz")
def healthz():
    """Tell a load balancer whether the app and its database answer."""
    try:
        db.session.execute(sa.text("SELECT 1"))
    except sa.exc.SQLAlchemyError:
        return jsonify({"status": "error", "database": "unreachable"}), 503
    return jsonify({"status": "ok", "database": "ok"})


@bp.post("/lang/<code>")
def set_language(code):
    """Switch the interface language for this browser session."""
    if code not in current_app.config["LANGUAGES"]:
        abort(404)
    session["lang"] = code
    return redirect(safe_next_url(request.form.get("next")) or url_for("main.index"))


@bp.app_context_processor
def inject_navigation():
    """Give every template the menu for the signed-in user."""
    return {"nav_items": _nav_items() if current_user.is_authenticated else []}


#: the menu: (endpoint, label, permission); capabilities add theirs in order
NAV_ITEMS = [
    ("booking.calendar", _l("Lịch họp"), "meetings.view"),
    ("booking.meetings", _l("Cuộc họp"), "meetings.view"),
    ("readiness.mine", _l("Sẵn sàng"), "readiness.confirm"),
    ("working_time.calendar", _l("Lịch làm việc"), "meetings.view"),
    ("registry.endpoints", _l("Điểm cầu"), "registry.view"),
    ("registry.units", _l("Đơn vị"), "registry.view"),
    ("registry.bridges", _l("Cầu MCU"), "registry.view"),
    ("registry.groups", _l("Nhóm"), "registry.view"),
    ("auth.users", _l("Người dùng"), "users.manage"),
    ("invites.outbox", _l("Hộp thư đi"), "meetings.book"),
]


def _nav_items():
    return [(endpoint, label) for endpoint, label, perm in NAV_ITEMS if current_user.can(perm)]
