"""Readiness pages: the technician's day (phone first), confirming a site, the board, the report."""

from datetime import datetime, time, timedelta

from flask import Blueprint, Response, abort, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup

from vmeeting.auth.guards import permission_required
from vmeeting.booking import service as booking
from vmeeting.booking.models import Meeting, Occurrence
from vmeeting.core.bounds import query_id
from vmeeting.core.database import utcnow
from vmeeting.core.errors import Conflict, NotFound, ValidationError
from vmeeting.core.extensions import db
from vmeeting.readiness import service
from vmeeting.readiness.forms import ConfirmForm, ReportForm
from vmeeting.readiness.report import CSV_KINDS, readiness_report, report_csv, sites_xlsx
from vmeeting.core.spreadsheet import XLSX_MIMETYPE
from vmeeting.core.text import shown
from vmeeting.core.timefmt import local_to_utc, to_local
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
    if request.method == "POST" and form.validate():
        try:
            service.confirm(occurrence, endpoint, current_user, form.values())
            db.session.commit()
            flash(_("Đã ghi nhận: %(site)s – %(status)s.", site=endpoint.name,
                    status=_("Có sự cố") if form.issue.data else _("Sẵn sàng")), "success")
            return redirect(back)
        except ValidationError as exc:
            db.session.rollback()
            for name, reason in exc.fields.items():
                field = form.note if name == "note" else None
                if field is not None:
                    field.errors = [*field.errors, shown(reason)]
                else:
                    form.form_errors.append(shown(reason))
            status = 400
        except Conflict as exc:
            db.session.rollback()
            form.form_errors.append(shown(exc.message))
            status = 409
    elif request.method == "POST":
        status = 400
    return render_template("readiness/confirm.html", form=form, occurrence=occurrence, endpoint=endpoint,
                           readiness=readiness, back=back), status


#: the problems each kind lists on the board; past it the kind says how many more (the Excel file has them all)
PROBLEMS_SHOWN = 100
#: the most sites the board draws as cells; past it (a national meeting) it counts them by province first,
#: each province a link to its own cells (?unit_id=), so the page weighs the same at 1,000 sites or 10,000
GRID_CELLS = 1000


def _problems(items, summary):
    """Return {kind: ([item], how many more)} of the sites not ready, by verdict (at most PROBLEMS_SHOWN a kind)."""
    kinds = {kind: [] for kind in service.PROBLEM_KINDS}
    for item in items:
        if item["verdict"] in kinds and len(kinds[item["verdict"]]) < PROBLEMS_SHOWN:
            kinds[item["verdict"]].append(item)
    return {kind: (listed, summary[kind] - len(listed)) for kind, listed in kinds.items()}


def _problem_lists(items, summary):
    """Return {kind: the HTML of its list}: what the board's poll repaints, as the page first drew it."""
    return {kind: Markup(render_template("readiness/_problems.html", kind=kind, items=listed, more=more,
                                         instant=datetime.fromisoformat))
            for kind, (listed, more) in _problems(items, summary).items()}


def _board_view(occurrence):
    """Return what the board shows of a sitting: the board's data, the sites drawn (narrowed by ?unit_id= to a
    province), their counts, each province's counts when there are too many sites to draw, the problem lists."""
    data = service.board(occurrence)
    unit_id = request.args.get("unit_id", type=query_id)
    items, provinces = data["items"], None
    if unit_id is not None:
        items = [item for item in items if item["province_id"] == unit_id]
    elif len(items) > GRID_CELLS:
        provinces = {}
        for item in items:
            entry = provinces.setdefault(item["province_id"], {"id": item["province_id"], "name": item["province"],
                                                               "items": []})
            entry["items"].append(item)
        provinces = [{**p, "summary": service.summarize(p.pop("items"))} for p in provinces.values()]
        items = []
    summary = service.summarize(items) if unit_id is not None else data["summary"]
    return {"board": data, "items": items, "summary": summary, "provinces": provinces, "unit_id": unit_id,
            "problems": _problem_lists(items if provinces is None else data["items"], summary)}


@bp.get("/meetings/<int:meeting_id>/readiness")
@permission_required("meetings.view")
def board(meeting_id):
    """Show a sitting's board: its counts and every site as a cell by district on top (past GRID_CELLS sites,
    each province's counts), then the problems by kind, folded; refreshed in place (readiness.js polls
    `board_json`). Query: occurrence_id (else the current sitting), unit_id (one province's sites)."""
    meeting, occurrence = _sitting(meeting_id)
    view = _board_view(occurrence)
    groups, districts = {}, {}
    for item in view["items"]:
        groups.setdefault(item["district_id"], []).append(item)
        districts.setdefault(item["district_id"], {"id": item["district_id"], "name": item["district"]})
    confirmable = {i["endpoint_id"] for i in view["items"]
                   if service.may_confirm(current_user, i["technician_id"])}
    return render_template("readiness/board.html", meeting=meeting, occurrence=occurrence, **view,
                           filters={name: sorted(kinds) for name, kinds in service.FILTERS.items()},
                           groups=[(districts[d], groups[d]) for d in groups], confirmable=confirmable,
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
    """Return the board's data for the page's own refresh (signed in by session, unlike the API): what the page
    shows, with the same query (occurrence_id, unit_id)."""
    _meeting, occurrence = _sitting(meeting_id)
    view = _board_view(occurrence)
    # what the page draws, no more: the sites drawn as cells (none past GRID_CELLS), each province's counts,
    # the problem lists as drawn (their wording lives in one template)
    response = jsonify({**{k: v for k, v in view["board"].items() if k != "items"}, "items": view["items"],
                        "summary": view["summary"], "problems": view["problems"],
                        "provinces": view["provinces"] or []})
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
