"""The working calendar page: the year's holidays, and the admin's declared days off and working days."""

from datetime import date, datetime

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from vmeeting.auth.guards import permission_required
from vmeeting.core.errors import Conflict, ValidationError
from vmeeting.core.extensions import db
from vmeeting.core.text import shown
from vmeeting.core.timefmt import WEEKDAY_LABELS, local_zone
from vmeeting.working_time import service
from vmeeting.working_time.forms import DeclaredDayForm

bp = Blueprint("working_time", __name__)


def _year():
    year = request.args.get("year", type=int) or datetime.now(local_zone()).year
    return min(max(year, service.FIRST_YEAR), service.LAST_YEAR)


@bp.route("/working-calendar", methods=["GET", "POST"])
@permission_required("meetings.view")
def calendar():
    """The year's non-working and declared days; admins declare and remove days here."""
    year = _year()
    form = DeclaredDayForm()
    status = 200
    if request.method == "POST":
        if not current_user.can("calendar.edit"):
            abort(403)
        if form.validate_on_submit():
            try:
                row = service.declare_day(form.data_for_service(), actor=current_user)
                db.session.commit()
            except ValidationError as exc:
                db.session.rollback()
                for name, reason in exc.fields.items():
                    field = form.day if name == "date" else form._fields.get(name, form.name)
                    field.errors = [*field.errors, shown(reason)]
            except Conflict as exc:
                db.session.rollback()
                form.day.errors = [*form.day.errors, shown(exc.message)]
            else:
                flash(_("Đã khai báo %(kind)s %(day)s.", kind=_(service.KIND_LABELS[row.kind]).lower(),
                        day=f"{row.day:%d/%m/%Y}"), "success")
                return redirect(url_for("working_time.calendar", year=row.day.year))
        status = 400
    names = service.holiday_names_for_page(year)  # a public holiday's name in the page's language
    items = [{**item, "day": date.fromisoformat(item["date"]),
              "name": names.get(date.fromisoformat(item["date"]), shown(item["name"]))
              if item["kind"] in service.PUBLIC_KINDS else item["name"]} for item in service.year_items(year)]
    return render_template("working_time/calendar.html", year=year, items=items, form=form, weekdays=WEEKDAY_LABELS,
                           labels=service.KIND_LABELS, hours=service.hours_text()), status


@bp.post("/working-calendar/<day>/delete")
@permission_required("calendar.edit")
def remove(day):
    """Remove a declared day (public holidays cannot be removed)."""
    try:
        row = service.remove_day(day, actor=current_user)
    except (LookupError, ValidationError):
        abort(404)
    db.session.commit()
    flash(_("Đã xóa khai báo ngày %(day)s.", day=f"{row.day:%d/%m/%Y}"), "info")
    return redirect(url_for("working_time.calendar", year=row.day.year))
