"""Roll-call pages: a sitting's roll (phone first), the attendance report with its Excel download."""

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from vmeeting.attendance import service
from vmeeting.attendance.forms import MarkForm
from vmeeting.auth.guards import permission_required
from vmeeting.booking import service as booking
from vmeeting.core.errors import Conflict, NotFound, ValidationError
from vmeeting.core.extensions import db
from vmeeting.core.text import shown
from vmeeting.core.timefmt import to_local

bp = Blueprint("attendance", __name__)


def _status_labels():
    """The marks' words in the page's language (the service's Vietnamese words are the catalogue's keys)."""
    return {status: _(label) for status, label in service.STATUS_LABELS.items()}


def _usual_reasons():
    """{usual reason as kept (Vietnamese): as shown in the page's language}; a reason of one's own is shown as is."""
    return {reason: _(reason) for reason in service.REASONS}


def _sitting(meeting_id, occurrence_id):
    try:
        return service.sitting_of(meeting_id, occurrence_id)
    except NotFound:
        abort(404)


def _forms(occurrence, rows, failed=None):
    """One form per site: its mark, or else the hint (readiness, the last sweep) as a prefill."""
    forms = {}
    hints = booking.roll_call_hints(occurrence, [e.id for e, mark in rows if mark is None])
    reasons = _usual_reasons()
    for endpoint, mark in rows:
        if failed is not None and failed.endpoint_id.data == str(endpoint.id):
            forms[endpoint.id] = failed
            continue
        form = MarkForm(formdata=None, prefix=f"e{endpoint.id}")
        form.endpoint_id.data = endpoint.id
        if mark is not None:
            form.status.data, form.reason.data = mark.status, reasons.get(mark.reason, mark.reason)
        elif endpoint.id in hints:
            form.status.data, reason = hints[endpoint.id]
            form.reason.data = reasons.get(reason, reason)
            form.suggested = True
        forms[endpoint.id] = form
    return forms


def _page(occurrence, failed=None, status=200):
    rows = service.sites(occurrence)
    roll = service.roll_json(occurrence)
    return render_template("attendance/sitting.html", occurrence=occurrence, meeting=occurrence.meeting, rows=rows,
                           summary=roll["summary"], forms=_forms(occurrence, rows, failed),
                           may_mark=service.may_mark(current_user, occurrence.meeting),
                           labels=_status_labels(), reasons=_usual_reasons(),
                           users=service.users_by_id([m.marked_by_id for _e, m in rows if m])), status


@bp.get("/meetings/<int:meeting_id>/occurrences/<int:occurrence_id>/attendance")
@permission_required("meetings.view")
def sitting(meeting_id, occurrence_id):
    """Show the sitting's roll-call; those who may mark it get a form per site."""
    return _page(_sitting(meeting_id, occurrence_id))


@bp.post("/meetings/<int:meeting_id>/occurrences/<int:occurrence_id>/attendance/<int:endpoint_id>")
@permission_required("attendance.mark")
def mark(meeting_id, occurrence_id, endpoint_id):
    """Mark one site of the sitting; back to the roll at that site."""
    occurrence = _sitting(meeting_id, occurrence_id)
    form = MarkForm(prefix=f"e{endpoint_id}")
    form.endpoint_id.data = str(endpoint_id)
    if not form.validate():
        return _page(occurrence, form, 400)
    try:
        row = service.mark(occurrence, endpoint_id, current_user,
                           {"status": form.status.data, "reason": form.reason.data or ""})
        db.session.commit()
    except NotFound:
        db.session.rollback()
        abort(404)
    except ValidationError as exc:
        db.session.rollback()
        for name, reason in exc.fields.items():
            field = getattr(form, name, None)
            (field.errors if field is not None and isinstance(field.errors, list) else form.form_errors).append(
                shown(reason))
        return _page(occurrence, form, 400)
    except Conflict as exc:
        db.session.rollback()
        form.form_errors.append(shown(exc.message))
        return _page(occurrence, form, 409)
    flash(_("Đã điểm danh: %(site)s – %(status)s.", site=row.endpoint.name,
            status=_status_labels()[row.status]), "success")
    return redirect(url_for("attendance.sitting", meeting_id=meeting_id, occurrence_id=occurrence_id)
                    + f"#site-{endpoint_id}")


def _report():
    try:
        period = service.report_period(request.args)
    except ValidationError as exc:
        return None, {name: shown(reason) for name, reason in exc.fields.items()}
    return period, {}


@bp.get("/reports/attendance")
@permission_required("meetings.view")
def report():
    """Show the attendance per district and per site over a period."""
    period, errors = _report()
    data = service.report(*period) if period else None
    return render_template("attendance/report.html", report=data, errors=errors, period=period,
                           args=request.args), 400 if errors else 200


@bp.get("/reports/attendance.xlsx")
@permission_required("meetings.view")
def report_xlsx():
    """Download the same figures as an Excel workbook."""
    period, errors = _report()
    if errors:
        abort(400)
    first, last = to_local(period[0]), to_local(period[1])
    title = f"Điểm danh từ {first:%d/%m/%Y %H:%M} đến trước {last:%d/%m/%Y %H:%M}"
    name = f"diem-danh-{first:%Y%m%d}-{last:%Y%m%d}.xlsx"
    return Response(service.report_xlsx(service.report(*period), title),
                    mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": f"attachment; filename={name}"})
