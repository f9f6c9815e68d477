"""The outbox's rules: write mails, supersede, claim what is due, build, record each outcome, count.

A capability writes its mails in its own transaction, so they commit or roll
back with the change they announce (DESIGN.md, principle 4). A few mails
(escalations, alarms) are written whole (`enqueue_plain`); a change that
mails thousands of people writes compact rows (`enqueue`): who, which
method and sequence, and a small JSON payload. The workers build those
with the builder the capability registered (`register_builder`), once, and
store the message before the first attempt, so a retry sends the same bytes.

These functions flush; the caller commits. The delivery loop (delivery.py)
is the one caller that commits row by row, around each SMTP conversation.
"""

import json
import logging
import os
import socket
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.dialects import sqlite

from vmeeting.core.database import utcnow
from vmeeting.core.errors import ValidationError
from vmeeting.core.extensions import db
from vmeeting.core.hooks import NamedHook
from vmeeting.outbox import mail
from vmeeting.outbox.models import MAIL_METHODS, OutboxMail
from vmeeting.core.text import N_

log = logging.getLogger(__name__)

#: delays before the 2nd, 3rd… attempt; after the last one the mail is marked failed
RETRY_DELAYS = [timedelta(minutes=m) for m in (1, 2, 5, 10, 20, 40, 60, 120, 240)]
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1
#: how long a claim keeps a mail from every other worker unless its worker renews it (delivery.py renews it
#: every RENEW_SECONDS while it works): a worker killed mid-batch holds its mails this long, no longer
CLAIM_LEASE = timedelta(seconds=30)
#: the PostgreSQL channel a commit that queued mail notifies; every worker LISTENs on it
NOTIFY_CHANNEL = "vmeeting_outbox"
#: the last_error of a superseded mail; the outbox pages show it through the catalogue (text.N_)
SUPERSEDED_NOTE = N_("Đã có thư mới hơn cho người này.")

#: {builder name: build(rows, *, skip_superseded=True) -> {row id: message text, or None if superseded}}
BUILDERS = NamedHook("outbox.builders")
#: {expander name: expand(row)}: turns one change record into the change's mails (`enqueue_change`)
EXPANDERS = NamedHook("outbox.expanders")


def register_builder(app, name, build):
    """Let app's compact rows written with builder=name be built by build (from a capability's init_app).

    build(rows, *, skip_superseded=True) receives OutboxMail rows (message
    None) and returns {row id: the whole message as 7-bit text}; with
    skip_superseded it may answer None for a row a newer mail to the same
    person has made pointless (the row is then marked superseded, unsent).
    It should load what the rows share once, not once per row.
    """
    BUILDERS.connect(app, name, build)


def register_expander(app, name, expand):
    """Let app's change records written with expander=name be expanded by expand(row) (from an init_app).

    expand(row) receives the record (an OutboxMail with no recipient) and
    writes the change's mails with `enqueue`, in the caller's transaction;
    the record is deleted in the same transaction, so a change is expanded
    once: its mails and the record's end commit together.
    """
    EXPANDERS.connect(app, name, expand)


# -- writing ---------------------------------------------------------------------------------


#: PostgreSQL: every row of a change in one INSERT of one JSON document, whatever their number. A
#: statement of 10,000 VALUES rows, 10,000 pipelined statements, or one array per column (each element
#: adapted by the driver in Python) all cost the booking far more than json.dumps and the server's parser.
_INSERT_FROM_JSON = sa.text(
    "INSERT INTO outbox_mails (key, meeting_id, recipient, recipient_name, method, sequence, subject, payload,"
    " builder, message, status, attempt_count, next_attempt_at, last_error, created_at)"
    " SELECT t.key, t.meeting_id, t.recipient, t.recipient_name, t.method, t.sequence, t.subject, t.payload,"
    " :builder, NULL, 'pending', 0, :now, '', :now"
    " FROM json_to_recordset(CAST(:rows AS json)) AS t(key varchar, meeting_id integer, recipient varchar,"
    " recipient_name varchar, method varchar, sequence integer, subject varchar, payload json)"
    " ON CONFLICT (key) DO NOTHING")


def _insert(values, builder, now):
    """Write the rows (dicts of the columns) in one statement, skipping a key already queued."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(_INSERT_FROM_JSON, {"rows": json.dumps(values), "builder": builder, "now": now})
        return
    # SQLite runs in this process: executemany of one prepared INSERT is its fast path
    insert = sqlite.insert(OutboxMail.__table__).on_conflict_do_nothing(index_elements=["key"])
    db.session.execute(insert, [{**v, "builder": builder, "message": None, "status": "pending", "attempt_count": 0,
                                 "next_attempt_at": now, "last_error": "", "created_at": now} for v in values])


def enqueue(rows, *, builder):
    """Write compact rows in one INSERT (executemany); a key already queued stays as it is.

    rows: dicts of key, meeting_id, recipient, recipient_name, method,
    sequence, subject and payload (a small JSON object for the builder). The
    message is built later, by the worker, with the registered `builder`.
    Notifies the workers (delivered when the caller commits).
    """
    if not rows:
        return
    if builder not in BUILDERS.mapping():
        raise ValueError(f"no outbox builder registered as {builder!r}")
    values = [{"key": r["key"], "meeting_id": r.get("meeting_id"), "recipient": r["recipient"],
               "recipient_name": (r.get("recipient_name") or "")[:200], "method": r.get("method"),
               "sequence": r.get("sequence", 0), "subject": r["subject"][:400], "payload": r.get("payload") or {}}
              for r in rows]
    _insert(values, builder, utcnow())
    notify()


def enqueue_change(*, key, meeting_id, sequence, subject, payload, expander):
    """Write one change record in the caller's transaction: the change's mails, to be written by a worker.

    For a change that mails thousands of people (a national booking), the
    booking's transaction writes this one row rather than a row per person;
    a worker expands it (`build_messages`) into the rows `enqueue` would have
    written, then builds and sends them. A later change of the same meeting
    expands it first (`expand_pending`), so what supersedes what stays as if
    the rows had been written at once. Notifies the workers.
    """
    if expander not in EXPANDERS.mapping():
        raise ValueError(f"no outbox expander registered as {expander!r}")
    _insert([{"key": key, "meeting_id": meeting_id, "recipient": "", "recipient_name": "", "method": None,
              "sequence": sequence, "subject": subject[:400], "payload": payload}], expander, utcnow())
    notify()


def expand_pending(meeting_id):
    """Expand now, in the caller's transaction, the meeting's change records no worker has expanded yet.

    A change of a meeting calls this before it writes its own mails. The
    records are locked (FOR UPDATE on PostgreSQL) before any mail is written,
    as the worker locks a record before it expands it: whichever comes second
    waits for the first to commit, then finds the record gone. Flushes.
    """
    if not EXPANDERS.mapping():
        return
    rows = db.session.scalars(sa.select(OutboxMail).where(
        OutboxMail.meeting_id == meeting_id, OutboxMail.status == "pending",
        OutboxMail.builder.in_(list(EXPANDERS.mapping()))).order_by(OutboxMail.id).with_for_update()).all()
    for row in rows:
        _expand(row)
    db.session.flush()


def _expand(row):
    EXPANDERS.mapping()[row.builder](row)
    db.session.delete(row)


def is_change_record(mail_row):
    """Tell whether the row is a change record (`enqueue_change`), not a mail."""
    return mail_row.builder in EXPANDERS.mapping()


def enqueue_plain(key, meeting_id, recipient, recipient_name, subject, text, html=None, reply_to=None, sequence=0):
    """Queue one mail without a calendar part, built now, once per key; return its row (the earlier one if queued).

    Written in the caller's transaction, delivered with the same retries as an
    invite. A new invite to the same person never supersedes it. The key names
    the piece of work (e.g. `readiness-escalation:…`); a second call with it,
    from a rerun or a retry, queues nothing. sequence: the meeting's, shown
    on the outbox page.
    """
    existing = db.session.scalar(sa.select(OutboxMail).where(OutboxMail.key == key))
    if existing is not None:
        return existing
    recipient = recipient.strip().lower()
    message = mail.build_plain_message(key=key, recipient=recipient, recipient_name=recipient_name,
                                       subject=subject, text=text, html=html, reply_to=reply_to)
    row = OutboxMail(key=key, meeting_id=meeting_id, recipient=recipient, recipient_name=(recipient_name or "")[:200],
                     method=None, sequence=sequence or 0, subject=subject[:400], message=message,
                     next_attempt_at=utcnow())
    db.session.add(row)
    db.session.flush()
    notify()
    return row


def notify():
    """Wake every worker when the current transaction commits (PostgreSQL NOTIFY; SQLite workers poll)."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(sa.select(sa.func.pg_notify(NOTIFY_CHANNEL, "")))


def supersede(meeting_id, sequence, methods=MAIL_METHODS):
    """Mark superseded the meeting's pending calendar mails of an older SEQUENCE to everyone who now has a
    mail of `methods` at `sequence`: it carries all they said, and calendars keep only the highest SEQUENCE.

    One UPDATE whatever the number of recipients (the newer rows are found by
    a subquery, not a list of addresses). Plain mails are never superseded.
    """
    newer = (sa.select(OutboxMail.recipient)
             .where(OutboxMail.meeting_id == meeting_id, OutboxMail.sequence == sequence,
                    OutboxMail.method.in_(list(methods))))
    db.session.execute(
        sa.update(OutboxMail)
        .where(OutboxMail.meeting_id == meeting_id, OutboxMail.status == "pending",
               OutboxMail.method.is_not(None), OutboxMail.sequence < sequence,
               OutboxMail.recipient.in_(newer.scalar_subquery()))
        .values(status="superseded", last_error=SUPERSEDED_NOTE)
        .execution_options(synchronize_session=False)
    )


def invited_recipients(meeting_id):
    """Return the set of addresses that hold (or are about to get) an invite of the meeting: a REQUEST mail of it
    sent or waiting."""
    return set(db.session.scalars(sa.select(OutboxMail.recipient).where(
        OutboxMail.meeting_id == meeting_id, OutboxMail.method == "REQUEST",
        OutboxMail.status.in_(("pending", "sent")))))


def has_invited(meeting_id):
    """Tell whether any invite of the meeting was sent or waits to be (one indexed look-up)."""
    return db.session.scalar(sa.select(OutboxMail.id).where(
        OutboxMail.meeting_id == meeting_id, OutboxMail.method == "REQUEST",
        OutboxMail.status.in_(("pending", "sent"))).limit(1)) is not None


def pending_recipients(meeting_id, method):
    """Return the set of addresses with a pending mail of this method for the meeting."""
    return set(db.session.scalars(sa.select(OutboxMail.recipient).where(
        OutboxMail.meeting_id == meeting_id, OutboxMail.status == "pending", OutboxMail.method == method)))


# -- what is due, and claiming it ------------------------------------------------------------


def due_condition(now):
    """The SQL condition of a mail whose attempt is due."""
    return sa.and_(OutboxMail.status == "pending", OutboxMail.next_attempt_at <= now)


def anything_due(now=None):
    """Tell whether any mail is due (one indexed look-up: the workers' poll)."""
    return db.session.scalar(sa.select(OutboxMail.id).where(due_condition(now or utcnow())).limit(1)) is not None


def claim_due(now, limit, exclude_ids=(), *, holder=None):
    """Take up to `limit` due mails for this attempt, oldest first; return [(id, recipient, message or None)].

    One UPDATE decides: the claimed rows name their worker (`claimed_by`:
    holder, by default this process) and their next attempt moves
    CLAIM_LEASE ahead, so no other worker takes them while they are built
    and sent; the worker renews the lease while it works (`renew_claims`).
    A mail whose lease ran out (its worker died, or lost the database) is
    due again, and taken back here like any other (`claim_rows` says how
    workers claiming at once stay apart). The caller commits the claim before
    talking to any server. exclude_ids: rows this process already knows the
    outcome of (acceptances not yet recorded).
    """
    rows = claim_rows(OutboxMail, due_condition(now), limit, exclude_ids,
                      values={"next_attempt_at": max(now, utcnow()) + CLAIM_LEASE,
                              "claimed_by": holder or worker_name(), "claimed_at": utcnow()},
                      returning=(OutboxMail.id, OutboxMail.recipient, OutboxMail.message))
    return sorted((tuple(r) for r in rows), key=lambda r: r[0])


def claim_rows(model, due, limit, exclude_ids=(), *, values, returning):
    """Claim up to `limit` due rows of `model` (a `models.Delivered`), oldest due first; return the rows.

    The one claim protocol of mails and webhook deliveries: a single UPDATE of
    the rows picked by `due` (a SQL condition), setting `values` (the lease:
    next_attempt_at, claimed_by, claimed_at), RETURNING `returning` (columns).
    On PostgreSQL the pick is `FOR UPDATE SKIP LOCKED`, so workers claiming at
    once take different rows; SQLite renders no FOR UPDATE, and the caller
    holds its write lock (`database.writing`). The pick is MATERIALIZED: a
    planner that folded it into the UPDATE could run its LIMIT more than once
    and claim more. The UPDATE repeats `due`, so a row settled meanwhile is not
    taken. exclude_ids: rows this process already knows the outcome of.
    """
    picked = sa.select(model.id).where(due)
    if exclude_ids:
        picked = picked.where(model.id.not_in(list(exclude_ids)))
    picked = (picked.order_by(model.next_attempt_at, model.id).limit(limit)
              .with_for_update(skip_locked=True).cte("picked").prefix_with("MATERIALIZED"))
    return db.session.execute(
        sa.update(model).where(model.id.in_(sa.select(picked.c.id)), due).values(**values)
        .returning(*returning).execution_options(synchronize_session=False)
    ).all()


def worker_name():
    """Return this process as claims name it: host:pid."""
    return f"{socket.gethostname()}:{os.getpid()}"


def renew_claims(ids, holder, until):
    """Move the lease of holder's claims among ids to `until` (an aware instant); return the ids renewed.

    A mail not renewed is no longer holder's to send: its outcome is recorded,
    or another worker took it back after the lease ran out. Flushes; the
    caller commits.
    """
    if not ids:
        return set()
    return set(db.session.scalars(
        sa.update(OutboxMail)
        .where(OutboxMail.id.in_(list(ids)), OutboxMail.claimed_by == holder, OutboxMail.status == "pending")
        .values(next_attempt_at=until)
        .returning(OutboxMail.id)
        .execution_options(synchronize_session=False)))


def release_claims(ids, holder, now=None):
    """Give holder's claims among ids back, due at once (mails it will not try after all); the caller commits."""
    if ids:
        db.session.execute(
            sa.update(OutboxMail)
            .where(OutboxMail.id.in_(list(ids)), OutboxMail.claimed_by == holder, OutboxMail.status == "pending")
            .values(next_attempt_at=now or utcnow(), claimed_by=None, claimed_at=None)
            .execution_options(synchronize_session=False))


def next_due_at():
    """Return when the soonest pending mail falls due (a retry, a lease running out), or None if none waits."""
    return db.session.scalar(sa.select(sa.func.min(OutboxMail.next_attempt_at)).where(OutboxMail.status == "pending"))


# -- building ----------------------------------------------------------------------------------


def build_messages(ids, *, now=None):
    """Build and store the messages of the compact rows among ids; return {id: message} of those built.

    Rows a builder finds superseded are marked so (and not sent); a builder
    that fails counts a failed attempt on its rows (they are retried later).
    Flushes; the caller commits before sending, so every attempt of a row
    sends the bytes stored here.
    """
    rows = db.session.scalars(sa.select(OutboxMail).where(
        OutboxMail.id.in_(list(ids)), OutboxMail.message.is_(None), OutboxMail.builder.is_not(None))).all()
    by_builder = {}
    for row in rows:
        by_builder.setdefault(row.builder, []).append(row)
    built = {}
    for name, group in by_builder.items():
        if name in EXPANDERS.mapping():  # change records: their mails are written now, and claimed next round
            for row in group:
                # the record first, its mails' keys after, as a change's expand_pending takes them: a change
                # expanding it now finishes first (and the record is gone), never a deadlock of the two
                if db.session.scalar(sa.select(OutboxMail.id).where(
                        OutboxMail.id == row.id, OutboxMail.status == "pending").with_for_update()) is None:
                    db.session.expunge(row)
                    continue
                try:
                    with db.session.begin_nested():  # a failed expansion leaves none of its rows behind
                        _expand(row)
                except Exception as exc:  # noqa: BLE001 - as a builder's failure: counted, retried later
                    log.exception("outbox expander %s failed on %s", name, row.key)
                    mark_attempt_failed(row, f"Không soạn được thư: {exc!r}", now=now)
            continue
        try:
            messages = BUILDERS.mapping()[name](group)
        except Exception as exc:  # a bug or a vanished row must not stop the rest of the queue
            log.exception("outbox builder %s failed on %d mails", name, len(group))
            for row in group:
                mark_attempt_failed(row, f"Không soạn được thư: {exc!r}", now=now)
            continue
        for row in group:
            message = messages.get(row.id)
            if message is None:
                row.status, row.last_error, row.claimed_by = "superseded", SUPERSEDED_NOTE, None
            else:
                row.message = built[row.id] = message
    db.session.flush()
    return built


def build_unbuilt():
    """Build and store every pending compact row now (what the workers do on their first attempt); flush.

    For the CLI and tests that read a message before any worker ran.
    """
    for meeting_id in db.session.scalars(sa.select(OutboxMail.meeting_id).distinct().where(
            OutboxMail.status == "pending", OutboxMail.builder.in_(list(EXPANDERS.mapping())))).all():
        expand_pending(meeting_id)
    ids = db.session.scalars(sa.select(OutboxMail.id).where(OutboxMail.status == "pending",
                                                            OutboxMail.message.is_(None))).all()
    return build_messages(ids)


def message_for_display(mail_row):
    """Return the row's message, built for the reader when no worker has built it yet (not stored)."""
    builders = BUILDERS.mapping()
    if mail_row.message is not None or mail_row.builder not in builders:  # a change record has none either
        return mail_row.message
    return builders[mail_row.builder]([mail_row], skip_superseded=False).get(mail_row.id)


# -- outcomes ----------------------------------------------------------------------------------


def mark_sent(mail_row, now=None):
    """Record that the server accepted the mail: it is never sent again."""
    mail_row.status = "sent"
    mail_row.sent_at = now or utcnow()
    mail_row.attempt_count += 1
    mail_row.last_error = ""
    mail_row.claimed_by = None


def mark_many_sent(ids, now=None):
    """Record in one UPDATE that the server accepted these mails: none is ever sent again."""
    db.session.execute(
        sa.update(OutboxMail).where(OutboxMail.id.in_(list(ids)))
        .values(status="sent", sent_at=now or utcnow(), attempt_count=OutboxMail.attempt_count + 1, last_error="",
                claimed_by=None)
        .execution_options(synchronize_session=False))


def mark_attempt_failed(mail_row, error, *, permanent=False, now=None):
    """Record a failed attempt: retry later with a growing delay, or fail for good."""
    now = now or utcnow()
    mail_row.attempt_count += 1
    mail_row.last_error = str(error)[:2000] or error.__class__.__name__
    mail_row.claimed_by = None
    if permanent or mail_row.attempt_count >= MAX_ATTEMPTS:
        mail_row.status = "failed"
    else:
        mail_row.next_attempt_at = now + RETRY_DELAYS[mail_row.attempt_count - 1]


def retry_now(mail_row):
    """Put a failed mail back in the queue, due now (an administrator's choice)."""
    if mail_row.status != "failed":
        raise ValidationError({"mail": N_("Chỉ gửi lại được thư đã thất bại.")})
    mail_row.status = "pending"
    mail_row.next_attempt_at = utcnow()
    mail_row.attempt_count = 0
    mail_row.claimed_by = None
    notify()


# -- reading -----------------------------------------------------------------------------------


def outbox_select(status=None, meeting_id=None):
    """Select outbox mails for the outbox page, newest first."""
    query = sa.select(OutboxMail).order_by(OutboxMail.created_at.desc(), OutboxMail.id.desc())
    if status:
        query = query.where(OutboxMail.status == status)
    if meeting_id:
        query = query.where(OutboxMail.meeting_id == meeting_id)
    return query


def outbox_counts(meeting_id=None):
    """Return {status: count} over the whole outbox, or over one meeting's mails."""
    query = sa.select(OutboxMail.status, sa.func.count()).group_by(OutboxMail.status)
    if meeting_id is not None:
        query = query.where(OutboxMail.meeting_id == meeting_id)
    return dict(db.session.execute(query).all())


def claims(now=None):
    """Return what the workers hold, for the outbox page: [{holder, mails, since, until, live}], live ones first.

    holder: the worker (host:pid:drain) that claimed the mails; until: when
    its lease runs out; live: False once it has run out (that worker stopped
    renewing: it died or lost the database; another worker takes the mails
    back at its next look).
    """
    now = now or utcnow()
    rows = db.session.execute(
        sa.select(OutboxMail.claimed_by, sa.func.count(), sa.func.min(OutboxMail.claimed_at),
                  sa.func.max(OutboxMail.next_attempt_at))
        .where(OutboxMail.status == "pending", OutboxMail.claimed_by.is_not(None))
        .group_by(OutboxMail.claimed_by)).all()
    held = [{"holder": holder, "mails": mails, "since": since, "until": until, "live": until > now}
            for holder, mails, since, until in rows]
    return sorted(held, key=lambda c: (not c["live"], c["since"] or now, c["holder"]))


def failed_mails(meeting_id):
    """Return the meeting's mails that failed for good, for its organizer to see."""
    return db.session.scalars(sa.select(OutboxMail).where(OutboxMail.meeting_id == meeting_id,
                                                          OutboxMail.status == "failed")
                              .order_by(OutboxMail.recipient)).all()
