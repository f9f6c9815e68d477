"""Outbox pages: what waits, what went, what failed and why; each mail as its reader sees it."""

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from vmeeting.auth.guards import permission_required
from vmeeting.core.bounds import query_page
from vmeeting.core.database import utcnow
from vmeeting.core.timefmt import to_local
from vmeeting.core.errors import ValidationError
from vmeeting.core.extensions import db
from vmeeting.outbox import preview, service, webhooks
from vmeeting.outbox.models import MAIL_STATUSES, STATUS_LABELS, OutboxMail
from vmeeting.core.text import shown

bp = Blueprint("outbox", __name__)

PER_PAGE = 50


@bp.get("/outbox")
@permission_required("meetings.book")
def index():
    """List the mail outbox: what waits, what went, what failed and why; which worker holds which mails."""
    status = request.args.get("status") if request.args.get("status") in MAIL_STATUSES else None
    page = request.args.get("page", 1, type=query_page)
    pagination = db.paginate(service.outbox_select(status=status), page=max(page, 1), per_page=PER_PAGE,
                             error_out=False)
    now = utcnow()
    return render_template("outbox/index.html", pagination=pagination, status=status,
                           counts=service.outbox_counts(), labels=STATUS_LABELS, now=now,
                           claims=[{**c, "since": _clock(c["since"]), "until": _clock(c["until"])}
                                   for c in service.claims(now)],
                           mail_is_configured=bool(current_app.config.get("SMTP_URL")),
                           webhook_counts=webhooks.counts() if webhooks.configured() else None)


def _clock(instant):
    """HH:MM:SS in the local zone: a claim's lease runs in seconds."""
    return to_local(instant).strftime("%H:%M:%S") if instant else ""


def _read_outbox_mail(mail_id):
    """Return (row, MailView); a row no worker has built yet is built for the reader, not stored."""
    mail_row = db.session.get(OutboxMail, mail_id) or abort(404)
    message = service.message_for_display(mail_row)
    if message is None:
        abort(404)
    return mail_row, preview.read_mail(message, show_secrets=current_user.can("invites.rsvp_links"))


@bp.get("/outbox/<int:mail_id>")
@permission_required("meetings.book")
def show(mail_id):
    """Show one mail as its reader sees it (the HTML part, the event summarised), its source behind a toggle."""
    mail_row, view = _read_outbox_mail(mail_id)
    return render_template("outbox/mail.html", mail=mail_row, view=view, labels=STATUS_LABELS)


#: the HTML part runs nothing and loads nothing: a sandbox without scripts, in a frame of our own page only
MAIL_HTML_POLICY = ("sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
                    "frame-ancestors 'self'; form-action 'none'")


@bp.get("/outbox/<int:mail_id>/html")
@permission_required("meetings.book")
def html(mail_id):
    """Serve a mail's HTML part for the outbox page's sandboxed frame."""
    _mail_row, view = _read_outbox_mail(mail_id)
    if view.html is None:
        abort(404)
    return Response(view.html, mimetype="text/html", headers={
        "Content-Security-Policy": MAIL_HTML_POLICY, "X-Frame-Options": "SAMEORIGIN", "Cache-Control": "no-store"})


@bp.post("/outbox/<int:mail_id>/retry")
@permission_required("meetings.book")
def retry(mail_id):
    """Queue a failed mail again, due now."""
    mail_row = db.session.get(OutboxMail, mail_id) or abort(404)
    try:
        service.retry_now(mail_row)
    except ValidationError as exc:
        db.session.rollback()
        flash(shown(next(iter(exc.fields.values()))), "danger")
    else:
        db.session.commit()
        flash(_("Thư đến %(recipient)s sẽ được gửi lại.", recipient=mail_row.recipient) if mail_row.recipient
              else _("Thư mời của cuộc họp #%(id)s sẽ được soạn và gửi lại.", id=mail_row.meeting_id), "success")
    return redirect(request.referrer if request.referrer and request.referrer.startswith(request.host_url)
                    else url_for("outbox.index"))
