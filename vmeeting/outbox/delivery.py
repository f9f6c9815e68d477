"""Delivery: every worker process drains the outbox through SMTP_CONNECTIONS connections, woken at once.

A drain (`deliver_outbox`) repeats until nothing is due: claim a batch (one
committed UPDATE: `service.claim_due`), build the compact rows among it and
commit the messages, send the batch through several SMTP connections at once
(threads; the database work stays in this thread), record the outcomes.

A mail the SMTP server accepted is never sent again (CONTRACT.md, Mail):

- each mail is claimed before it is sent, so no other worker (on this host or
  another, sharing one PostgreSQL) picks it up while it is on the wire;
- no transaction is open while a server is talking, so the worker holds no
  SQLite lock and no PostgreSQL row lock across the network;
- the server's acceptance is recorded with retries (`record`): a database busy
  with the web process's writers delays the record, it never turns it back
  into "pending". Should the database stay unwritable past RECORD_PATIENCE,
  the mail stays claimed and the process remembers it, writes the record at
  its next drain and leaves it out of every claim meanwhile.

`Deliverer` runs the drain in a thread of each worker process (`flask
scheduler run`, or the web process with SCHEDULER=embedded), outside the
scheduler lease: on PostgreSQL it LISTENs for the NOTIFY a commit that queued
mail sends, on SQLite it asks "anything due?" every OUTBOX_POLL_SECONDS.
"""

import logging
import queue
import smtplib
import threading
import time
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
    sent = tried = 0
    with Sender(parse_smtp_url(url), current_app.config.get("SMTP_CONNECTIONS") or 1, sender_address()) as sender:
        while (limit is None or tried < limit) and not (stop is not None and stop.is_set()):
            # what became due during the drain too: the mails a change record was just expanded into
            claimed = _claim(max(now, utcnow()), BATCH if limit is None else min(BATCH, limit - tried))
            if not claimed:
                break
            tried += len(claimed)
            ready = _build(claimed, now)
            outcomes = sender.send_all(ready)
            sent += _record_outcomes(outcomes, now)
            if sender.down is not None:
                log.warning("SMTP server unreachable, the mails due wait: %s", sender.down)
                break
    return sent


def _claim(now, limit):
    with _unrecorded_lock:
        waiting = list(_unrecorded)
    try:
        claimed = service.claim_due(now, limit, exclude_ids=waiting)
        db.session.commit()
    except sa.exc.DBAPIError:
        db.session.rollback()
        raise
    return claimed


def _build(claimed, now):
    """Build the claimed rows not yet built and commit; return [(id, recipient, message)] to send."""
    unbuilt = [mail_id for mail_id, _recipient, message in claimed if message is None]
    built = service.build_messages(unbuilt, now=now) if unbuilt else {}
    db.session.commit()
    return [(mail_id, recipient, message if message is not None else built[mail_id])
            for mail_id, recipient, message in claimed if message is not None or mail_id in built]


def _record_outcomes(outcomes, now):
    """Write what the servers answered; return how many mails they accepted."""
    accepted = [(mail_id, at) for mail_id, kind, at in outcomes if kind == "sent"]
    if accepted:
        ids, at = [mail_id for mail_id, _at in accepted], max(a for _id, a in accepted)
        if not record_many_sent(ids, at):
            with _unrecorded_lock:
                _unrecorded.update(dict(accepted))
    for mail_id, kind, detail in outcomes:
        if kind == "refused":
            record(mail_id, lambda row, error=detail: service.mark_attempt_failed(row, error, permanent=True, now=now))
        elif kind == "retry":
            record(mail_id, lambda row, error=detail: service.mark_attempt_failed(row, error, now=utcnow()))
        elif kind == "unreachable":
            record(mail_id, lambda row, error=detail: service.mark_attempt_failed(
                row, f"Không kết nối được máy chủ thư: {error}", now=now))
    return len(accepted)


class Sender:
    """SMTP connections opened as needed (at most `connections`), kept for a whole drain; a context manager.

    send_all runs one thread per connection; each mail takes a free
    connection, so a batch goes out `connections` at a time. Threads never
    touch the database: they return outcomes for the caller to record.
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

    def __enter__(self):
        self.executor = ThreadPoolExecutor(max_workers=self.size, thread_name_prefix="smtp")
        return self

    def __exit__(self, *exc_info):
        self.executor.shutdown(wait=True)
        while not self.pool.empty():
            self.pool.get_nowait().close()

    def send_all(self, mails):
        """Send [(id, recipient, message)]; return [(id, kind, detail)]: sent (accepted at), refused, retry
        or unreachable (error). Once the server is found unreachable the mails left are not tried."""
        self.down = None
        return list(self.executor.map(self._send, mails))

    def _send(self, item):
        mail_id, recipient, message = item
        if self.down is not None:
            return mail_id, "unreachable", self.down
        connection = self.pool.get()
        try:
            if connection.client is None:
                connection.__enter__()
            connection.send(self.envelope_sender, recipient, message)
        except (PermanentFailure, UnicodeEncodeError) as exc:
            # UnicodeEncodeError: an address smtplib cannot put on the wire without SMTPUTF8
            return mail_id, "refused", str(exc) or exc.__class__.__name__
        except UNREACHABLE as exc:
            connection.close()
            self.down = exc
            return mail_id, "unreachable", exc
        except smtplib.SMTPResponseException as exc:
            return mail_id, "retry", f"{exc.smtp_code} {exc.smtp_error!r}"
        finally:
            self.pool.put(connection)
        return mail_id, "sent", utcnow()


def record(mail_id, apply, *, patience=RECORD_PATIENCE_SECONDS):
    """Apply an outcome to the mail's row and commit, retrying while the database refuses; return success.

    apply(row) changes the row. A refusal (SQLite busy, a PostgreSQL connection
    lost) rolls back only this record and tries again after a growing pause;
    the outcome itself is never dropped for it.
    """

    def write():
        row = db.session.get(OutboxMail, mail_id, populate_existing=True)
        if row is not None:
            apply(row)

    return _retrying(write, f"outbox mail {mail_id}", patience)


def record_many_sent(ids, accepted_at, *, patience=RECORD_PATIENCE_SECONDS):
    """Record in one UPDATE and commit that the server accepted these mails, retrying as `record` does."""
    return _retrying(lambda: service.mark_many_sent(ids, accepted_at), f"{len(ids)} outbox mails", patience)


def _retrying(write, what, patience):
    pause = 0.05
    deadline = time.monotonic() + patience
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
            pause = min(pause * 2, 5.0)


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
    same mail, so no lease is needed (several hosts may share one PostgreSQL).
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
                self._drain_if_due()
                if dialect == "postgresql":
                    self._wait_for_notify(poll)
                else:
                    self.stopping.wait(poll)
            self._close_listener()

    def _drain_if_due(self):
        try:
            due = service.anything_due()
            db.session.commit()
            if due:
                with writing():
                    deliver_outbox(stop=self.stopping)
        except Exception:
            log.exception("outbox delivery failed; trying again at the next wake-up")
            db.session.rollback()
        finally:
            db.session.remove()

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
