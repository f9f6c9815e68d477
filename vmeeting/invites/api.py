"""JSON API of invites: the meeting's calendar file and its answers (CONTRACT.md)."""

from flask import g, jsonify

from vmeeting.auth.guards import api_permission_required
from vmeeting.booking.models import Meeting
from vmeeting.invites import refusals, service
from vmeeting.invites.views import calendar_response
from vmeeting.core.extensions import db
from vmeeting.core.jsonapi import api_blueprint

bp = api_blueprint("invites_api", __name__)


@bp.get("/meetings/<int:meeting_id>/invite.ics")
@api_permission_required("meetings.view")
def meeting_ics(meeting_id):
    """Answer the meeting as text/calendar."""
    meeting = db.get_or_404(Meeting, meeting_id)
    return calendar_response(service.download_calendar(meeting), f"cuoc-hop-{meeting.id}.ics")


@bp.get("/meetings/<int:meeting_id>/answers")
@api_permission_required("meetings.view")
def meeting_answers(meeting_id):
    """Answer the invitees' answers, per sitting too; the refused replies for the booker and admins."""
    meeting = db.get_or_404(Meeting, meeting_id)
    return jsonify(refusals.answers_json(meeting, with_refusals=refusals.may_read_refusals(g.api_user, meeting)))
