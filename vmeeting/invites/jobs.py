"""The invites' ticks: deliver the mails that are due, each marked sent in its own commit; read the replies."""

import logging
import smtplib

import sqlalchemy as sa
from flask import current_app

from vmeeting.database import utcnow
from vmeeting.extensions import db
from vmeeting.invites import replies, service
from vmeeting.invites.mail import PermanentFailure, SmtpConnection, parse_smtp_url, sender_address
from vmeeting.invites.models import OutboxMail
from vmeeting.jobs import periodic

log = logging.getLogger(__name__)

#: errors that say the server cannot be reached at all: every mail of the batch waits
UNREACHABLE = (OSError, smtplib.SMTPConnectError, smtplib.SMTPServerDisconnected, smtplib.SMTPHeloError,
               smtplib.SMTPAuthenticationError)


@periodic("invites.deliver_outbox", seconds=60)
def deliver_outbox(now=None, limit=200):
    """Send the pending mails that are due; return how many the server accepted.

    Each row holds its whole message, built when it was queued: an invite with
    its calendar, a plain mail (method None: the readiness escalation) text only.

    Without SMTP_URL nothing is sent: the outbox page shows the mails. Each
    accepted mail is committed as sent before the next is tried, so a crash
    or restart repeats at most the one mail in flight. Run only by the worker
    holding the lease (vmeeting.jobs), so two workers never send the same row.
    """
    url = current_app.config.get("SMTP_URL")
    if not url:
        return 0
    now = now or utcnow()
    due_ids = db.session.scalars(service.due_mails_select(now, limit).with_only_columns(OutboxMail.id)).all()
    db.session.commit()
    if not due_ids:
        return 0
    settings = parse_smtp_url(url)
    sent = 0
    try:
        with SmtpConnection(settings) as connection:
            for mail_id in due_ids:
                mail_row = db.session.get(OutboxMail, mail_id)
                if mail_row is None or not mail_row.is_pending:
                    continue  # superseded or sent meanwhile
                try:
                    connection.send(sender_address(), mail_row.recipient, mail_row.message)
                except PermanentFailure as exc:
                    service.mark_attempt_failed(mail_row, exc, permanent=True, now=now)
                except UnicodeEncodeError as exc:
                    # an address smtplib cannot put on the wire without SMTPUTF8
                    service.mark_attempt_failed(mail_row, exc, permanent=True, now=now)
                except smtplib.SMTPResponseException as exc:
                    service.mark_attempt_failed(mail_row, f"{exc.smtp_code} {exc.smtp_error!r}", now=now)
                else:
                    service.mark_sent(mail_row, now=utcnow())
                    sent += 1
                db.session.commit()
    except UNREACHABLE as exc:
        db.session.rollback()
        log.warning("SMTP server unreachable, %d mails wait: %s", len(due_ids), exc)
        _postpone(due_ids, exc, now)
    return sent


def _postpone(mail_ids, error, now):
    """Count a failed attempt on every still-pending mail of the batch (the server was down)."""
    rows = db.session.scalars(sa.select(OutboxMail).where(OutboxMail.id.in_(mail_ids),
                                                          OutboxMail.status == "pending",
                                                          OutboxMail.next_attempt_at <= now)).all()
    for row in rows:
        service.mark_attempt_failed(row, f"Không kết nối được máy chủ thư: {error}", now=now)
    db.session.commit()


@periodic("invites.read_replies", seconds=60)
def read_replies():
    """Count the answers calendars sent to the organizer mailbox (IMAP_URL); see invites.replies."""
    return replies.read_replies()
