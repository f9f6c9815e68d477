"""Registry pages: endpoints, units, bridges and groups (import and export in transfer_views).

Each view parses its form, calls the registry service, commits, flashes and
redirects; the rules live in `registry/service.py` (and `registry/transfer.py`
for files).
"""


import sqlalchemy as sa
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.orm import joinedload, selectinload

from vmeeting.audit import service as audit
from vmeeting.audit.models import AuditEvent
from vmeeting.auth.guards import permission_required
from vmeeting.auth.models import User
from vmeeting.core.bounds import query_date, query_id, query_page
from vmeeting.core.database import utcnow
from vmeeting.core.timefmt import to_local
from vmeeting.core.errors import Conflict, ValidationError
from vmeeting.core.extensions import db
from vmeeting.registry import service, succession
from vmeeting.registry.forms import (
    ENDPOINT_LABELS,
    BridgeForm,
    ConfirmForm,
    EndpointForm,
    GroupForm,
    UnitForm,
)
from vmeeting.registry.models import ENDPOINT_STATUSES, AdminUnit, Bridge, Endpoint, EndpointGroup
from vmeeting.core.text import fold, shown, vi_sorted

bp = Blueprint("registry", __name__)

PER_PAGE = 50
#: the most units the units page lists whole; past it (the country) districts fold their communes
UNITS_SHOWN = 2000
#: the endpoint fields whose stored value is an id or a code, shown by name in the history
_REFERENCES = {"unit_id": AdminUnit, "bridge_id": Bridge, "technician_id": User}


# -- helpers ---------------------------------------------------------------------------


def show_errors(form, exc):
    """Undo the failed change and put each of the service's reasons on its form field, in the page's language."""
    db.session.rollback()
    for name, reason in exc.fields.items():
        reason = shown(reason)
        field = form._fields.get(name)
        if field is None or field.type in ("CSRFTokenField", "HiddenField"):
            form.form_errors.append(reason)
        else:
            field.errors = [*field.errors, reason]


def render_form(template, form, status=200, **context):
    """Render a form page; 400 when it comes back with errors, so scripts can tell."""
    return render_template(template, form=form, **context), (400 if form.errors else status)


def list_filters():
    """Return the endpoint list's filters from the query string (shared with the export).

    valid_on (YYYY-MM-DD): the list read as of that day, the unit filter taking the sites that were under
    the unit then (service.search_endpoints's on_day); absent, not a day, or today: as of today.
    """
    status = request.args.get("status")
    on_day = request.args.get("valid_on", type=query_date)
    return {
        "q": request.args.get("q", "").strip()[:200],
        "unit_id": request.args.get("unit_id", type=query_id),
        "status": status if status in ENDPOINT_STATUSES else None,
        "on_day": on_day if on_day != to_local(utcnow()).date() else None,
    }


def _technicians():
    """Return the enabled technicians in Vietnamese order of their names."""
    users = db.session.scalars(sa.select(User).where(User.role == "technician", User.is_enabled)).all()
    return vi_sorted(users, key=lambda u: u.display_name)


def _endpoint_form(endpoint=None):
    """Build the endpoint form with its unit tree, bridges and technicians."""
    # today's units (a site belongs to a unit that exists), and the site's own if it has ended since
    tree = service.unit_tree(to_local(utcnow()).date())
    if endpoint is not None and endpoint.unit_id not in {unit.id for unit, _depth in tree}:
        tree.append((endpoint.unit, 0))
    return EndpointForm(
        obj=endpoint,
        unit_tree=tree,
        bridges=db.session.scalars(service.bridges_select()).all(),
        technicians=_technicians(),
        is_new=endpoint is None,
        may_dial=service.may_direct_probes(current_user),
    )


def _history_rows(entity_type, entity_id):
    """Return the record's audit events with each change as (label, before, after) in words."""
    events = db.session.scalars(
        audit.history(entity_type, entity_id).options(joinedload(AuditEvent.actor))
    ).all()
    # One query per referenced table, not one per change.
    wanted = {field: set() for field in _REFERENCES}
    for event in events:
        for field, values in event.changes.items():
            if field in wanted:
                wanted[field].update(v for v in values if isinstance(v, int))
    names = {}
    for field, ids in wanted.items():
        if ids:
            model = _REFERENCES[field]
            query = sa.select(model).where(model.id.in_(ids))
            if model is AdminUnit:
                query = query.options(joinedload(AdminUnit.parent))
            names[field] = {row.id: _reference_name(row) for row in db.session.scalars(query)}
    rows = []
    for event in events:
        changes = [
            (ENDPOINT_LABELS.get(field, field), _change_text(field, before, names),
             _change_text(field, after, names))
            for field, (before, after) in sorted(event.changes.items(), key=lambda item: _field_order(item[0]))
        ]
        rows.append({"event": event, "changes": changes})
    return rows


def _field_order(field):
    return service.ENDPOINT_FIELDS.index(field) if field in service.ENDPOINT_FIELDS else len(service.ENDPOINT_FIELDS)


def _reference_name(row):
    if isinstance(row, AdminUnit):
        return row.full_name
    if isinstance(row, User):
        return row.display_name
    return row.name


def _change_text(field, value, names):
    if value is None or value == "" or value == []:
        return "—"
    if field in names:
        return names[field].get(value, f"#{value}")
    if field in service.CHOICE_LABELS:
        return _(service.CHOICE_LABELS[field].get(value, value))
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


# -- endpoints -------------------------------------------------------------------------


@bp.get("/endpoints")
@permission_required("registry.view")
def endpoints():
    """List endpoints with search, unit and status filters, in Vietnamese order."""
    filters = list_filters()
    page = request.args.get("page", 1, type=query_page)
    query = service.search_endpoints(**filters)
    total = db.session.scalar(sa.select(sa.func.count()).select_from(query.order_by(None).subquery()))
    pages = max((total + PER_PAGE - 1) // PER_PAGE, 1)
    page = min(page, pages)
    rows = db.session.scalars(
        query.options(joinedload(Endpoint.unit).joinedload(AdminUnit.parent))
        .limit(PER_PAGE).offset((page - 1) * PER_PAGE)
    ).all()
    day = filters["on_day"] or to_local(utcnow()).date()
    unit = db.session.get(AdminUnit, filters["unit_id"]) if filters["unit_id"] else None
    args = {key: value for key, value in filters.items() if value and key != "on_day"}
    if filters["on_day"]:
        args["valid_on"] = day.isoformat()
    return render_template(
        "registry/endpoints.html",
        endpoints=rows, total=total, page=page, pages=pages, filters=filters, args=args, day=day,
        # the filter offers provinces and districts (and the unit asked for), not every commune of the country;
        # those valid on the day shown, and a province's own communes when it has no district (since 07/2025)
        unit_outline=service.unit_outline(also=unit, on_day=day),
        # a site's unit on the day shown, from its history (the list as of another day)
        units_then=_units_then(rows, filters["on_day"]),
        resolved=succession.resolve_on([unit.id], day)[unit.id] if unit and not unit.is_valid_on(day) else None,
        labels=service.CHOICE_LABELS,
    )


def _units_then(rows, on_day):
    """{endpoint id: its unit on on_day} for the listed sites whose unit then was another; {} for today."""
    if on_day is None:
        return {}
    held = succession.site_units_on(on_day)
    wanted = {held[e.id] for e in rows if held.get(e.id) not in (None, e.unit_id)}
    units = {u.id: u for u in db.session.scalars(sa.select(AdminUnit).where(AdminUnit.id.in_(wanted))
                                                 .options(joinedload(AdminUnit.parent)))}
    return {e.id: units[held[e.id]] for e in rows if held.get(e.id) in units}


@bp.get("/endpoints/<int:endpoint_id>")
@permission_required("registry.view")
def endpoint(endpoint_id):
    """Show one endpoint with every field and its history."""
    item = db.get_or_404(
        Endpoint, endpoint_id,
        options=[joinedload(Endpoint.unit).joinedload(AdminUnit.parent),
                 joinedload(Endpoint.bridge), joinedload(Endpoint.technician), selectinload(Endpoint.groups)],
    )
    return render_template(
        "registry/endpoint.html", endpoint=item, labels=ENDPOINT_LABELS, choices=service.CHOICE_LABELS,
        history=_history_rows("endpoint", item.id),
    )


@bp.route("/endpoints/new", methods=["GET", "POST"])
@permission_required("endpoints.edit")
def create_endpoint():
    """Register a new endpoint."""
    form = _endpoint_form()
    if form.validate_on_submit():
        try:
            item = service.create_endpoint(form.endpoint_data(), actor=current_user)
        except ValidationError as exc:
            show_errors(form, exc)
        else:
            db.session.commit()
            flash(_("Đã thêm điểm cầu %(name)s.", name=item.name), "success")
            return redirect(url_for(".endpoint", endpoint_id=item.id))
    return render_form("registry/endpoint_form.html", form, endpoint=None)


@bp.route("/endpoints/<int:endpoint_id>/edit", methods=["GET", "POST"])
@permission_required("endpoints.edit")
def edit_endpoint(endpoint_id):
    """Change an endpoint's fields."""
    item = db.get_or_404(Endpoint, endpoint_id)
    form = _endpoint_form(item)
    if form.validate_on_submit():
        try:
            service.update_endpoint(item, form.endpoint_data(), actor=current_user, partial=False)
        except ValidationError as exc:
            show_errors(form, exc)
        except Conflict as exc:
            db.session.rollback()
            flash(shown(exc.message), "error")
            return redirect(url_for(".endpoint", endpoint_id=endpoint_id))
        else:
            db.session.commit()
            flash(_("Đã lưu điểm cầu %(name)s.", name=item.name), "success")
            return redirect(url_for(".endpoint", endpoint_id=item.id))
    return render_form("registry/endpoint_form.html", form, endpoint=item)


@bp.route("/endpoints/<int:endpoint_id>/retire", methods=["GET", "POST"])
@permission_required("endpoints.edit")
def retire_endpoint(endpoint_id):
    """Ask for confirmation, then retire an endpoint (it is kept, with its history)."""
    item = db.get_or_404(Endpoint, endpoint_id)
    form = ConfirmForm()
    if form.validate_on_submit():
        try:
            service.retire_endpoint(item, actor=current_user)
        except Conflict as exc:
            db.session.rollback()
            flash(shown(exc.message), "error")
        else:
            db.session.commit()
            flash(_("Đã ngừng sử dụng điểm cầu %(name)s.", name=item.name), "success")
        return redirect(url_for(".endpoint", endpoint_id=endpoint_id))
    return render_template("registry/endpoint_retire.html", endpoint=item, form=form)


# -- units -----------------------------------------------------------------------------


@bp.route("/units/new", methods=["GET", "POST"])
@permission_required("units.edit")
def create_unit():
    """Add an administrative unit."""
    return _save_unit(None)


@bp.route("/units/<int:unit_id>/edit", methods=["GET", "POST"])
@permission_required("units.edit")
def edit_unit(unit_id):
    """Change an administrative unit."""
    return _save_unit(db.get_or_404(AdminUnit, unit_id))


def _save_unit(unit):
    form = UnitForm(obj=unit, unit_tree=service.unit_tree())
    if form.validate_on_submit():
        try:
            unit = service.save_unit(unit, form.unit_data(), actor=current_user)
        except ValidationError as exc:
            show_errors(form, exc)
        else:
            db.session.commit()
            flash(_("Đã lưu đơn vị %(name)s.", name=unit.name), "success")
            return redirect(url_for(".units", _anchor=f"unit-{unit.id}"))
    return render_form("registry/unit_form.html", form, unit=unit)


# -- bridges ---------------------------------------------------------------------------


@bp.get("/bridges")
@permission_required("registry.view")
def bridges():
    """List the MCU bridges, their capacity and how many endpoints use each."""
    counts = dict(db.session.execute(
        sa.select(Endpoint.bridge_id, sa.func.count()).where(Endpoint.status != "retired")
        .group_by(Endpoint.bridge_id)
    ).all())
    return render_template(
        "registry/bridges.html", bridges=db.session.scalars(service.bridges_select()).all(), counts=counts
    )


@bp.route("/bridges/new", methods=["GET", "POST"])
@permission_required("bridges.edit")
def create_bridge():
    """Add an MCU bridge."""
    return _save_bridge(None)


@bp.route("/bridges/<int:bridge_id>/edit", methods=["GET", "POST"])
@permission_required("bridges.edit")
def edit_bridge(bridge_id):
    """Change an MCU bridge."""
    return _save_bridge(db.get_or_404(Bridge, bridge_id))


def _save_bridge(bridge):
    form = BridgeForm(obj=bridge)
    if form.validate_on_submit():
        try:
            bridge = service.save_bridge(bridge, form.bridge_data(), actor=current_user)
        except ValidationError as exc:
            show_errors(form, exc)
        else:
            db.session.commit()
            flash(_("Đã lưu cầu MCU %(name)s.", name=bridge.name), "success")
            return redirect(url_for(".bridges"))
    return render_form("registry/bridge_form.html", form, bridge=bridge)


# -- groups ----------------------------------------------------------------------------


@bp.get("/groups")
@permission_required("registry.view")
def groups():
    """List saved endpoint groups."""
    counts = dict(db.session.execute(
        sa.select(EndpointGroup.id, sa.func.count(Endpoint.id))
        .outerjoin(EndpointGroup.endpoints).group_by(EndpointGroup.id)
    ).all())
    items = vi_sorted(db.session.scalars(service.groups_select()).all(), key=lambda g: g.name)
    return render_template("registry/groups.html", groups=items, counts=counts)


@bp.get("/groups/<int:group_id>")
@permission_required("registry.view")
def group(group_id):
    """Show a group and its endpoints."""
    item = db.get_or_404(EndpointGroup, group_id, options=[joinedload(EndpointGroup.created_by)])
    members = db.session.scalars(
        sa.select(Endpoint).join(Endpoint.groups).where(EndpointGroup.id == item.id)
        .options(joinedload(Endpoint.unit).joinedload(AdminUnit.parent))
        .order_by(Endpoint.name_sort_key, Endpoint.code)
    ).all()
    return render_template("registry/group.html", group=item, members=members, labels=service.CHOICE_LABELS)


@bp.route("/groups/new", methods=["GET", "POST"])
@permission_required("groups.edit")
def create_group():
    """Save a new group of endpoints."""
    return _save_group(None)


@bp.route("/groups/<int:group_id>/edit", methods=["GET", "POST"])
@permission_required("groups.edit")
def edit_group(group_id):
    """Change a group's name, description or endpoints."""
    return _save_group(db.get_or_404(EndpointGroup, group_id))


def _save_group(group):
    form = GroupForm(obj=group)
    if request.method == "GET" and group is not None:
        form.endpoint_ids.data = [e.id for e in group.endpoints]
    if form.validate_on_submit():
        try:
            group = service.save_group(
                group, form.name.data, form.description.data, form.endpoint_ids.data,
                actor=current_user, unit_ids=form.unit_ids.data,
            )
        except ValidationError as exc:
            show_errors(form, exc)
        else:
            db.session.commit()
            flash(_("Đã lưu nhóm %(name)s.", name=group.name), "success")
            return redirect(url_for(".group", group_id=group.id))
    chosen = set(form.endpoint_ids.data or [])
    # Retired sites are offered only if the group already holds them, so they can be removed.
    candidates = db.session.scalars(
        service.search_endpoints()
        .where(sa.or_(Endpoint.status != "retired", Endpoint.id.in_(chosen)))
        .options(joinedload(Endpoint.unit).joinedload(AdminUnit.parent))
    ).all()
    return render_form(
        "registry/group_form.html", form, group=group, candidates=_by_district(candidates),
        chosen=chosen, chosen_units=set(form.unit_ids.data or []),
        # today's units above commune level, and a province's own communes where it has no district (since 07/2025)
        pick_units=[(u, d) for u, d in service.unit_tree(to_local(utcnow()).date())
                    if u.level != "commune" or (u.parent is not None and u.parent.level == "province")],
        fold=fold,
    )


def _by_district(endpoints):
    """Group endpoints under their district-level unit (the province's own sites first)."""
    sections = {}
    for item in endpoints:
        unit = item.unit
        head = unit.parent if unit.level == "commune" and unit.parent is not None else unit
        sections.setdefault(head.id, (head, []))[1].append(item)
    levels = {"province": 0, "district": 1, "commune": 2}
    return sorted(sections.values(), key=lambda s: (levels.get(s[0].level, 3), s[0].position, s[0].id))

