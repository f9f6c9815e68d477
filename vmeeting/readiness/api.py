"""JSON API for readiness (CONTRACT.md): the board, a site's confirmation, a probe round now."""

from flask import g, jsonify

from vmeeting.auth.guards import api_permission_required
from vmeeting.booking.models import Meeting
from vmeeting.core.database import MAX_ID
from vmeeting.core.errors import ValidationError
from vmeeting.core.extensions import db
from vmeeting.core.jsonapi import api_blueprint, committed, int_arg, json_body
from vmeeting.readiness import service

bp = api_blueprint("readiness_api", __name__)


def _sitting(meeting_id, data=None):
    """Return the meeting's sitting named by ?occurrence_id= (or the body's), else its current one."""
    meeting = db.get_or_404(Meeting, meeting_id)
    occurrence_id = int_arg("occurrence_id")
    if occurrence_id is None and data is not None and "occurrence_id" in data:
        occurrence_id = data["occurrence_id"]
        # beyond MAX_ID the lookup itself would fail (an OverflowError, a 500) instead of finding nothing
        if isinstance(occurrence_id, bool) or not isinstance(occurrence_id, int) or not 1 <= occurrence_id <= MAX_ID:
            raise ValidationError({"occurrence_id": f"Mã buổi họp phải là số nguyên từ 1 đến {MAX_ID}."})
    return service.occurrence_of(meeting, occurrence_id)


@bp.get("/meetings/<int:meeting_id>/readiness")
@api_permission_required("meetings.view")
def show(meeting_id):
    """Return the readiness of every site for the current sitting, or the one asked for."""
    return jsonify(service.board(_sitting(meeting_id)))


@bp.put("/meetings/<int:meeting_id>/readiness/<int:endpoint_id>")
@api_permission_required("readiness.confirm")
def confirm(meeting_id, endpoint_id):
    """Confirm a site ready, or report its problem; a technician only for their own sites."""
    data = json_body()
    occurrence = _sitting(meeting_id, data)
    endpoint = service.site_of(occurrence, endpoint_id)
    readiness = service.confirm(occurrence, endpoint, g.api_user, data)
    return committed(jsonify(service.item_json(endpoint, readiness, g.api_user)))


@bp.post("/meetings/<int:meeting_id>/probe")
@api_permission_required("readiness.confirm")
def probe(meeting_id):
    """Probe every site of the sitting now; return its readiness."""
    occurrence = _sitting(meeting_id)
    occurrence_id = occurrence.id
    service.probe_now(occurrence)
    return jsonify(service.board(service.occurrence_of(db.get_or_404(Meeting, meeting_id), occurrence_id)))

