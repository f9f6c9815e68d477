"""JSON API for the roll-call (CONTRACT.md): a sitting's roll, marking a site, the attendance report."""

from flask import g, jsonify, request

from vmeeting.attendance import service
from vmeeting.auth.guards import api_permission_required
from vmeeting.core.errors import ValidationError
from vmeeting.core.extensions import db
from vmeeting.core.jsonapi import api_blueprint, committed, int_arg, json_body
from vmeeting.registry.models import AdminUnit

bp = api_blueprint("attendance_api", __name__)


@bp.get("/meetings/<int:meeting_id>/occurrences/<int:occurrence_id>/attendance")
@api_permission_required("meetings.view")
def show(meeting_id, occurrence_id):
    """The sitting's roll-call: summary and one item per site."""
    return jsonify(service.roll_json(service.sitting_of(meeting_id, occurrence_id)))


@bp.put("/meetings/<int:meeting_id>/occurrences/<int:occurrence_id>/attendance/<int:endpoint_id>")
@api_permission_required("attendance.mark")
def mark(meeting_id, occurrence_id, endpoint_id):
    """Mark one site present, late or absent (absent needs `reason`): 200 with the item."""
    occurrence = service.sitting_of(meeting_id, occurrence_id)
    row = service.mark(occurrence, endpoint_id, g.api_user, json_body())
    return committed(jsonify(service.item_json(endpoint_id, row)))


@bp.get("/reports/attendance")
@api_permission_required("meetings.view")
def report():
    """Per district and per site over a period: sittings booked, present, late, absent, unmarked."""
    window_from, window_to = service.report_period(request.args)
    unit_id = int_arg("unit_id")
    if unit_id is not None and db.session.get(AdminUnit, unit_id) is None:
        raise ValidationError({"unit_id": "Không có đơn vị này."})
    data = service.report(window_from, window_to, unit_id)
    return jsonify({"from": window_from.isoformat(), "to": window_to.isoformat(), **data})
