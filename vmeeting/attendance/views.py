"""Roll-call pages: a sitting's roll (phone first), the attendance report with its Excel download."""

import sqlalchemy as sa
from flask import Blueprint, Response, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from vmeeting.attendance import service
from vmeeting.attendance.forms import MarkForm
from vmeeting.attendance.models import Attendance
from vmeeting.auth.guards import permission_required
from vmeeting.booking import service as booking
from vmeeting.core.bounds import query_id
from vmeeting.core.database import utcnow
from vmeeting.core.errors import Conflict, NotFound, ValidationError
from vmeeting.core.extensions import db
from vmeeting.core.jsonapi import committed
from vmeeting.core.text import shown
from vmeeting.core.timefmt import format_time, to_local

bp = Blueprint("attendance", __name__)

#: a roll-call of more sites than this opens with its districts folded: the page stays within three screens
UNFOLDED_SITES = 30
#: a roll-call of more sites than this fetches each district's sites when it is opened
FETCHED_SITES = 300


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
    """One form per site: its mark, or else the hint (readiness, the last sweep) as a prefill.

    failed: {endpoint_id: MarkForm} of the sites whose posted mark was refused, shown again as posted.
    """
    failed = failed or {}
    forms = {}
    hints = booking.roll_call_hints(occurrence, [e.id for e, mark in rows if mark is None])
    reasons = _usual_reasons()
    for endpoint, mark in rows:
        if endpoint.id in failed:
            forms[endpoint.id] = failed[endpoint.id]
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


def _page(occurrence, failed=None, status=200, refusal=None):
    """Render the roll-call. refusal: a reason about the whole roll (not begun, cancelled), said once at the top.

    A sitting of more than FETCHED_SITES sites lists its districts only, each fetched when opened
    (district_sites; ?district=<id> shows one in the page, for a browser without JavaScript): the page
    weighs the same for 300 sites as for 10,000.
    """
    groups = service.district_groups(occurrence)
    site_count = sum(len(ids) for _head, ids in groups)
    open_district = request.args.get("district", type=query_id)
    fetched = site_count > FETCHED_SITES and not failed
    if fetched:
        rows = next((service.sites(occurrence, ids) for head, ids in groups if head.id == open_district), [])
    else:
        rows = service.sites(occurrence)
    by_district = {}
    for endpoint, mark in rows:
        by_district.setdefault(endpoint.district.id, []).append((endpoint, mark))
    summary, district_counts = service.counts(occurrence)
    districts = [(head, by_district.get(head.id, []) if not fetched or head.id == open_district else None,
                  district_counts.get(head.id, {}), len(ids)) for head, ids in groups]
    return render_template("attendance/sitting.html", **_context(occurrence, rows, failed), summary=summary,
                           districts=districts, site_count=site_count, refusal=refusal, open_district=open_district,
                           fold=site_count > UNFOLDED_SITES and not failed), status


def _context(occurrence, rows, failed=None):
    """What the page and a district's fetched sites both show: each site's form, the words, who may mark."""
    opens_at = service.opens_at(occurrence)
    is_open = utcnow() >= opens_at
    may_mark = service.may_mark(current_user, occurrence.meeting)
    return {"occurrence": occurrence, "meeting": occurrence.meeting, "forms": _forms(occurrence, rows, failed),
            "opens_at": opens_at, "is_open": is_open, "may_mark": may_mark,
            "marking": may_mark and is_open and not occurrence.is_cancelled
            and occurrence.meeting.status != "cancelled",
            "labels": _status_labels(), "reasons": _usual_reasons(),
            "users": service.users_by_id([m.marked_by_id for _e, m in rows if m])}


@bp.get("/meetings/<int:meeting_id>/occurrences/<int:occurrence_id>/attendance/districts/<int:district_id>")
@permission_required("meetings.view")
def district_sites(meeting_id, occurrence_id, district_id):
    """One district's sites of the roll-call, as the HTML a large sitting's page fetches when it is opened."""
    occurrence = _sitting(meeting_id, occurrence_id)
    found = next(((head, ids) for head, ids in service.district_groups(occurrence) if head.id == district_id), None)
    if found is None:
        abort(404)
    head, ids = found
    rows = service.sites(occurrence, ids)
    return render_template("attendance/_sites.html", **_context(occurrence, rows), head=head, sites=rows)


def _wants_json():
    """Whether the request is the roll-call page's own script, which reads JSON answers (rollcall.js)."""
    return request.accept_mimetypes.best == "application/json"


def _refused(exc, status):
    """A refusal as the page's script reads it: the contract's error body, its texts in the page's language."""
    return jsonify({"error": {"code": "conflict" if status == 409 else "invalid", "message": shown(exc.message),
                              "fields": {name: shown(reason) for name, reason in getattr(exc, "fields", {}).items()}}}
                   ), status


def _answer(occurrence, items):
    """What the page's script repaints after a save: the marks written, and every count of the roll."""
    summary, districts = service.counts(occurrence)
    labels = _status_labels()
    return jsonify({"items": [{**service.item_json(endpoint_id, row), "label": labels[row.status],
                               "marked_at_text": format_time(row.marked_at)} for endpoint_id, row in items],
                    "summary": summary, "districts": {str(k): v for k, v in districts.items()}})


@bp.get("/meetings/<int:meeting_id>/occurrences/<int:occurrence_id>/attendance")
@permission_required("meetings.view")
def sitting(meeting_id, occurrence_id):
    """Show the sitting's roll-call by district; those who may mark it get the marks, "all present" and save."""
    return _page(_sitting(meeting_id, occurrence_id))


@bp.post("/meetings/<int:meeting_id>/occurrences/<int:occurrence_id>/attendance/<int:endpoint_id>")
@permission_required("attendance.mark")
def mark(meeting_id, occurrence_id, endpoint_id):
    """Mark one site of the sitting (fields e<id>-status, e<id>-reason).

    The page's script asks for JSON (Accept: application/json) and gets the mark and the roll's counts, or
    the refusal as 400/409 {"error": {message, fields}}; a plain form post goes back to the roll at that site.
    """
    occurrence = _sitting(meeting_id, occurrence_id)
    form = MarkForm(prefix=f"e{endpoint_id}")
    form.endpoint_id.data = str(endpoint_id)
    if not form.validate():
        if _wants_json():
            return _refused(ValidationError({name: " ".join(errors) for name, errors in form.errors.items()}), 400)
        return _page(occurrence, {endpoint_id: form}, 400)
    try:
        row = service.mark(occurrence, endpoint_id, current_user,
                           {"status": form.status.data, "reason": form.reason.data or ""})
        if _wants_json():
            return committed(_answer(occurrence, [(endpoint_id, row)]))
        message = _("Đã điểm danh: %(site)s – %(status)s.", site=row.endpoint.name,
                    status=_status_labels()[row.status])
        db.session.commit()
    except NotFound:
        db.session.rollback()
        abort(404)
    except ValidationError as exc:
        db.session.rollback()
        if _wants_json():
            return _refused(exc, 400)
        for name, reason in exc.fields.items():
            field = getattr(form, name, None)
            (field.errors if field is not None and isinstance(field.errors, list) else form.form_errors).append(
                shown(reason))
        return _page(occurrence, {endpoint_id: form}, 400)
    except Conflict as exc:
        db.session.rollback()
        if _wants_json():
            return _refused(exc, 409)
        return _page(occurrence, status=409, refusal=shown(exc.message))
    flash(message, "success")
    return redirect(url_for("attendance.sitting", meeting_id=meeting_id, occurrence_id=occurrence_id)
                    + f"#site-{endpoint_id}")


@bp.post("/meetings/<int:meeting_id>/occurrences/<int:occurrence_id>/attendance")
@permission_required("attendance.mark")
def save(meeting_id, occurrence_id):
    """Save the roll-call's form: "all present" (action=all_present, optionally district_id), or, without the
    page's script, every site whose posted mark (e<id>-status, e<id>-reason) differs from the one kept.

    All or nothing: a refused site shows its reason, and no mark of the post is kept.
    """
    occurrence = _sitting(meeting_id, occurrence_id)
    back = url_for("attendance.sitting", meeting_id=meeting_id, occurrence_id=occurrence_id)
    district_id = request.form.get("district_id", type=query_id)
    try:
        if request.form.get("action") == "all_present":
            ids = service.mark_all_present(occurrence, current_user, district_id)
            if _wants_json():
                marks = db.session.scalars(sa.select(Attendance).where(
                    Attendance.occurrence_id == occurrence.id, Attendance.endpoint_id.in_(ids))).all()
                return committed(_answer(occurrence, [(row.endpoint_id, row) for row in marks]))
            message = ngettext("Đã điểm danh có mặt %(num)s điểm cầu.", "Đã điểm danh có mặt %(num)s điểm cầu.",
                               len(ids))
            db.session.commit()
            flash(message, "success")
            return redirect(back + (f"#district-{district_id}" if district_id else ""))
        if not any(name.endswith("-status") for name in request.form):
            return _page(occurrence, status=400, refusal=_("Chọn điểm danh cho ít nhất một điểm cầu."))
        failed, saved = _save_changed(occurrence)
    except Conflict as exc:
        db.session.rollback()
        if _wants_json():
            return _refused(exc, 409)
        return _page(occurrence, status=409, refusal=shown(exc.message))
    if failed:
        db.session.rollback()
        return _page(occurrence, failed, 400)
    message = ngettext("Đã lưu điểm danh của %(num)s điểm cầu.", "Đã lưu điểm danh của %(num)s điểm cầu.", saved)
    db.session.commit()
    flash(message, "success")
    return redirect(back + (f"#district-{district_id}" if district_id else ""))


def _save_changed(occurrence):
    """Mark every site whose posted mark differs from the one kept; return ({endpoint_id: refused form}, saved)."""
    failed, saved = {}, 0
    marks = {e.id: m for e, m in service.sites(occurrence)}
    for endpoint_id, kept in marks.items():
        prefix = f"e{endpoint_id}"
        if f"{prefix}-status" not in request.form:
            continue
        form = MarkForm(prefix=prefix)
        form.endpoint_id.data = str(endpoint_id)
        data = {"status": form.status.data, "reason": form.reason.data or ""}
        if not form.validate():
            failed[endpoint_id] = form
            continue
        if kept is not None and (kept.status, kept.reason) == (data["status"], service.usual_reason(
                " ".join(data["reason"].split()))):
            continue
        try:
            service.mark(occurrence, endpoint_id, current_user, data)
            saved += 1
        except ValidationError as exc:
            for name, reason in exc.fields.items():
                field = getattr(form, name, None)
                (field.errors if field is not None and isinstance(field.errors, list) else form.form_errors).append(
                    shown(reason))
            failed[endpoint_id] = form
    return failed, saved


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
