"""JSON API for units, endpoints and bridges (CONTRACT.md)."""

from datetime import datetime

import sqlalchemy as sa
from flask import g, jsonify, request, url_for

from vmeeting.auth.guards import api_permission_required
from vmeeting.core.bounds import check_day
from vmeeting.core.database import utcnow
from vmeeting.core.errors import ValidationError
from vmeeting.core.extensions import db
from vmeeting.core.jsonapi import api_blueprint, committed, int_arg, json_body, page_args, paginated
from vmeeting.core.text import N_
from vmeeting.core.timefmt import to_local
from vmeeting.registry import service, succession
from vmeeting.registry.apidoc import SCHEMAS
from vmeeting.registry.models import ENDPOINT_STATUSES, AdminUnit, Bridge, Endpoint

bp = api_blueprint("registry_api", __name__)

#: a longer search is not a name; capping it bounds the query's size
MAX_QUERY_LENGTH = 200


def unit_json(unit, links=None):
    """Return a unit as the API shows it: valid_from and valid_until (its last day; valid_to, its older name,
    stays) as YYYY-MM-DD or null, and, given its links (succession.links), predecessors and successors
    as [{unit_id, kind: full/partial}]."""
    body = {
        "id": unit.id, "code": unit.code, "name": unit.name, "kind": unit.kind, "level": unit.level,
        "parent_id": unit.parent_id,
        "valid_from": unit.valid_from.isoformat() if unit.valid_from else None,
        "valid_until": unit.valid_to.isoformat() if unit.valid_to else None,
        "valid_to": unit.valid_to.isoformat() if unit.valid_to else None,
    }
    if links is not None:
        for side in ("predecessors", "successors"):
            body[side] = [{"unit_id": link["unit_id"], "kind": link["kind"]} for link in links[side]]
    return body


def endpoint_json(endpoint):
    """Return an endpoint as the API shows it: the writable fields, its id, unit name and dates."""
    body = {field: getattr(endpoint, field) for field in service.ENDPOINT_FIELDS}
    body["id"] = endpoint.id
    body["unit_name"] = endpoint.unit.full_name
    body["created_at"] = endpoint.created_at.isoformat()
    body["updated_at"] = endpoint.updated_at.isoformat()
    body["retired_at"] = endpoint.retired_at.isoformat() if endpoint.retired_at else None
    return body


def bridge_json(bridge):
    """Return a bridge as the API shows it, with its capacity in ports."""
    return {"id": bridge.id, "code": bridge.code, "name": bridge.name, "ports": bridge.ports,
            "address": bridge.address, "is_active": bridge.is_active}


@bp.get("/units")
@api_permission_required("registry.view")
def units():
    """List the units valid on `valid_on` (YYYY-MM-DD, default today in local time) in official order,
    each with its predecessors and successors; 400 naming `valid_on` (or the page) when it is not a day."""
    raw = request.args.get("valid_on", "").strip()
    on_day = to_local(utcnow()).date()
    if raw:
        try:
            on_day = datetime.strptime(raw, "%Y-%m-%d").date()
        except ValueError:
            raise ValidationError({"valid_on": N_("Phải là một ngày dạng YYYY-MM-DD.")}) from None
        try:
            check_day(on_day)
        except ValueError as exc:
            raise ValidationError({"valid_on": exc.args[0]}) from None
    select = service.units_select(on_day)
    page, per_page = page_args()
    total = db.session.scalar(sa.select(sa.func.count()).select_from(select.order_by(None).subquery()))
    rows = db.session.scalars(select.limit(per_page).offset((page - 1) * per_page)).all()
    links = succession.links(unit.id for unit in rows)
    return jsonify({"items": [unit_json(unit, links[unit.id]) for unit in rows], "total": total,
                    "page": page, "per_page": per_page})


@bp.get("/units/<int:unit_id>")
@api_permission_required("registry.view")
def unit(unit_id):
    """Show one unit, whatever its dates, with its predecessors and successors."""
    found = db.get_or_404(AdminUnit, unit_id)
    return jsonify(unit_json(found, succession.links([found.id])[found.id]))


@bp.get("/endpoints")
@api_permission_required("registry.view")
def endpoints():
    """Search endpoints by text (accent-blind), unit (with descendants) and status."""
    errors = {}
    q = request.args.get("q", "")
    if len(q) > MAX_QUERY_LENGTH:
        errors["q"] = f"Tối đa {MAX_QUERY_LENGTH} ký tự."
    status = request.args.get("status") or None
    if status and status not in ENDPOINT_STATUSES:
        errors["status"] = "Phải là một trong: " + ", ".join(ENDPOINT_STATUSES) + "."
    unit_id = None
    try:
        unit_id = int_arg("unit_id")
    except ValidationError as exc:
        errors.update(exc.fields)
    if unit_id is not None and db.session.get(AdminUnit, unit_id) is None:
        errors["unit_id"] = "Không có đơn vị này."
    if errors:
        raise ValidationError(errors)
    query = service.search_endpoints(q, unit_id, status)
    return paginated(query, endpoint_json)


@bp.post("/endpoints")
@api_permission_required("endpoints.edit")
def create_endpoint():
    """Create an endpoint; 201 with it and its address."""
    endpoint = service.create_endpoint(json_body(SCHEMAS["EndpointInput"]), actor=_actor())
    response = jsonify(endpoint_json(endpoint))
    response.headers["Location"] = url_for(".endpoint", endpoint_id=endpoint.id)
    return committed((response, 201))


@bp.get("/endpoints/<int:endpoint_id>")
@api_permission_required("registry.view")
def endpoint(endpoint_id):
    """Show one endpoint."""
    return jsonify(endpoint_json(db.get_or_404(Endpoint, endpoint_id)))


@bp.patch("/endpoints/<int:endpoint_id>")
@api_permission_required("endpoints.edit")
def update_endpoint(endpoint_id):
    """Change the fields given; the others stay."""
    endpoint = db.get_or_404(Endpoint, endpoint_id)
    service.update_endpoint(endpoint, json_body(SCHEMAS["EndpointPatch"]), actor=_actor())
    return committed(jsonify(endpoint_json(endpoint)))


@bp.delete("/endpoints/<int:endpoint_id>")
@api_permission_required("endpoints.edit")
def retire_endpoint(endpoint_id):
    """Retire the endpoint; its history stays."""
    endpoint = db.get_or_404(Endpoint, endpoint_id)
    service.retire_endpoint(endpoint, actor=_actor())
    return committed(jsonify(endpoint_json(endpoint)))


@bp.get("/bridges")
@api_permission_required("registry.view")
def bridges():
    """List the MCU bridges with their ports."""
    return paginated(service.bridges_select(), bridge_json)


@bp.get("/bridges/<int:bridge_id>")
@api_permission_required("registry.view")
def bridge(bridge_id):
    """Show one bridge."""
    return jsonify(bridge_json(db.get_or_404(Bridge, bridge_id)))


def _actor():
    return g.api_user
