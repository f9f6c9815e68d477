"""The meeting page's summary, its live part: the current sitting's readiness counts and the replies.

Routes of booking.views.bp (as the calendar's are), kept apart from the page's body, which is kept per
process (views.meeting_body) while these counts change by the minute.
"""

from flask import render_template

from vmeeting.auth.guards import permission_required
from vmeeting.booking import service
from vmeeting.booking.models import Meeting
from vmeeting.booking.views import bp
from vmeeting.core.database import utcnow
from vmeeting.core.extensions import db


@bp.get("/meetings/<int:meeting_id>/summary")
@permission_required("meetings.view")
def summary_section(meeting_id):
    """The meeting summary's live counts (readiness, replies), as the HTML section a large meeting's page fetches."""
    meeting = db.get_or_404(Meeting, meeting_id)
    return render_template("booking/_meeting_live.html", meeting=meeting)


def meeting_live(meeting):
    """What the summary's live counts read: {sitting, readiness}: the sitting under way or next, else the last
    (None without any), and its sites counted by verdict by the capability that counts them
    (booking.sitting_summaries; None when none is wired). The replies come from invites' context function."""
    now = utcnow()
    live = [o for o in meeting.occurrences if o.status == "scheduled"]
    sitting = next((o for o in live if o.ends_at > now), (live or meeting.occurrences or [None])[-1])
    readiness = service.sitting_summaries([sitting.id]).get(sitting.id) if sitting is not None else None
    return {"sitting": sitting, "readiness": readiness}


@bp.app_context_processor
def inject_meeting_live():
    """Give the meeting page's templates the summary's live counts (`meeting_live`)."""
    return {"meeting_live": meeting_live}
