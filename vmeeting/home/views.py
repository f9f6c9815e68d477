"""The home page (the "today" board), the health check and the language switch."""

from datetime import datetime, time, timedelta

import sqlalchemy as sa
from flask import Blueprint, abort, current_app, jsonify, redirect, render_template, request, session, url_for
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
# lazy, as the menu is built once and read per request; named pgettext so that pybabel's default
# keywords take the context (msgctxt "menu") with the word
from flask_babel import lazy_pgettext as pgettext
from flask_login import current_user, login_required

from vmeeting.booking import service as booking
from vmeeting.core.extensions import db
from vmeeting.core.timefmt import local_to_utc, local_zone
from vmeeting.core.urls import safe_next_url
from vmeeting.outbox import service as outbox
from vmeeting.outbox.models import OutboxMail
from vmeeting.readiness import service as readiness

#: how many failed mails the board lists (the outbox has them all)
FAILED_MAILS_SHOWN = 5
#: how many sittings a day the board lists (the calendar's day view has them all)
SITTINGS_SHOWN = 12

bp = Blueprint("home", __name__)


@bp.get("/")
@login_required
def index():
    """The "today" board: today's and tomorrow's sittings with their readiness counts,
    the outbox's failed mails (for those who book), and a technician's own sites to confirm.
    """
    if not current_user.can("meetings.view"):
        abort(403)
    today = datetime.now(local_zone()).date()
    # at most SITTINGS_SHOWN a day, the earliest, with the day's count: a national day holds hundreds
    by_day, counts = booking.sittings_by_day([today, today + timedelta(days=1)], per_day=SITTINGS_SHOWN)
    summaries = readiness.summaries([o.id for listed in by_day.values() for o in listed])
    days = [(day, [(o, summaries[o.id]) for o in by_day.get(day, [])], counts.get(day, 0))
            for day in (today, today + timedelta(days=1))]
    mine = []
    if current_user.can("readiness.confirm"):
        window_from = local_to_utc(datetime.combine(today, time.min))
        mine = readiness.sittings_for(current_user, window_from, window_from + timedelta(days=2))
    failed, failed_count = [], 0
    if current_user.can("meetings.book"):
        failed_count = outbox.outbox_counts().get("failed", 0)
        failed = db.session.scalars(sa.select(OutboxMail).where(OutboxMail.status == "failed")
                                    .order_by(OutboxMail.created_at.desc()).limit(FAILED_MAILS_SHOWN)).all()
    return render_template("home.html", today=today, days=days, mine=mine, failed=failed,
                           failed_count=failed_count)


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
    return redirect(safe_next_url(request.form.get("next")) or url_for("home.index"))


@bp.app_context_processor
def inject_navigation():
    """Give every template the menu for the signed-in user."""
    signed_in = current_user.is_authenticated
    return {"nav_items": _nav_items() if signed_in else [], "nav_more": _nav_more() if signed_in else [],
            "page_language": _page_language}


def _page_language():
    """The page's language code ("vi" or "en"): for what the catalogue cannot turn, such as stored sentences."""
    locale = get_locale()
    return locale.language if locale is not None else "vi"


#: the menu: (endpoint, label, permission); capabilities add theirs in order
NAV_ITEMS = [
    ("home.index", _l("Hôm nay"), "meetings.view"),
    ("booking.calendar", _l("Lịch họp"), "meetings.view"),
    ("booking.meetings", _l("Cuộc họp"), "meetings.view"),
    # the same words name a site's state elsewhere ("Ready", "Problems"); in the menu they name the pages
    ("readiness.mine", pgettext("menu", "Sẵn sàng"), "readiness.confirm"),
    ("network.board", _l("Mạng"), "network.view"),
    ("network.incidents", pgettext("menu", "Sự cố"), "network.view"),
    ("attendance.report", pgettext("menu", "Điểm danh"), "meetings.view"),
    ("outbox.index", _l("Hộp thư đi"), "meetings.book"),
]
#: the menu's "Danh mục" drop-down: the registry and the settings, used less often (one line of menu at 1366 px)
NAV_MORE = [
    ("registry.endpoints", _l("Điểm cầu"), "registry.view"),
    ("registry.units", _l("Đơn vị"), "registry.view"),
    ("registry.bridges", _l("Cầu MCU"), "registry.view"),
    ("registry.groups", _l("Nhóm"), "registry.view"),
    ("working_time.calendar", _l("Lịch làm việc"), "meetings.view"),
    ("invites.feed_list", _l("Lịch đăng ký"), "feeds.use"),
    ("auth.users", _l("Người dùng"), "users.manage"),
]


def _nav_items():
    return [(endpoint, label) for endpoint, label, perm in NAV_ITEMS if current_user.can(perm)]


def _nav_more():
    return [(endpoint, label) for endpoint, label, perm in NAV_MORE if current_user.can(perm)]
