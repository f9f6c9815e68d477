"""Readiness pages: the technician's day (phone first), confirming a site, the board, the report."""

from datetime import datetime, time, timedelta

from flask import Blueprint, Response, abort, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from vmeeting.auth.guards import permission_required
from vmeeting.booking import service as booking
from vmeeting.booking.models import Meeting, Occurrence
from vmeeting.core.bounds import query_id
from vmeeting.core.database import utcnow
from vmeeting.core.errors import Conflict, NotFound, ValidationError
from vmeeting.core.extensions import db
from vmeeting.core.jsonapi import committed
from vmeeting.readiness import service
from vmeeting.readiness.forms import ConfirmForm, ReportForm
from vmeeting.readiness.report import CSV_KINDS, readiness_report, report_csv, sites_xlsx
from vmeeting.core.spreadsheet import XLSX_MIMETYPE
from vmeeting.core.text import shown
from vmeeting.core.timefmt import format_time, local_to_utc, to_local
from vmeeting.core.urls import safe_next_url

bp = Blueprint("readiness", __name__)


def _sitting(meeting_id):
    """Return the meeting and the sitting named by ?occurrence_id=, else its current one; 404 otherwise."""
    meeting = db.session.get(Meeting, meeting_id)
    if meeting is None:
        abort(404)
    occurrence_id = request.args.get("occurrence_id", type=query_id)
    if request.args.get("occurrence_id") and occurrence_id is None:
        abort(404)
    try:
        return meeting, service.occurrence_of(meeting, occurrence_id)
    except NotFound:
        abort(404)


def _confirm_form(occurrence, endpoint, readiness=None, formdata=None, next_url=None):
    # Each site's card on the day page is its own form: a prefix keeps their fields apart.
    form = ConfirmForm(formdata=formdata, prefix=f"o{occurrence.id}e{endpoint.id}")
    if formdata is None:
        form.fill(readiness)
        form.next.data = next_url or ""
    return form


@bp.get("/readiness")
@permission_required("readiness.confirm")
def mine():
    """List today's and tomorrow's sittings: the user's own sites to confirm, and every board."""
    today = to_local(utcnow()).date()
    window_from = local_to_utc(datetime.combine(today, time.min))
    window_to = window_from + timedelta(days=2)
    here = url_for("readiness.mine")
    mine = []
    for occurrence, sites in service.sittings_for(current_user, window_from, window_to):
        # the sites still to confirm first (the sort is stable: each half keeps the board's order)
        sites = sorted(sites, key=lambda site: service.is_confirmed(site[1]))
        mine.append((occurrence, [(endpoint, readiness,
                                   _confirm_form(occurrence, endpoint, readiness,
                                                 next_url=f"{here}#site-{occurrence.id}-{endpoint.id}"))
                                  for endpoint, readiness in sites]))
    confirmed = sum(service.is_confirmed(readiness) for _o, sites in mine for _e, readiness, _f in sites)
    total = sum(len(sites) for _o, sites in mine)
    everything = db.session.scalars(booking.occurrences_select(window_from, window_to)).all()
    return render_template("readiness/mine.html", mine=mine, everything=everything, today=today,
                           confirmed=confirmed, total=total)


@bp.route("/readiness/<int:occurrence_id>/<int:endpoint_id>", methods=["GET", "POST"])
@permission_required("readiness.confirm")
def confirm(occurrence_id, endpoint_id):
    """Show one site's checklist, or record the technician's answer from it."""
    occurrence = db.session.get(Occurrence, occurrence_id)
    if occurrence is None:
        abort(404)
    try:
        endpoint = service.site_of(occurrence, endpoint_id)
    except NotFound:
        abort(404)
    service.require_confirm(current_user, endpoint)
    readiness = db.session.scalar(service.readiness_select(occurrence.id, endpoint.id))
    form = _confirm_form(occurrence, endpoint, readiness, request.form if request.method == "POST" else None,
                         next_url=safe_next_url(request.args.get("next")))
    back = safe_next_url(form.next.data) or url_for("readiness.mine")
    status = 200
    # the technician's day page asks for JSON (checklist.js): the answer is said in place, the page stays put
    wants_json = request.accept_mimetypes.best == "application/json"
    if request.method == "POST" and form.validate():
        try:
            row = service.confirm(occurrence, endpoint, current_user, form.values())
            message = _("Đã ghi nhận: %(site)s – %(status)s.", site=endpoint.name,
                        status=_("Có sự cố") if form.issue.data else _("Sẵn sàng"))
            if wants_json:
                return committed(jsonify({"status": row.status, "message": message,
                                          "label": _("Có sự cố") if row.status == "issue" else _("Sẵn sàng"),
                                          "confirmed_at_text": format_time(row.confirmed_at)}))
            db.session.commit()
            flash(message, "success")
            return redirect(back)
        except ValidationError as exc:
            db.session.rollback()
            if wants_json:
                return jsonify({"error": {"code": "invalid", "message": shown(exc.message), "fields": {
                    name: shown(reason) for name, reason in exc.fields.items()}}}), 400
            for name, reason in exc.fields.items():
                field = form.note if name == "note" else None
                if field is not None:
                    field.errors = [*field.errors, shown(reason)]
                else:
                    form.form_errors.append(shown(reason))
            status = 400
        except Conflict as exc:
            db.session.rollback()
            if wants_json:
                return jsonify({"error": {"code": "conflict", "message": shown(exc.message)}}), 409
            form.form_errors.append(shown(exc.message))
            status = 409
    elif request.method == "POST":
        if wants_json:
            return jsonify({"error": {"code": "invalid", "message": _("Chưa lưu: hãy sửa các ô được đánh dấu."),
                                      "fields": {name: " ".join(errors) for name, errors in form.errors.items()}}}), 400
        status = 400
    return render_template("readiness/confirm.html", form=form, occurrence=occurrence, endpoint=endpoint,
                           readiness=readiness, back=back), status


@bp.get("/meetings/<int:meeting_id>/readiness")
@permission_required("meetings.view")
def board(meeting_id):
    """Show a sitting's board: every site as a tile by district, refreshed in place."""
    meeting, occurrence = _sitting(meeting_id)
    data = service.board(occurrence)
    groups = {}
    for item in data["items"]:
        groups.setdefault(item["district_id"], []).append(item)
    confirmable = {i["endpoint_id"] for i in data["items"] if service.may_confirm(current_user, i["technician_id"])}
    now = utcnow()
    # the sites' state (network: down, open incidents) flags a sitting in the coming 24 hours
    warnings = booking.site_warnings([i["endpoint_id"] for i in data["items"]]) \
        if occurrence.ends_at > now and occurrence.starts_at - now <= timedelta(hours=24) else []
    return render_template("readiness/board.html", meeting=meeting, occurrence=occurrence, board=data,
                           site_warnings=warnings,
                           groups=[(d, groups[d["id"]]) for d in data["districts"]], confirmable=confirmable,
                           refresh_seconds=current_app.config["BOARD_REFRESH_SECONDS"])


@bp.get("/meetings/<int:meeting_id>/sites.xlsx")
@permission_required("meetings.view")
def sites_download(meeting_id):
    """Download a sitting's sites (?occurrence_id=, else the current one) as Excel: district, technician, phone, verdict."""
    meeting, occurrence = _sitting(meeting_id)
    name = f"diem-cau-{meeting.id}-{to_local(occurrence.starts_at):%Y%m%d-%H%M}.xlsx"
    return Response(sites_xlsx(occurrence), mimetype=XLSX_MIMETYPE,
                    headers={"Content-Disposition": f"attachment; filename={name}"})


@bp.get("/meetings/<int:meeting_id>/readiness.json")
@permission_required("meetings.view")
def board_json(meeting_id):
    """Return the board's data for the page's own refresh (signed in by session, unlike the API)."""
    _meeting, occurrence = _sitting(meeting_id)
    response = jsonify(service.board(occurrence))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/meetings/<int:meeting_id>/readiness/probe")
@permission_required("readiness.confirm")
def probe(meeting_id):
    """Probe every site of the sitting now, then show the board again."""
    _meeting, occurrence = _sitting(meeting_id)
    occurrence_id = occurrence.id
    try:
        results = service.probe_now(occurrence)
    except Conflict as exc:
        db.session.rollback()
        flash(shown(exc.message), "warning")
    else:
        reachable = sum(1 for r in results if r.reachable)
        flash(_("Đã kiểm tra %(n)s điểm cầu: %(up)s kết nối được, %(down)s không kết nối được.",
                n=len(results), up=reachable, down=len(results) - reachable), "info")
    return redirect(url_for("readiness.board", meeting_id=meeting_id, occurrence_id=occurrence_id))


def _report_period():
    form = ReportForm(request.args)
    if request.args and not form.validate():
        return form, None
    return form, form.period(to_local(utcnow()).date())


@bp.get("/readiness/report")
@permission_required("meetings.view")
def report():
    """Show how often sites and districts were ready over a period, and the sites failing most."""
    form, period = _report_period()
    data = readiness_report(*period) if period else None
    days = (to_local(period[0]).strftime("%d/%m/%Y"), to_local(period[1] - timedelta(days=1)).strftime("%d/%m/%Y")) \
        if period else None
    return render_template("readiness/report.html", form=form, report=data, period_days=days), 200 if period else 400


@bp.get("/readiness/report.csv")
@permission_required("meetings.view")
def report_download():
    """Download the report as CSV: per site, or per district with ?by=district."""
    form, period = _report_period()
    by = request.args.get("by", "endpoint")
    if period is None or by not in CSV_KINDS:
        abort(400)
    prefix = "san-sang-huyen" if by == "district" else "san-sang"
    name = f"{prefix}-{to_local(period[0]):%Y%m%d}-{to_local(period[1] - timedelta(days=1)):%Y%m%d}.csv"
    return Response(report_csv(readiness_report(*period), by=by), mimetype="text/csv",
                    headers={"Content-Disposition": f"attachment; filename={name}"})
