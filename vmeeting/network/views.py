"""Network pages: the board of every site by district, a site's state, incidents (phone first)."""

from datetime import datetime, time, timedelta

import sqlalchemy as sa
from flask import Blueprint, abort, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup

from vmeeting.auth.guards import permission_required
from vmeeting.core.bounds import query_date, query_id, query_page
from vmeeting.core.database import utcnow
from vmeeting.core.errors import Conflict, ValidationError
from vmeeting.core.extensions import db
from vmeeting.network import service
from vmeeting.network.forms import IncidentForm, ResolveForm
from vmeeting.booking import service as booking
from vmeeting.booking.models import Occurrence
from vmeeting.network.models import Incident, NetworkState
from vmeeting.registry.models import AdminUnit, Endpoint
from vmeeting.core.text import shown
from vmeeting.core.timefmt import local_to_utc, to_local

bp = Blueprint("network", __name__)

PER_PAGE = 50


def _in_page_language(labels):
    """Return the service's label map in the page's language (its Vietnamese words are the catalogue's keys)."""
    return {key: _(text) for key, text in labels.items()}


#: today's sittings the board lists with their counts (the today board and the calendar have them all)
SITTINGS_SHOWN = 5


def _board_scope():
    """Return (unit or None, occurrence or None) named by ?unit_id= and ?occurrence_id=; 404 for an unknown one."""
    unit_id = request.args.get("unit_id", type=query_id)
    occurrence_id = request.args.get("occurrence_id", type=query_id)
    unit = db.session.get(AdminUnit, unit_id) if unit_id else None
    occurrence = db.session.get(Occurrence, occurrence_id) if occurrence_id else None
    if request.args.get("occurrence_id") and occurrence is None:
        abort(404)
    return unit, occurrence


def _sittings(occurrence):
    """Return [(occurrence, summary)]: the sitting shown, else today's first few, each counted by readiness's
    one verdict per site (booking.sitting_summaries), as the today board and the readiness board count them."""
    if occurrence is not None:
        listed = [occurrence]
    else:
        today = to_local(utcnow()).date()
        listed = booking.sittings_by_day([today], per_day=SITTINGS_SHOWN)[0].get(today, [])
    found = booking.sitting_summaries([o.id for o in listed])
    return [(o, found[o.id]) for o in listed if o.id in found]


def _simulated():
    """Tell whether the demo's sites answer from the demo's SIP simulator (development only, demo.simulator)."""
    setting = current_app.config.get("DEMO_SIP_SIMULATOR")
    if not setting:
        return False
    return db.session.scalar(sa.select(Endpoint.id).where(Endpoint.sip_uri.like(f"sip:%@{setting}")).limit(1)) \
        is not None


@bp.get("/network")
@permission_required("network.view")
def board():
    """Show every active site as a cell, grouped by district, coloured by its state; refreshed in place.

    Query: unit_id (a unit and below), occurrence_id (the sites of a sitting,
    with its counts by verdict). Past service.BOARD_CELLS sites (the country)
    the board without either shows each province's counts instead, each a link
    to the province's own board of cells.
    """
    unit, occurrence = _board_scope()
    labels = _in_page_language(service.STATE_LABELS)
    common = {"unit": unit, "occurrence": occurrence, "labels": labels, "now": utcnow(),
              "sittings": _sittings(occurrence), "simulated": _simulated()}
    if unit is None and occurrence is None and service.active_site_count() > service.BOARD_CELLS:
        return render_template("network/board.html", provinces=service.provinces(), summary=service.summary(),
                               groups=None, **common)
    groups, counts = service.board(unit.id if unit else None, occurrence.id if occurrence else None)
    return render_template("network/board.html", groups=groups, summary=counts, open_sites=_open_sites(),
                           provinces=None, **common)


def _open_sites():
    return set(db.session.scalars(service.incidents_select(open_only=True).with_only_columns(Incident.endpoint_id)))


@bp.get("/network/board.json")
@permission_required("network.view")
def board_json():
    """Return what the board's own poll repaints: counts, each cell's state, open incidents, sittings' counts."""
    unit, occurrence = _board_scope()
    unit_id, occurrence_id = (unit.id if unit else None), (occurrence.id if occurrence else None)
    rows = db.session.execute(service.network_select(unit_id, occurrence_id)
                              .with_only_columns(Endpoint.id, NetworkState.state)).all()
    response = jsonify({
        "summary": service.summary(unit_id, occurrence_id),
        "states": {str(endpoint_id): state or "unknown" for endpoint_id, state in rows},
        "incidents": sorted(_open_sites()),
        "sittings": {str(o.id): counts for o, counts in _sittings(occurrence)},
    })
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/network/endpoints/<int:endpoint_id>")
@permission_required("network.view")
def endpoint(endpoint_id):
    """Show one site's state, availability over 7 and 30 days, its state changes and incidents."""
    site = db.get_or_404(Endpoint, endpoint_id)
    incidents = db.session.scalars(service.incidents_select(endpoint_id=site.id).limit(20)).all()
    return render_template("network/endpoint.html", endpoint=site, state=service.state_of(site.id),
                           availability={days: service.availability(site.id, days) for days in (7, 30)},
                           history=service.history(site.id), incidents=incidents,
                           daily=[{"day": day.strftime("%d/%m"), "up": None if share is None else round(share * 100, 1)}
                                  for day, share in service.daily_availability(site.id, 30)],
                           labels=_in_page_language(service.STATE_LABELS),
                           may_handle=service.may_handle(current_user, site))


@bp.app_template_global()
def network_panel(endpoint):
    """Render a site's network state as a small panel, for other capabilities' pages (the registry's)."""
    if not current_user.is_authenticated or not current_user.can("network.view"):
        return ""
    return Markup(render_template("network/_panel.html", endpoint=endpoint, state=service.state_of(endpoint.id),
                                  labels=_in_page_language(service.STATE_LABELS)))


@bp.get("/incidents")
@permission_required("network.view")
def incidents():
    """List incidents, open ones first by default."""
    show = request.args.get("show", "open")
    if show not in ("open", "all"):
        show = "open"
    page = request.args.get("page", 1, type=query_page)
    query = service.incidents_select(open_only=show == "open")
    total = db.session.scalar(db.select(db.func.count()).select_from(query.order_by(None).subquery()))
    rows = db.session.scalars(query.limit(PER_PAGE).offset((page - 1) * PER_PAGE)).all()
    return render_template("network/incidents.html", incidents=rows, total=total, page=page, show=show,
                           pages=max((total + PER_PAGE - 1) // PER_PAGE, 1),
                           severity_labels=_in_page_language(service.SEVERITY_LABELS),
                           source_labels=_in_page_language(service.SOURCE_LABELS))


@bp.get("/incidents/report")
@permission_required("network.view")
def incident_report():
    """Incidents per district over a period (last 30 days by default): opened, resolved, open, time to resolve."""
    today = to_local(utcnow()).date()
    errors, bounds = {}, {}
    for name, default in (("from", today - timedelta(days=29)), ("to", today)):
        raw = request.args.get(name, "")
        try:
            bounds[name] = query_date(raw) if raw else default
        except ValueError:
            errors[name] = _("Dùng ngày dạng YYYY-MM-DD.")
            bounds[name] = default
    if not errors and bounds["to"] < bounds["from"]:
        errors["to"] = _("Ngày kết thúc phải sau ngày bắt đầu.")
    rows = [] if errors else service.incident_report(
        local_to_utc(datetime.combine(bounds["from"], time.min)),
        local_to_utc(datetime.combine(bounds["to"] + timedelta(days=1), time.min)))
    return render_template("network/incident_report.html", rows=rows, errors=errors, bounds=bounds), \
        400 if errors else 200


@bp.route("/incidents/new", methods=["GET", "POST"])
@permission_required("incidents.open")
def new_incident():
    """Open an incident on one of the sites the user may handle (a technician: their own)."""
    form = IncidentForm()
    sites = db.session.scalars(service.handleable_endpoints(current_user)).all()
    form.endpoint_id.choices = [(0, _("— Chọn điểm cầu —"))] + [(e.id, f"{e.name} ({e.code})") for e in sites]
    if request.method == "GET" and request.args.get("endpoint_id", type=query_id):
        form.endpoint_id.data = request.args.get("endpoint_id", type=query_id)
    status = 200
    if request.method == "POST":
        if form.validate():
            try:
                incident = service.open_incident(current_user, {
                    "endpoint_id": form.endpoint_id.data, "title": form.title.data,
                    "severity": form.severity.data, "note": form.note.data or ""})
                db.session.commit()
                flash(_("Đã mở sự cố «%(title)s».", title=incident.title), "success")
                return redirect(url_for("network.incident", incident_id=incident.id))
            except ValidationError as exc:
                db.session.rollback()
                for name, reason in exc.fields.items():
                    field = getattr(form, name, None)
                    if field is not None:
                        field.errors = [*field.errors, shown(reason)]
                    else:
                        form.form_errors.append(shown(reason))
        status = 400
    return render_template("network/incident_form.html", form=form), status


@bp.route("/incidents/<int:incident_id>", methods=["GET", "POST"])
@permission_required("network.view")
def incident(incident_id):
    """Show an incident; resolve it (POST) when the user may handle its site."""
    item = db.get_or_404(Incident, incident_id)
    form = ResolveForm()
    may_handle = service.may_handle(current_user, item.endpoint)
    status = 200
    if request.method == "POST":
        if not may_handle:
            abort(403)
        if form.validate():
            try:
                service.resolve_incident(item, current_user, form.resolution.data)
                db.session.commit()
                flash(_("Đã đóng sự cố."), "success")
                return redirect(url_for("network.incident", incident_id=item.id))
            except ValidationError as exc:
                db.session.rollback()
                form.resolution.errors = [*form.resolution.errors, *map(shown, exc.fields.values())]
            except Conflict as exc:
                db.session.rollback()
                form.form_errors.append(shown(exc.message))
        status = 400
    users = service.users_by_id([item.opened_by_id, item.resolved_by_id])
    return render_template("network/incident.html", incident=item, form=form, may_handle=may_handle, users=users,
                           severity_labels=_in_page_language(service.SEVERITY_LABELS),
                           source_labels=_in_page_language(service.SOURCE_LABELS)), status
