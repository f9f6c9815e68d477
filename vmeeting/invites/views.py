"""Invite pages: RSVP by signed link, calendar feeds and the meeting's .ics (the outbox has its own pages)."""

import sqlalchemy as sa
from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from vmeeting.auth.guards import permission_required
from vmeeting.auth.models import User
from vmeeting.booking.models import Meeting
from vmeeting.core.bounds import query_id
from vmeeting.core.database import utcnow
from vmeeting.core.errors import ValidationError
from vmeeting.core.extensions import db
from vmeeting.invites import feeds, refusals, service
from vmeeting.outbox import service as outbox
from vmeeting.outbox.models import STATUS_LABELS
from vmeeting.registry import service as registry
from vmeeting.registry.models import Endpoint
from vmeeting.core.text import N_, shown
from vmeeting.core.timefmt import to_local

bp = Blueprint("invites", __name__)

#: in Vietnamese; pages show them through the catalogue (text.N_)
ANSWER_LABELS = {"ACCEPTED": N_("Tham dự"), "TENTATIVE": N_("Chưa chắc chắn"), "DECLINED": N_("Không tham dự"),
                 "DELEGATED": N_("Ủy quyền")}
#: what became of a refused mail, as pages name it
REFUSAL_LABELS = {"rejected": N_("Bị từ chối"), "unusable": N_("Không dùng được")}


def calendar_response(body, filename):
    """Answer iCalendar bytes as a download."""
    return Response(body, mimetype="text/calendar",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@bp.app_context_processor
def inject_invite_panel():
    """Give the meeting page the invites panel's data, computed only when the panel asks."""
    return {"invite_panel": _panel_data, "invite_answer_labels": ANSWER_LABELS,
            "invite_status_labels": STATUS_LABELS, "invite_refusal_labels": REFUSAL_LABELS}


def _panel_data(meeting):
    counts = outbox.outbox_counts(meeting_id=meeting.id)
    may_see_failures = current_user.can("meetings.book") or current_user.id == meeting.organizer_id
    may_read_refusals = refusals.may_read_refusals(current_user, meeting)
    return {"answers": service.answer_rows(meeting), "mail_counts": counts,
            "failed": outbox.failed_mails(meeting.id) if may_see_failures else [],
            "refused": db.session.scalars(refusals.refusals_select(meeting)).all() if may_read_refusals else [],
            "may_read_refusals": may_read_refusals,
            "mail_is_configured": bool(current_app.config.get("SMTP_URL"))}


@bp.get("/invites/refused-replies")
@permission_required("invites.refused_replies")
def refused_replies():
    """List the mails the organizer mailbox refused or could not use, with the reason (admins)."""
    rows = db.session.scalars(refusals.refusals_select()).all()
    return render_template("invites/refused_replies.html", rows=rows, labels=REFUSAL_LABELS)


# -- RSVP: no sign-in, the signed link is the credential ------------------------------------


def _rsvp_target(token):
    found = service.read_rsvp_token(token)
    if found is None:
        abort(404)
    return found


@bp.route("/rsvp/<token>", methods=["GET", "POST"])
def rsvp(token):
    """Show an attendee's answer form (GET changes nothing: mail scanners follow links); record it on POST.

    A link to a meeting cancelled or over, or of someone no longer invited, answers 410 with the reason.
    """
    meeting, email = _rsvp_target(token)
    error = None
    closed = service.answer_refusal(meeting, email)
    if request.method == "POST" and closed is None:
        try:
            service.record_answer(meeting, email, request.form.get("partstat", ""), request.form.get("comment", ""))
        except ValidationError as exc:
            db.session.rollback()
            error = shown(next(iter(exc.fields.values())))
        else:
            db.session.commit()
            flash(_("Đã ghi nhận trả lời của quý vị. Xin cảm ơn."), "success")
            return redirect(url_for("invites.rsvp", token=token))
    answer = service.answers_of(meeting).get(email)
    page = render_template("invites/rsvp.html", meeting=meeting, email=email, answer=answer, error=error,
                           closed=shown(closed), answer_labels=ANSWER_LABELS)
    return page, 410 if closed else 200


# -- the meeting's calendar -----------------------------------------------------------------


@bp.get("/meetings/<int:meeting_id>/invite.ics")
@permission_required("meetings.view")
def meeting_ics(meeting_id):
    """Download the meeting as an .ics file to import into a calendar."""
    meeting = db.get_or_404(Meeting, meeting_id)
    return calendar_response(service.download_calendar(meeting), f"cuoc-hop-{meeting.id}.ics")


# -- calendar feeds -------------------------------------------------------------------------


def _may_manage_all():
    return current_user.can("meetings.book")


def _guard_feed_pages():
    if not current_user.can("feeds.use"):
        abort(403)


@bp.get("/calendar-feeds")
@permission_required("meetings.view")
def feed_list():
    """List calendar feeds: all of them for office staff, their own for a technician."""
    _guard_feed_pages()
    rows = db.session.scalars(feeds.feeds_select(None if _may_manage_all() else current_user)).all()
    choices = {}
    if _may_manage_all():
        choices = {
            "endpoint": db.session.execute(sa.select(Endpoint.id, Endpoint.name).where(Endpoint.status != "retired")
                                           .order_by(Endpoint.name_sort_key)).all(),
            "technician": db.session.execute(sa.select(User.id, User.full_name, User.username)
                                             .where(User.role == "technician").order_by(User.username)).all(),
            # the units valid today: provinces, districts, and a province's communes where it has no district
            "unit": [(unit_id, name) for unit_id, name, _depth in registry.unit_outline(on_day=_today())],
        }
    # an endpoint's or a unit's page links here with its own feed preselected
    chosen = {"kind": request.args.get("kind") if request.args.get("kind") in feeds.KIND_LABELS else None,
              "target_id": request.args.get("target_id", type=query_id)}
    return render_template("invites/feeds.html", feeds=rows, choices=choices, kind_labels=feeds.KIND_LABELS,
                           new_url=request.args.get("new"), may_manage_all=_may_manage_all(), chosen=chosen,
                           former=feeds.former_units(rows, _today()))


def _today():
    return to_local(utcnow()).date()


@bp.post("/calendar-feeds/<int:feed_id>/follow")
@permission_required("meetings.book")
def feed_follow(feed_id):
    """Make a feed of a former unit name the unit that succeeded it; its address stays the same."""
    feed = db.session.get(feeds.CalendarFeed, feed_id) or abort(404)
    try:
        unit = feeds.follow_successor(feed, _today(), actor=current_user)
    except ValidationError as exc:
        db.session.rollback()
        flash(shown(next(iter(exc.fields.values()))), "danger")
    else:
        db.session.commit()
        flash(_("Lịch đăng ký nay theo %(unit)s.", unit=unit.name), "success")
    return redirect(url_for("invites.feed_list"))


@bp.post("/calendar-feeds")
@permission_required("meetings.view")
def feed_create():
    """Create a feed and show its address once."""
    _guard_feed_pages()
    kind = request.form.get("kind", "")
    if _may_manage_all():
        target_id = request.form.get("target_id", type=query_id)
    elif kind == "technician":
        target_id = current_user.id
    else:
        abort(403)
    try:
        _feed, token = feeds.create_feed(kind, target_id, current_user)
    except ValidationError as exc:
        db.session.rollback()
        flash(shown(next(iter(exc.fields.values()))), "danger")
        return redirect(url_for("invites.feed_list"))
    db.session.commit()
    url = current_app.config["BASE_URL"].rstrip("/") + url_for("invites.feed", token=token)
    flash(_("Đã tạo lịch đăng ký. Địa chỉ chỉ hiện một lần: hãy sao chép ngay."), "success")
    return render_template("invites/feed_created.html", url=url)


@bp.post("/calendar-feeds/<int:feed_id>/revoke")
@permission_required("meetings.view")
def feed_revoke(feed_id):
    """Revoke a feed; its address stops working."""
    _guard_feed_pages()
    feed = db.session.get(feeds.CalendarFeed, feed_id) or abort(404)
    if not _may_manage_all() and not (feed.kind == "technician" and feed.user_id == current_user.id):
        abort(403)
    feeds.revoke_feed(feed)
    db.session.commit()
    flash(_("Đã thu hồi địa chỉ lịch."), "success")
    return redirect(url_for("invites.feed_list"))


@bp.get("/calendar/<token>.ics")
def feed(token):
    """Serve a subscribed calendar; the unguessable token is the credential. 304 when unchanged."""
    found = feeds.feed_for_token(token)
    if found is None:
        abort(404)
    etag, last_modified = feeds.fingerprint(found)
    if _not_modified(etag, last_modified):
        return _feed_headers(Response(status=304), etag, last_modified)
    built = feeds.feed_body(found, known_fingerprint=(etag, last_modified))
    return _feed_headers(Response(built.body, mimetype="text/calendar"), built.etag, built.last_modified)


def _not_modified(etag, last_modified):
    if request.headers.get("If-None-Match"):
        return etag in [t.strip() for t in request.headers["If-None-Match"].split(",")] or \
            request.headers["If-None-Match"].strip() == "*"
    since = request.if_modified_since
    return since is not None and last_modified <= since


def _feed_headers(response, etag, last_modified):
    response.headers["ETag"] = etag
    response.last_modified = last_modified
    # private: the address is a secret; no-cache: revalidate with the ETag every time
    response.headers["Cache-Control"] = "private, no-cache"
    response.headers["Content-Disposition"] = 'inline; filename="lich-hop.ics"'
    return response
