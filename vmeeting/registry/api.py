"""JSON API for units, endpoints and bridges (CONTRACT.md)."""

from flask import abort, g, jsonify, request

from vmeeting.auth.guards import api_permission_required
from vmeeting.errors import ValidationError
from vmeeting.extensions import db
from vmeeting.jsonapi import api_blueprint, json_body, paginated
from vmeeting.registry import service
from vmeeting.registry.models import ENDPOINT_STATUSES, AdminUnit, Bridge, Endpoint

bp = api_blueprint("registry_api", __name__)


def unit_json(unit):
    return {
        "id": unit.id, "code": unit.code, "name": unit.name, "kind": unit.kind, "level": unit.level,
        "parent_id": unit.parent_id,
        "valid_from": unit.valid_from.isoformat() if unit.valid_from else None,
        "valid_to": unit.valid_to.isoformat() if unit.valid_to else None,
    }


def endpoint_json(endpoint):
    body = {field: getattr(endpoint, field) for field in service.ENDPOINT_FIELDS}
    body["id"] = endpoint.id
    body["unit_name"] = endpoint.unit.full_name
    body["created_at"] = endpoint.created_at.isoformat()
    body["updated_at"] = endpoint.updated_at.isoformat()
    body["retired_at"] = endpoint.retired_at.isoformat() if endpoint.retired_at else None
    return body


def bridge_json(bridge):
    return {"id": bridge.id, "code": bridge.code, "name": bridge.name, "ports": bridge.ports,
            "address": bridge.address, "is_active": bridge.is_active}


def _int_arg(name):
    raw = request.args.get(name)
    if raw in (None, ""):
        return None
    if not raw.isdigit():
        raise ValidationError({name: "Phải là số nguyên."})
    return int(raw)


def _get_or_404(model, ident):
    obj = db.session.get(model, ident)
    if obj is None:
        abort(404)
    return obj


@bp.get("/units")
@api_permission_required("registry.view")
def units():
    """List administrative units in official order."""
    return paginated(service.units_select(), unit_json)


@bp.get("/units/<int:unit_id>")
@api_permission_required("registry.view")
def unit(unit_id):
    return jsonify(unit_json(_get_or_404(AdminUnit, unit_id)))


@bp.get("/endpoints")
@api_permission_required("registry.view")
def endpoints():
    """Search endpoints by text (accent-blind), unit (with descendants) and status."""
    status = request.args.get("status") or None
    if status and status not in ENDPOINT_STATUSES:
        raise ValidationError({"status": "Phải là một trong: " + ", ".join(ENDPOINT_STATUSES) + "."})
    unit_id = _int_arg("unit_id")
    if unit_id is not None and db.session.get(AdminUnit, unit_id) is None:
        raise ValidationError({"unit_id": "Không có đơn vị này."})
    query = service.search_endpoints(request.args.get("q"), unit_id, status)
    return paginated(query, endpoint_json)


@bp.post("/endpoints")
@api_permission_required("endpoints.edit")
def create_endpoint():
    endpoint = service.create_endpoint(json_body(), actor=_actor())
    db.session.commit()
    return jsonify(endpoint_json(endpoint)), 201


@bp.get("/endpoints/<int:endpoint_id>")
@api_permission_required("registry.view")
def endpoint(endpoint_id):
    return jsonify(endpoint_json(_get_or_404(Endpoint, endpoint_id)))


@bp.patch("/endpoints/<int:endpoint_id>")
@api_permission_required("endpoints.edit")
def update_endpoint(endpoint_id):
    endpoint = _get_or_404(Endpoint, endpoint_id)
    service.update_endpoint(endpoint, json_body(), actor=_actor())
    db.session.commit()
    return jsonify(endpoint_json(endpoint))


@bp.delete("/endpoints/<int:endpoint_id>")
@api_permission_required("endpoints.edit")
def retire_endpoint(endpoint_id):
    """Retire the endpoint; its history stays."""
    endpoint = _get_or_404(Endpoint, endpoint_id)
    service.retire_endpoint(endpoint, actor=_actor())
    db.session.commit()
    return jsonify(endpoint_json(endpoint))


@bp.get("/bridges")
@api_permission_required("registry.view")
def bridges():
    return paginated(service.bridges_select(), bridge_json)


@bp.get("/bridges/<int:bridge_id>")
@api_permission_required("registry.view")
def bridge(bridge_id):
    return jsonify(bridge_json(_get_or_404(Bridge, bridge_id)))


def _actor():
    return g.api_user
