"""The approver's inbox «Chờ duyệt» (issue 27): each request with its own sites, approve or refuse with a reason.

The menu shows the item with the count of requests waiting (`init_menu`) to users who approve (and
admins). Decisions go through booking.approvals.decide, as the API's do.
"""

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from werkzeug.exceptions import Forbidden
from wtforms import HiddenField, TextAreaField
from wtforms.validators import Length

from vmeeting.auth.guards import permission_required
from vmeeting.booking import approvals, scopes
from vmeeting.booking.models import Meeting
from vmeeting.core.errors import Conflict, ValidationError
from vmeeting.core.extensions import db
from vmeeting.core.forms_i18n import AppForm
from vmeeting.core.text import shown
from vmeeting.registry.models import Endpoint

bp = Blueprint("approvals", __name__)

#: how many requests one page of the inbox lists (the soonest first)
PAGE = 50


class DecisionForm(AppForm):
    """Approve (a note may be added) or refuse (the reason is required: the booker reads it)."""

    decision = HiddenField()
    reason = TextAreaField(_l("Lý do (bắt buộc khi từ chối)"), validators=[Length(max=500)])


def init_menu(app):
    """Give every page the inbox's menu item and count for users who approve: `approvals_menu` (None or n)."""

    @app.context_processor
    def approvals_menu():
        user = current_user
        if not getattr(user, "is_authenticated", False) or not scopes.is_approver(user):
            return {"approvals_menu": None}
        return {"approvals_menu": approvals.pending_count(user)}


@bp.get("/approvals")
@permission_required("meetings.view")
def inbox():
    """The requests waiting for the signed-in user's decision, soonest meeting first."""
    if not scopes.is_approver(current_user):
        raise Forbidden()
    rows = db.session.scalars(approvals.inbox_select(current_user).limit(PAGE)).all()
    decided = db.session.scalars(approvals.inbox_select(current_user, None)
                                 .where(approvals.Approval.status != "pending").order_by(None)
                                 .order_by(approvals.Approval.decided_at.desc(), approvals.Approval.id.desc())
                                 .limit(10)).all()
    ids = {i for row in rows for i in row.endpoint_ids or ()}
    names = dict(db.session.execute(db.select(Endpoint.id, Endpoint.name).where(Endpoint.id.in_(sorted(ids))))
                 .all()) if ids else {}
    return render_template("booking/approvals.html", rows=rows, decided=decided, names=names, form=DecisionForm(),
                           state_words=approvals.state_words)


@bp.post("/approvals/<int:meeting_id>/<int:unit_id>")
@permission_required("meetings.view")
def decide(meeting_id, unit_id):
    """Approve or refuse one request from the inbox; back to the inbox with what happened."""
    meeting = db.get_or_404(Meeting, meeting_id)
    form = DecisionForm()
    if not form.validate_on_submit():
        flash(_("Lý do tối đa 500 ký tự."), "danger")
        return redirect(url_for("approvals.inbox"))
    try:
        row = approvals.decide(meeting, unit_id, current_user, form.decision.data or request.form.get("decision"),
                               form.reason.data)
        db.session.commit()
    except approvals.ApprovalNotFound:
        db.session.rollback()
        flash(_("Cuộc họp không có đề nghị duyệt của đơn vị này."), "danger")
        return redirect(url_for("approvals.inbox"))
    except ValidationError as exc:
        db.session.rollback()
        flash(" ".join(shown(reason) for reason in exc.fields.values()), "danger")
        return redirect(url_for("approvals.inbox") + f"#request-{meeting_id}-{unit_id}")
    except Conflict as exc:
        db.session.rollback()
        flash(shown(exc.message), "warning")
        return redirect(url_for("approvals.inbox"))
    if row.status == "approved":
        flash(_("Đã duyệt «%(title)s».", title=meeting.title), "success")
    else:
        flash(_("Đã từ chối «%(title)s»; người đặt lịch được báo.", title=meeting.title), "success")
    return redirect(url_for("approvals.inbox"))
