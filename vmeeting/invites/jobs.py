"""The invites' ticks: deliver the mails that are due (each claimed, sent, then recorded in its own commit) and read the replies.

A mail the SMTP server accepted is never sent again (CONTRACT.md, Mail):

- each mail is claimed before it is sent (its next attempt pushed CLAIM_DELTA
  ahead in a committed UPDATE that only one worker can win), so no other tick
  or worker picks it up while it is on the wire;
- no transaction is open while the server is talking, so the worker holds no
  SQLite lock and no PostgreSQL connection state across the network;
- the server's acceptance is recorded with retries (`record`): a database busy
  with the web process's writers delays the record, it never turns it back
  into "pending". Should the database stay unwritable past RECORD_PATIENCE,
  the mail stays claimed and the process remembers it, writes the record at
  its next tick and leaves it out of every batch meanwhile.
"""

import logging
import smtplib
import threading
import time
from contextlib import ExitStack
from datetime import timedelta

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
#: how long a claimed mail is kept from every other attempt: far beyond one SMTP conversation
CLAIM_DELTA = timedelta(minutes=10)
#: how long `record` keeps trying to write an outcome before leaving it to the next tick
RECORD_PATIENCE_SECONDS = 300
#: mails read per query while draining the queue
BATCH = 200

#: {outbox mail id: when the server accepted it} of acceptances not yet recorded (the database refused)
_unrecorded = {}
_unrecorded_lock = threading.Lock()


@periodic("invites.deliver_outbox", seconds=10)
def deliver_outbox(now=None, limit=None):
    """Send the pending mails that are due, draining the queue; return how many the server accepted.

    limit: at most this many mails tried in this call (None: all that are due).
    Each row holds its whole message, built when it was queued: an invite with
    its calendar, a plain mail (method None: the readiness escalation) text only.
    Without SMTP_URL nothing is sent: the outbox page shows the mails.
    """
    url = current_app.config.get("SMTP_URL")
    if not url:
        return 0
    now = now or utcnow()
    record_leftovers()
    sent = tried = 0
    connection = None
    try:
        with ExitStack() as on_exit:
            while limit is None or tried < limit:
                due_ids = _due_ids(now, BATCH if limit is None else min(BATCH, limit - tried))
                if not due_ids:
                    break
                if connection is None:
                    connection = on_exit.enter_context(SmtpConnection(parse_smtp_url(url)))
                for position, mail_id in enumerate(due_ids):
                    claimed = claim(mail_id, now)
                    if claimed is None:
                        continue  # sent, superseded or claimed by another worker meanwhile
                    tried += 1
                    recipient, message = claimed
                    try:
                        sent += _send_one(connection, mail_id, recipient, message, now)
                    except UNREACHABLE as exc:
                        log.warning("SMTP server unreachable, the mails due wait: %s", exc)
                        _postpone([mail_id], due_ids[position + 1:], exc, now)
                        return sent
    except UNREACHABLE as exc:
        db.session.rollback()
        log.warning("SMTP server unreachable, the mails due wait: %s", exc)
        _postpone([], _due_ids(now, BATCH), exc, now)
    return sent


def _due_ids(now, limit):
    """Return the ids of due mails, leaving out those whose acceptance waits to be recorded; ends the read."""
    query = service.due_mails_select(now, limit).with_only_columns(OutboxMail.id)
    with _unrecorded_lock:
        waiting = list(_unrecorded)
    if waiting:
        query = query.where(OutboxMail.id.not_in(waiting))
    ids = db.session.scalars(query).all()
    db.session.commit()
    return ids


def claim(mail_id, now):
    """Take a due mail for this attempt and commit; return (recipient, message), or None if it is not ours.

    One conditional UPDATE decides, so of two workers only one wins the row.
    """
    won = db.session.execute(
        sa.update(OutboxMail)
        .where(OutboxMail.id == mail_id, OutboxMail.status == "pending", OutboxMail.next_attempt_at <= now)
        .values(next_attempt_at=max(now, utcnow()) + CLAIM_DELTA)
        .execution_options(synchronize_session=False)
    ).rowcount == 1
    found = db.session.execute(sa.select(OutboxMail.recipient, OutboxMail.message)
                               .where(OutboxMail.id == mail_id)).one_or_none() if won else None
    db.session.commit()
    return tuple(found) if found is not None else None


def _send_one(connection, mail_id, recipient, message, now):
    """Send one claimed mail and record the outcome; return 1 if the server accepted it, else 0."""
    try:
        connection.send(sender_address(), recipient, message)
    except PermanentFailure as exc:
        # bound now: Python unbinds `exc` when the block ends, and a record may be written later
        record(mail_id, lambda row, error=exc: service.mark_attempt_failed(row, error, permanent=True, now=now))
    except UnicodeEncodeError as exc:
        # an address smtplib cannot put on the wire without SMTPUTF8
        record(mail_id, lambda row, error=exc: service.mark_attempt_failed(row, error, permanent=True, now=now))
    except smtplib.SMTPResponseException as exc:
        error = f"{exc.smtp_code} {exc.smtp_error!r}"
        record(mail_id, lambda row: service.mark_attempt_failed(row, error, now=utcnow()))
    else:
        accepted_at = utcnow()
        if not record(mail_id, lambda row: service.mark_sent(row, now=accepted_at)):
            with _unrecorded_lock:
                _unrecorded[mail_id] = accepted_at
        return 1
    return 0


def record(mail_id, apply, *, patience=RECORD_PATIENCE_SECONDS):
    """Apply an outcome to the mail's row and commit, retrying while the database refuses; return success.

    apply(row) changes the row. A refusal (SQLite busy, a PostgreSQL connection
    lost) rolls back only this record and tries again after a growing pause;
    the outcome itself is never dropped for it.
    """
    pause = 0.05
    deadline = time.monotonic() + patience
    while True:
        try:
            row = db.session.get(OutboxMail, mail_id, populate_existing=True)
            if row is not None:
                apply(row)
            db.session.commit()
            return True
        except sa.exc.DBAPIError as exc:
            db.session.rollback()
            if time.monotonic() + pause > deadline:
                log.error("could not record the outcome of outbox mail %s: %s", mail_id, exc)
                return False
            log.warning("recording outbox mail %s waits for the database: %s", mail_id, exc.orig)
            time.sleep(pause)
            pause = min(pause * 2, 5.0)


def record_leftovers(patience=5):
    """Record the acceptances an earlier tick could not write; keep those the database still refuses."""
    with _unrecorded_lock:
        waiting = dict(_unrecorded)
    for mail_id, accepted_at in waiting.items():
        if record(mail_id, lambda row, at=accepted_at: service.mark_sent(row, now=at), patience=patience):
            with _unrecorded_lock:
                _unrecorded.pop(mail_id, None)


def _postpone(claimed_ids, other_ids, error, now):
    """Count a failed attempt on the batch's still-pending mails (the server was down): the claimed one in
    flight, and the others still due (one claimed meanwhile by another worker is that worker's)."""
    db.session.rollback()
    due = sa.and_(OutboxMail.id.in_(list(other_ids)), OutboxMail.next_attempt_at <= now)
    rows = db.session.scalars(sa.select(OutboxMail).where(
        OutboxMail.status == "pending", sa.or_(OutboxMail.id.in_(list(claimed_ids)), due))).all()
    for row in rows:
        service.mark_attempt_failed(row, f"Không kết nối được máy chủ thư: {error}", now=now)
    db.session.commit()


@periodic("invites.read_replies", seconds=60)
def read_replies():
    """Count the answers calendars sent to the organizer mailbox (IMAP_URL); see invites.replies."""
    return replies.read_replies()
