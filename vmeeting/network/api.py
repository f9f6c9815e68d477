"""JSON API for network operations (CONTRACT.md): every site's state, incidents."""

from flask import g, jsonify, request

from vmeeting.auth.guards import api_permission_required
from vmeeting.core.errors import ValidationError
from vmeeting.core.extensions import db
from vmeeting.core.jsonapi import api_blueprint, committed, int_arg, json_body, page_args, paginated
from vmeeting.network import service
from vmeeting.network.models import Incident
from vmeeting.registry.models import AdminUnit, Endpoint

bp = api_blueprint("network_api", __name__)


def _unit_arg():
    unit_id = int_arg("unit_id")
    if unit_id is not None and db.session.get(AdminUnit, unit_id) is None:
        raise ValidationError({"unit_id": "Không có đơn vị này."})
    return unit_id


@bp.get("/network")
@api_permission_required("network.view")
def network():
    """Every active site's last known state, with the count in each state; `?unit_id=` narrows."""
    unit_id = _unit_arg()
    page, per_page = page_args()
    query = service.network_select(unit_id)
    counts = service.summary(unit_id)
    rows = db.session.execute(query.limit(per_page).offset((page - 1) * per_page)).all()
    return jsonify({"summary": counts, "items": [service.state_json(e.id, row) for e, row in rows],
                    "total": sum(counts.values()), "page": page, "per_page": per_page})


@bp.get("/incidents")
@api_permission_required("network.view")
def incidents():
    """Incidents, newest first; `open=1`, `endpoint_id`, `unit_id` narrow."""
    open_flag = request.args.get("open", "")
    if open_flag not in ("", "0", "1"):
        raise ValidationError({"open": "Dùng open=1 (đang mở) hoặc open=0."})
    endpoint_id = int_arg("endpoint_id")
    if endpoint_id is not None and db.session.get(Endpoint, endpoint_id) is None:
        raise ValidationError({"endpoint_id": "Không có điểm cầu này."})
    query = service.incidents_select(open_only=open_flag == "1", endpoint_id=endpoint_id, unit_id=_unit_arg())
    return paginated(query, service.incident_json)


@bp.post("/incidents")
@api_permission_required("incidents.open")
def open_incident():
    """Open an incident on a site (a technician only on their own): 201 with it."""
    incident = service.open_incident(g.api_user, json_body())
    return committed((jsonify(service.incident_json(incident)), 201))


@bp.post("/incidents/<int:incident_id>/resolve")
@api_permission_required("incidents.open")
def resolve_incident(incident_id):
    """Resolve an open incident with what was done (`resolution`): 200 with it; 409 if already resolved."""
    incident = db.get_or_404(Incident, incident_id)
    data = json_body()
    service.resolve_incident(incident, g.api_user, data.get("resolution"))
    return committed(jsonify(service.incident_json(incident)))
