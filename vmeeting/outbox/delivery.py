"""Delivery: every worker process drains the outbox through SMTP_CONNECTIONS connections, woken at once.

A drain (`deliver_outbox`) repeats until nothing is due: claim a batch (one
committed UPDATE: `service.claim_due`), build the compact rows among it and
commit the messages, send the batch through several SMTP connections at once
(threads; the database work stays in this thread), recording each outcome as
it comes.

A mail the SMTP server accepted is never sent again (CONTRACT.md, Mail), but
for one window that SMTP leaves to every client, bounded here to one mail per
connection:

- each mail is claimed before it is sent, for a lease (`service.CLAIM_LEASE`,
  30 s) that the worker renews every RENEW_SECONDS while it works: no other
  worker (on this host or another, sharing one PostgreSQL) picks it up while
  it is on the wire, and a worker that died (kill -9, a lost host) lets go
  of its mails when the lease runs out. A mail is started only while the
  lease has SEND_MARGIN_SECONDS left, and only if the last renewal found it
  still this worker's;
- each acceptance is recorded as soon as the server says 250, in a short
  transaction of its own (the acceptances that arrive together, at most one
  per connection, in one UPDATE), and the connection that carried the mail
  sends nothing more until that record is committed. A worker killed at any
  instant has sent again nothing recorded; what it leaves are at most one
  mail per connection accepted in the instant before its record, which go
  out again with the same Message-ID, and the mails it had claimed, which
  another worker takes back when the lease runs out;
- no transaction is open while a server is talking, so the worker holds no
  SQLite lock and no PostgreSQL row lock across the network;
- the server's acceptance is recorded with retries (`record`): a database busy
  with the web process's writers delays the record, it never turns it back
  into "pending". Should the database stay unwritable past RECORD_PATIENCE,
  the drain sends nothing more; the process remembers the mail, writes the
  record at its next drain and leaves it out of every claim meanwhile.

`Deliverer` runs the drain in a thread of each worker process (`flask
scheduler run`, or the web process with SCHEDULER=embedded), outside the
scheduler lease: on PostgreSQL it LISTENs for the NOTIFY a commit that queued
mail sends, on SQLite it asks "anything due?" every OUTBOX_POLL_SECONDS; it
also looks when the soonest retry or lease falls due.
"""

import logging
import queue
import smtplib
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import sqlalchemy as sa
from flask import current_app

from vmeeting.core.database import utcnow, writing
from vmeeting.core.extensions import db
from vmeeting.outbox import service
from vmeeting.outbox.mail import PermanentFailure, SmtpConnection, parse_smtp_url, sender_address
from vmeeting.outbox.models import OutboxMail

log = logging.getLogger(__name__)

#: errors that say the server cannot be reached at all: every mail of the batch waits
UNREACHABLE = (OSError, smtplib.SMTPConnectError, smtplib.SMTPServerDisconnected, smtplib.SMTPHeloError,
               smtplib.SMTPAuthenticationError)
#: how long `record` keeps trying to write an outcome before leaving it to the next drain
RECORD_PATIENCE_SECONDS = 300
#: mails claimed, built and sent per round of a drain
BATCH = 200
#: without NOTIFY to wake it (SQLite), how often a worker asks whether anything is due; on PostgreSQL the
#: same question is asked this often too, for retries whose delay has run out
POLL_SECONDS = {"sqlite": 1.0, "postgresql": 10.0}
#: how often a worker renews the lease on the mails it holds (service.CLAIM_LEASE long)
RENEW_SECONDS = 5
#: a mail is started only while the lease on it has this long to run: an SMTP conversation started then
#: ends, or is renewed, before any other worker may take the mail back
SEND_MARGIN_SECONDS = 15
#: the shortest wait between two looks at the outbox, when something is due that this worker may not take
SHORTEST_WAIT_SECONDS = 0.5

#: {outbox mail id: when the server accepted it} of acceptances not yet recorded (the database refused)
_unrecorded = {}
_unrecorded_lock = threading.Lock()


def deliver_outbox(now=None, limit=None, stop=None):
    """Send the mails that are due until none is left; return how many the server accepted.

    limit: at most this many mails tried in this call (None: all that are due).
    stop: a threading.Event that ends the drain after the current batch.
    Without SMTP_URL nothing is sent (nor built): the outbox page shows the mails.
    """
    url = current_app.config.get("SMTP_URL")
    if not url:
        return 0
    now = now or utcnow()
    record_leftovers()
    claims = Claims(f"{service.worker_name()}:{uuid.uuid4().hex[:6]}", now)
    sent = tried = 0
    with Sender(parse_smtp_url(url), current_app.config.get("SMTP_CONNECTIONS") or 1, sender_address()) as sender:
        try:
            while (limit is None or tried < limit) and not (stop is not None and stop.is_set()):
                # what became due during the drain too: the mails a change record was just expanded into
                claimed = claims.claim(BATCH if limit is None else min(BATCH, limit - tried))
                if not claimed:
                    break
                tried += len(claimed)
                ready = _build(claimed, now)
                claims.done({mail_id for mail_id, _r, _m in claimed} - {mail_id for mail_id, _r, _m in ready})
                claims.renew()  # a long build (a national change record) may have used some of the lease
                accepted, untried = _send_and_record(sender, ready, claims, now)
                sent += accepted
                if sender.down is not None:
                    log.warning("SMTP server unreachable, the mails due wait: %s", sender.down)
                    break
                if untried:  # acceptances not recordable, or claims not renewable: the database is in trouble
                    log.warning("outbox drain ends with %d mails untried, given back", untried)
                    break
        finally:
            claims.release_rest()
    return sent


def _unrecorded_ids():
    with _unrecorded_lock:
        return set(_unrecorded)


def _build(claimed, now):
    """Build the claimed rows not yet built and commit; return [(id, recipient, message)] to send."""
    unbuilt = [mail_id for mail_id, _recipient, message in claimed if message is None]
    built = service.build_messages(unbuilt, now=now) if unbuilt else {}
    db.session.commit()
    return [(mail_id, recipient, message if message is not None else built[mail_id])
            for mail_id, recipient, message in claimed if message is not None or mail_id in built]


class Claims:
    """The mails one drain holds (`claimed_by` = holder) and the lease on them; its database work in one thread.

    The sender threads ask `may_send` before each mail; the drain's thread
    claims, renews (`renew`, every RENEW_SECONDS), marks mails done once their
    outcome is recorded, and gives back what is left (`release_rest`).
    """

    def __init__(self, holder, now):
        self.holder = holder
        self.now = now
        self.lock = threading.Lock()
        self.held = set()
        #: held mails the last renewal did not find this drain's any more: never to be sent by it
        self.lost = set()
        self.renewed = 0.0  # time.monotonic() of the last claim or renewal (taken before it)

    def claim(self, limit):
        """Claim up to limit due mails and commit; return them as `service.claim_due` does."""
        began = time.monotonic()
        claimed = service.claim_due(max(self.now, utcnow()), limit, exclude_ids=_unrecorded_ids(), holder=self.holder)
        db.session.commit()
        with self.lock:
            self.held.update(mail_id for mail_id, _r, _m in claimed)
            self.renewed = began
        return claimed

    def renew(self, *, force=False):
        """Renew the lease on the mails still held, if RENEW_SECONDS have passed (or force); commit."""
        with self.lock:
            ids = self.held - self.lost
        if not ids or (not force and time.monotonic() - self.renewed < RENEW_SECONDS):
            return
        began = time.monotonic()
        try:
            kept = service.renew_claims(ids, self.holder, max(self.now, utcnow()) + service.CLAIM_LEASE)
            db.session.commit()
        except sa.exc.DBAPIError as exc:
            db.session.rollback()
            log.warning("could not renew the claim on %d outbox mails: %s", len(ids), exc.orig)
            return
        with self.lock:
            self.lost |= ids - kept
            self.renewed = began

    def may_send(self, mail_id):
        """Tell whether a sender may start this mail: held, not lost, and the lease has the margin left."""
        lease = service.CLAIM_LEASE.total_seconds()
        with self.lock:
            return (mail_id in self.held and mail_id not in self.lost
                    and time.monotonic() < self.renewed + lease - SEND_MARGIN_SECONDS)

    def done(self, ids):
        """Stop holding these mails (their outcome is recorded, or they are gone)."""
        with self.lock:
            self.held.difference_update(ids)

    def release_rest(self):
        """Give back, due at once, the mails still held and not tried (an acceptance not recorded stays held)."""
        db.session.rollback()  # a drain that failed midway leaves its session to be rolled back first
        with self.lock:
            ids = self.held - self.lost
        ids -= _unrecorded_ids()
        if ids:
            _retrying(lambda: service.release_claims(ids, self.holder), f"the claim on {len(ids)} outbox mails", 5)


def _send_and_record(sender, ready, claims, now):
    """Send [(id, recipient, message)] and record each outcome as it comes; return (accepted, untried) counts.

    Each sender waits for the record of its acceptance before it starts the
    next mail (`Sender._send`), so the acceptances recorded together are at
    most one per connection. Should this thread fail midway, the senders
    stop, and acceptances not yet recorded are kept for the next drain.
    """
    outcomes = queue.Queue()
    futures = sender.send_all(ready, claims, outcomes)
    accepted = answered = 0
    finished = False
    try:
        while not finished:
            finished = all(f.done() for f in futures)  # before the queue is read: all put before are read now
            items = _take(outcomes, wait=not finished)
            answered += len(items)
            accepted += _record_outcomes(items, claims, sender, now)
            claims.renew()
        for future in futures:
            future.result()  # a sender's bug surfaces here, its mail left untried
    finally:
        if not finished:
            sender.halted.set()
            while not finished:
                finished = all(f.done() for f in futures)
                for mail_id, kind, detail, ack in _take(outcomes, wait=not finished):
                    if kind == "sent":
                        with _unrecorded_lock:
                            _unrecorded[mail_id] = detail
                    if ack is not None:
                        ack.set()
    return accepted, len(ready) - answered


def _take(outcomes, *, wait):
    """Return the outcomes queued now, having waited up to a quarter second for the first if wait."""
    items = []
    try:
        items.append(outcomes.get(timeout=0.25) if wait else outcomes.get_nowait())
        while True:
            items.append(outcomes.get_nowait())
    except queue.Empty:
        return items


def _record_outcomes(items, claims, sender, now):
    """Write what the servers answered, acceptances first (their senders wait); return how many were accepted."""
    accepted = {mail_id: at for mail_id, kind, at, _ack in items if kind == "sent"}
    try:
        if accepted:
            with _unrecorded_lock:
                _unrecorded.update(accepted)
            if record_many_sent(list(accepted), max(accepted.values())):
                claims.done(accepted)
                with _unrecorded_lock:
                    for mail_id in accepted:
                        _unrecorded.pop(mail_id, None)
            else:
                sender.halted.set()  # nothing more goes out while acceptances cannot be recorded
    finally:
        for *_outcome, ack in items:
            if ack is not None:
                ack.set()
    for mail_id, kind, detail, _ack in items:
        if kind == "refused":
            record(mail_id, lambda row, error=detail: service.mark_attempt_failed(row, error, permanent=True, now=now))
        elif kind == "retry":
            record(mail_id, lambda row, error=detail: service.mark_attempt_failed(row, error, now=utcnow()))
        elif kind == "unreachable":
            record(mail_id, lambda row, error=detail: service.mark_attempt_failed(
                row, f"Không kết nối được máy chủ thư: {error}", now=now))
        if kind != "sent":
            claims.done([mail_id])
    return len(accepted)


class Sender:
    """SMTP connections opened as needed (at most `connections`), kept for a whole drain; a context manager.

    send_all runs one thread per connection; each mail takes a free
    connection, so a batch goes out `connections` at a time. Threads never
    touch the database: they queue outcomes for the drain's thread to record.
    """

    def __init__(self, settings, connections, envelope_sender):
        self.settings = settings
        self.envelope_sender = envelope_sender
        self.size = max(1, int(connections))
        self.pool = queue.Queue()
        for _ in range(self.size):
            self.pool.put(SmtpConnection(settings))
        self.executor = None
        #: the error that showed the server unreachable during the last send_all, else None
        self.down = None
        #: set when no sender may start another mail (an acceptance could not be recorded)
        self.halted = threading.Event()

    def __enter__(self):
        self.executor = ThreadPoolExecutor(max_workers=self.size, thread_name_prefix="smtp")
        return self

    def __exit__(self, *exc_info):
        self.executor.shutdown(wait=True)
        while not self.pool.empty():
            self.pool.get_nowait().close()

    def send_all(self, mails, claims, outcomes):
        """Start sending [(id, recipient, message)]; return the futures.

        Each outcome is queued on `outcomes` as (id, kind, detail, ack): sent
        (detail: accepted at; ack: an Event the sender waits on before its
        next mail), refused, retry or unreachable (detail: the error; ack
        None). Once the server is found unreachable the mails left are not
        tried; a mail claims.may_send refuses, or any once halted, is not
        tried and queues nothing.
        """
        self.down = None
        return [self.executor.submit(self._send, item, claims, outcomes) for item in mails]

    def _send(self, item, claims, outcomes):
        mail_id, recipient, message = item
        connection = self.pool.get()
        try:
            if self.down is not None:
                outcomes.put((mail_id, "unreachable", self.down, None))
                return
            if self.halted.is_set() or not claims.may_send(mail_id):
                return
            if connection.client is None:
                connection.__enter__()
            connection.send(self.envelope_sender, recipient, message)
        except (PermanentFailure, UnicodeEncodeError) as exc:
            # UnicodeEncodeError: an address smtplib cannot put on the wire without SMTPUTF8
            outcomes.put((mail_id, "refused", str(exc) or exc.__class__.__name__, None))
        except UNREACHABLE as exc:
            connection.close()
            self.down = exc
            outcomes.put((mail_id, "unreachable", exc, None))
        except smtplib.SMTPResponseException as exc:
            outcomes.put((mail_id, "retry", f"{exc.smtp_code} {exc.smtp_error!r}", None))
        else:
            recorded = threading.Event()
            outcomes.put((mail_id, "sent", utcnow(), recorded))
            recorded.wait()  # this connection's next mail waits for the record: a crash repeats this one at most
        finally:
            self.pool.put(connection)


def record(mail_id, apply, *, patience=None):
    """Apply an outcome to the mail's row and commit, retrying while the database refuses; return success.

    apply(row) changes the row. A refusal (SQLite busy, a PostgreSQL connection
    lost) rolls back only this record and tries again after a growing pause;
    the outcome itself is never dropped for it. patience: seconds, by default
    RECORD_PATIENCE_SECONDS.
    """

    def write():
        row = db.session.get(OutboxMail, mail_id, populate_existing=True)
        if row is not None:
            apply(row)

    return _retrying(write, f"outbox mail {mail_id}", patience)


def record_many_sent(ids, accepted_at, *, patience=None):
    """Record in one UPDATE and commit that the server accepted these mails, retrying as `record` does."""
    return _retrying(lambda: service.mark_many_sent(ids, accepted_at), f"{len(ids)} outbox mails", patience)


def _retrying(write, what, patience):
    pause = 0.05
    deadline = time.monotonic() + (RECORD_PATIENCE_SECONDS if patience is None else patience)
    while True:
        try:
            write()
            db.session.commit()
            return True
        except sa.exc.DBAPIError as exc:
            db.session.rollback()
            if time.monotonic() + pause > deadline:
                log.error("could not record the outcome of %s: %s", what, exc)
                return False
            log.warning("recording %s waits for the database: %s", what, exc.orig)
            time.sleep(pause)
            pause = min(pause * 2, 1.0)


def record_leftovers(patience=5):
    """Record the acceptances an earlier drain could not write; keep those the database still refuses."""
    with _unrecorded_lock:
        waiting = dict(_unrecorded)
    for mail_id, accepted_at in waiting.items():
        if record(mail_id, lambda row, at=accepted_at: service.mark_sent(row, now=at), patience=patience):
            with _unrecorded_lock:
                _unrecorded.pop(mail_id, None)


class Deliverer:
    """The drain loop of one worker process, in a daemon thread: woken by NOTIFY (PostgreSQL) or a poll.

    Every process that runs it delivers: the claims keep two of them off the
    same mail, so no scheduler lease is needed (several hosts may share one
    PostgreSQL). Besides NOTIFY and the poll, it looks again when the soonest
    pending mail falls due: a retry, or the claim of a worker that died.
    stop() ends it within about a second, after the batch in hand.
    """

    def __init__(self, app):
        self.app = app
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, name="outbox-delivery", daemon=True)
        self._listener = None

    def start(self):
        self.thread.start()
        return self

    def stop(self, timeout=60):
        self.stopping.set()
        self.thread.join(timeout)

    def _run(self):
        with self.app.app_context():
            dialect = db.engine.dialect.name
            poll = self.app.config.get("OUTBOX_POLL_SECONDS") or POLL_SECONDS.get(dialect, 1.0)
            if not self.app.config.get("SMTP_URL"):
                log.info("no SMTP_URL: outbox delivery is off")
                return
            while not self.stopping.is_set():
                wait = self._drain_if_due(poll)
                if dialect == "postgresql":
                    self._wait_for_notify(wait)
                else:
                    self.stopping.wait(wait)
            self._close_listener()

    def _drain_if_due(self, poll):
        """Drain if anything is due (or an acceptance waits for its record); return the seconds to wait next."""
        wait = min(poll, 1.0)
        try:
            due = service.anything_due() or bool(_unrecorded_ids())
            db.session.commit()
            if due:
                with writing():
                    deliver_outbox(stop=self.stopping)
            wait = self._until_next_due(poll)
        except Exception:
            log.exception("outbox delivery failed; trying again at the next wake-up")
            db.session.rollback()
        finally:
            db.session.remove()
        return wait

    @staticmethod
    def _until_next_due(poll):
        """Return the seconds until the soonest pending mail falls due, within SHORTEST_WAIT_SECONDS..poll."""
        due_at = service.next_due_at()
        db.session.commit()
        if _unrecorded_ids():
            poll = min(poll, 1.0)
        if due_at is None:
            return poll
        return min(poll, max(SHORTEST_WAIT_SECONDS, (due_at - utcnow()).total_seconds()))

    def _wait_for_notify(self, poll):
        """Return at the first NOTIFY, after poll seconds, or when stopping; reconnect a lost listener."""
        import psycopg

        deadline = time.monotonic() + poll
        while not self.stopping.is_set() and time.monotonic() < deadline:
            try:
                if self._listener is None:
                    url = db.engine.url.set(drivername="postgresql")
                    self._listener = psycopg.connect(url.render_as_string(hide_password=False), autocommit=True)
                    self._listener.execute(f"LISTEN {service.NOTIFY_CHANNEL}")
                    return  # a commit may have come while we were not listening: look once more
                for _notice in self._listener.notifies(timeout=min(1.0, max(0.0, deadline - time.monotonic())),
                                                       stop_after=1):
                    return
            except psycopg.Error as exc:
                log.warning("outbox listener lost (%s); polling meanwhile", exc)
                self._close_listener()
                self.stopping.wait(1.0)

    def _close_listener(self):
        if self._listener is not None:
            try:
                self._listener.close()
            except Exception:  # closing a broken connection may fail in many ways; it is gone either way
                pass
            self._listener = None
