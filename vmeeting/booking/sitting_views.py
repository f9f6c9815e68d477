"""The pages that cancel a meeting, cancel one sitting, or move one sitting; routes of views.bp.

Each form carries the meeting's version it was opened at (a hidden field): a
post made on an older version changes nothing and shows the page again with
what changed meanwhile (StaleEdit, 409); the next post is the person's choice,
made knowing it. A post without a version (a page from before versions, a
script) is taken as stale, as on the edit form.
"""

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from vmeeting.auth.guards import permission_required
from vmeeting.booking import service
from vmeeting.booking.forms import CancelForm, MoveOccurrenceForm
from vmeeting.booking.models import Meeting
from vmeeting.booking.views import _get_occurrence, _said, _show_errors, bp
from vmeeting.core.errors import Conflict, StaleEdit, ValidationError
from vmeeting.core.extensions import db
from vmeeting.core.timefmt import to_local


def _sent_version(form):
    """The version the form was opened at; "unknown" (stale) when the post carries none."""
    return form.version.data or "unknown"


def _stale(form, exc):
    """Undo the refused change and show what changed: the form keeps what was typed and the current version."""
    db.session.rollback()
    form.version.data = exc.details.get("version")
    return _said(exc)


@bp.route("/meetings/<int:meeting_id>/cancel", methods=["GET", "POST"])
@permission_required("meetings.book")
def cancel(meeting_id):
    """Cancel the meeting after a confirmation, with a reason the CANCEL mail tells; it stays, marked cancelled."""
    meeting = db.get_or_404(Meeting, meeting_id)
    return _cancel_page(meeting, None)


@bp.route("/meetings/<int:meeting_id>/occurrences/<int:occurrence_id>/cancel", methods=["GET", "POST"])
@permission_required("meetings.book")
def cancel_occurrence(meeting_id, occurrence_id):
    """Cancel one sitting of a series after a confirmation, with a reason."""
    meeting = db.get_or_404(Meeting, meeting_id)
    return _cancel_page(meeting, _get_occurrence(meeting, occurrence_id))


def _cancel_page(meeting, occurrence):
    """Ask for the confirmation and the reason; cancel only when the box is ticked and the version is current."""
    form = CancelForm()
    stale = None
    if not form.is_submitted():
        form.version.data = service.version_of(meeting)
    if form.validate_on_submit():
        try:
            if occurrence is None:
                service.cancel_meeting(meeting, actor=current_user, reason=form.reason.data,
                                       expected_version=_sent_version(form))
            else:
                service.cancel_occurrence(occurrence, actor=current_user, reason=form.reason.data,
                                          expected_version=_sent_version(form))
            # said and addressed before the commit: nothing after it may read the database (api._committed)
            if occurrence is None:
                message = _("Đã hủy cuộc họp «%(title)s».", title=meeting.title)
            elif meeting.is_cancelled:
                message = _("Đã hủy buổi họp cuối cùng: cuộc họp «%(title)s» đã bị hủy.", title=meeting.title)
            else:
                message = _("Đã hủy buổi họp.")
            shown_page = url_for("booking.show", meeting_id=meeting.id)
            db.session.commit()
        except ValidationError as exc:
            db.session.rollback()
            _show_errors(form, exc)
        except StaleEdit as exc:
            stale = _stale(form, exc)
        else:
            flash(message, "info")
            return redirect(shown_page)
    status = 409 if stale else (400 if form.errors else 200)
    return render_template("booking/cancel.html", form=form, meeting=meeting, occurrence=occurrence, stale=stale,
                           districts=service.sites_by_district(meeting),
                           recurrence_text=service.recurrence_text(meeting)), status


@bp.route("/meetings/<int:meeting_id>/occurrences/<int:occurrence_id>/move", methods=["GET", "POST"])
@permission_required("meetings.book")
def move_occurrence(meeting_id, occurrence_id):
    """Move one sitting of a series to another time (a sitting under way: only its end)."""
    meeting = db.get_or_404(Meeting, meeting_id)
    occurrence = _get_occurrence(meeting, occurrence_id)
    form = MoveOccurrenceForm()
    if not form.is_submitted():
        start = to_local(occurrence.starts_at)
        form.day.data, form.start_time.data, form.end_time.data = start.date(), start.time(), to_local(occurrence.ends_at).time()
        form.version.data = service.version_of(meeting)
    conflict = stale = None
    if form.validate_on_submit():
        try:
            service.move_occurrence(occurrence, *form.instants(), actor=current_user, choices=service.BookingChoices(
                allow_non_working_time=bool(form.allow_non_working_time.data)), expected_version=_sent_version(form))
            message = _("Đã dời buổi họp.")  # said before the commit: the locale's look-up reads the user
            db.session.commit()
        except ValidationError as exc:
            db.session.rollback()
            _show_errors(form, exc)
        except StaleEdit as exc:
            stale = _stale(form, exc)
        except Conflict as exc:
            db.session.rollback()
            conflict = _said(exc)
        else:
            flash(message, "success")
            return redirect(url_for("booking.show", meeting_id=meeting_id))
    status = 409 if conflict or stale else (400 if form.errors else 200)
    return render_template("booking/move.html", form=form, meeting=meeting, occurrence=occurrence,
                           conflict=conflict, stale=stale), status
