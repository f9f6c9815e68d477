"""JSON API of the approvals (issue 27; README "Scopes and approvals"): the inbox and a decision."""

from flask import g, jsonify, request

from vmeeting.auth.guards import api_permission_required
from vmeeting.booking import approvals
from vmeeting.booking.models import Meeting
from vmeeting.core.errors import ValidationError
from vmeeting.core.extensions import db
from vmeeting.core.jsonapi import api_blueprint, committed, error_response, json_body, paginated
from vmeeting.core.timefmt import to_local

bp = api_blueprint("approvals_api", __name__)

STATUSES = ("pending", "approved", "refused", "all")


def inbox_item(row):
    """One request as the inbox shows it: the approval, its meeting in brief, the booker."""
    meeting = row.meeting
    organizer = meeting.organizer
    return {**approvals.approval_json(row), "meeting_id": meeting.id, "title": meeting.title,
            "starts_at": meeting.starts_at.isoformat(), "booked_by": meeting.organizer_id, "meeting": {
        "id": meeting.id, "title": meeting.title, "description": meeting.description, "status": meeting.status,
        "starts_at": meeting.starts_at.isoformat(), "ends_at": meeting.ends_at.isoformat(),
        "recurrence": meeting.recurrence, "chair_endpoint_id": meeting.chair_endpoint_id,
        "endpoint_count": meeting.endpoint_count,
        "organizer": None if organizer is None else {"id": organizer.id, "name": organizer.display_name,
                                                     "agency": organizer.agency},
    }}


@bp.get("/approvals")
@api_permission_required("meetings.view")
def list_approvals():
    """The requests the token's user may decide: pending ones (default), or ?status=approved|refused|all."""
    status = request.args.get("status", "pending")
    if status not in STATUSES:
        raise ValidationError({"status": "Một trong: " + ", ".join(STATUSES) + "."})
    return paginated(approvals.inbox_select(g.api_user, None if status == "all" else status), inbox_item)


@bp.post("/meetings/<int:meeting_id>/approvals/<int:unit_id>")
@api_permission_required("meetings.view")
def decide(meeting_id, unit_id):
    """Approve or refuse one unit's request: {"decision": "approve"|"refuse", "reason": "..."}.

    200 with the approval and the meeting's status; 400 (decision, reason: required to refuse); 403 for a
    user who does not approve for that unit (the booker included); 404; 409 with `approval` (its state)
    when it is decided already or the meeting is no longer pending.
    """
    meeting = db.get_or_404(Meeting, meeting_id)
    data = json_body()
    try:
        row = approvals.decide(meeting, unit_id, g.api_user, data.get("decision"), data.get("reason"))
    except approvals.ApprovalNotFound:
        db.session.rollback()
        return error_response(404, "not_found", "Cuộc họp không có đề nghị duyệt của đơn vị này.")
    body = {**approvals.approval_json(row), "meeting_id": meeting.id, "meeting_status": meeting.status,
            "day": to_local(meeting.starts_at).date().isoformat()}
    return committed(jsonify(body))
