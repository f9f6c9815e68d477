"""A worker process killed mid-batch, or cut from PostgreSQL mid-delivery: no mail twice, none lost.

Real `flask --app wsgi scheduler run` processes deliver a booking's invites to
a real SMTP server (aiosmtpd); the test kills one with SIGKILL (`kill -9`) at a
moment it waits for (the server has received so many mails, the worker holds
a change record), starts another, and counts Message-IDs at the server. The
claims of the dead worker run out within service.CLAIM_LEASE (30 s) of its
death, which the test checks in the table; then it moves them that much back,
as the lease's 30 s passing would (the webhooks' kill test moves its clock the
same way), so that the new worker takes them back at once rather than after
half a minute of waiting, and delivers the rest at the machine's pace.
"""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from tests.booking.conftest import next_monday
from tests.invites.conftest import SmtpServer
from tests.outbox.processes import Gate, all_in, received, start_worker, stop, wait_for
from vmeeting.core.database import utcnow
from vmeeting.core.extensions import db
from vmeeting.outbox import service as outbox
from vmeeting.outbox.mail import message_id
from vmeeting.outbox.models import OutboxMail
from vmeeting.registry.models import Endpoint

#: the new worker takes back what the dead one held within this of its start (the claims run out already)
TAKE_BACK_SECONDS = 60
#: every invite delivered within this: a few hundred mails on a loaded 2-core machine (bench/drain.py)
DRAIN_SECONDS = 300
#: room for a worker process to start and reach a moment on a loaded machine
START_SECONDS = 180
CONNECTIONS = 2
#: a claim run out this long and not taken back is stuck: every worker looks again when a lease runs out
STALE = timedelta(seconds=10)


@pytest.fixture
def gate(app):
    """A real SMTP server whose handler can hold mails unanswered (`Gate`); SMTP_URL points at it."""
    server = SmtpServer()
    server.handler = Gate()
    server.start()
    app.config["SMTP_URL"] = server.url
    yield server
    server.handler.open()
    server.stop()


def _book(book, ids, day=0):
    """Book a meeting of the sites `day` days after next Monday and commit; return the Message-IDs of its
    mails (none built yet)."""
    book(db.session.scalars(sa.select(Endpoint).where(Endpoint.id.in_(ids))).all(), next_monday() + timedelta(days=day),
         allow_non_working_time=True)
    return _expected()


def _expected():
    keys = db.session.scalars(sa.select(OutboxMail.key).where(OutboxMail.recipient != "")).all()
    db.session.commit()
    return {message_id(key) for key in keys}


def _read(query):
    try:
        return db.session.execute(query).all()
    finally:
        db.session.commit()


def _assert_all_sent_once(smtp, expected, *, repeats_allowed=0):
    counts = received(smtp)
    repeated = {mid: n for mid, n in counts.items() if n > 1}
    assert sum(n - 1 for n in repeated.values()) <= repeats_allowed, f"sent again: {repeated}"
    assert set(counts) == expected, f"lost: {len(expected - set(counts))}, unknown: {len(set(counts) - expected)}"
    db.session.expire_all()
    rows = _read(sa.select(OutboxMail.status, OutboxMail.claimed_by))
    assert {status for status, _by in rows} == {"sent"} and not any(by for _s, by in rows)


def _held_by(worker):
    """The pending mails whose claim names the worker process (host:pid:drain)."""
    return _read(sa.select(OutboxMail.id).where(OutboxMail.status == "pending",
                                                OutboxMail.claimed_by.like(f"%:{worker.pid}:%")))


def _run_out_claims_of(dead):
    """Assert the dead worker's claims run out within CLAIM_LEASE of now; then move them CLAIM_LEASE back, as
    that much time passing would: due at once for the next worker, exactly as after the lease's wait."""
    claims = _read(sa.select(OutboxMail.id, OutboxMail.next_attempt_at).where(
        OutboxMail.status == "pending", OutboxMail.claimed_by.like(f"%:{dead.pid}:%")))
    latest = utcnow() + outbox.CLAIM_LEASE + timedelta(seconds=1)
    assert claims and all(at <= latest for _id, at in claims), "the dead worker's claims outlast CLAIM_LEASE"
    db.session.execute(sa.update(OutboxMail), [{"id": mail_id, "next_attempt_at": at - outbox.CLAIM_LEASE}
                                               for mail_id, at in claims])
    db.session.commit()


def _take_back_and_deliver(dead, database_url, smtp, tmp_path, expected=None):
    """Run out the dead worker's claims (`_run_out_claims_of`); start a new worker; assert it takes them back
    within a minute, and wait for every invite (expected, or the outbox's once taken back); stop it and
    return expected."""
    _run_out_claims_of(dead)
    second = start_worker(database_url, smtp, tmp_path, SMTP_CONNECTIONS=CONNECTIONS)
    try:
        wait_for(lambda: not _held_by(dead), TAKE_BACK_SECONDS, "the dead worker's claims were not taken back")
        if expected is None:  # the invites of a change record: once it is expanded
            wait_for(lambda: not _read(sa.select(OutboxMail.id).where(OutboxMail.recipient == "")), DRAIN_SECONDS,
                     "the change record was not expanded")
            expected = _expected()
        wait_for(lambda: all_in(smtp, expected), DRAIN_SECONDS,
                 f"{len(expected - set(received(smtp)))} invites not delivered")
    finally:
        stop([second])  # once it has exited, nothing more can arrive
    return expected


def _kill(worker):
    worker.kill()  # SIGKILL: no handler runs, nothing is recorded on the way out
    worker.wait(timeout=60)


@pytest.mark.parametrize("moment", ["every-connection-waiting", "any"])
@pytest.mark.long
def test_a_worker_killed_mid_batch_sends_nothing_twice_and_loses_nothing(app, database_url, gate, many_sites, book,
                                                                        tmp_path, moment):
    """kill -9 after 150 of 400 invites, inside the first batch of 200; a new worker sends the other 250.

    every-connection-waiting: the server holds a mail on each of the worker's
    two connections (accepted nothing of them), so every mail it accepted has
    been answered and recorded by the rule "no connection's next mail before
    its last acceptance is recorded": 0 sent twice. any: the kill lands where
    it lands once 150 are in; the contract's window (one mail per connection
    accepted in the instant before its record) allows at most 2 repeats.
    """
    expected = _book(book, many_sites(400))
    assert len(expected) == 400
    if moment == "every-connection-waiting":
        gate.handler.after = 150
    first = start_worker(database_url, gate, tmp_path, SMTP_CONNECTIONS=CONNECTIONS)
    try:
        if moment == "every-connection-waiting":
            wait_for(lambda: gate.handler.held == CONNECTIONS, START_SECONDS, "the worker did not reach mail 150")
        else:
            wait_for(lambda: len(gate.messages) >= 150, START_SECONDS, "the worker did not reach mail 150")
    finally:
        _kill(first)
    assert len(gate.messages) < 400 and _held_by(first)  # killed mid-batch, holding mails
    gate.handler.open()
    _take_back_and_deliver(first, database_url, gate, tmp_path, expected)
    _assert_all_sent_once(gate, expected, repeats_allowed=0 if moment == "every-connection-waiting" else CONNECTIONS)


def _record_claimed():
    return _read(sa.select(OutboxMail.claimed_by).where(OutboxMail.recipient == "", OutboxMail.claimed_by.is_not(None)))


def _waits_on_a_lock(name):
    """Tell whether a connection of the worker named `name` waits on a lock (PostgreSQL)."""
    return _read(sa.text("SELECT pid FROM pg_stat_activity WHERE application_name = :name"
                         " AND wait_event_type = 'Lock'").bindparams(name=name))


@pytest.mark.long
def test_a_change_record_claimed_by_a_killed_worker_is_taken_back(app, database_url, smtp, many_sites, book,
                                                                  tmp_path):
    """A national booking's one change record, claimed by a worker killed before its expansion committed:
    another worker expands it and delivers every invite once, within a minute, not after the claim's minutes.

    PostgreSQL: the test holds the meetings table, so the worker's expansion waits (after its claim
    committed) until it is killed. SQLite cannot hold back a reader: the kill comes the moment the
    claim is seen (looked for every 5 ms), inside the expansion of 500 sites, tried again with a new booking should the
    worker have finished first.
    """
    app.config["OUTBOX_FANOUT_SITES"] = 100
    postgres = database_url.startswith("postgresql")
    sites = many_sites(300 if postgres else 500)
    for attempt in range(1 if postgres else 3):
        _book(book, sites, day=attempt)
        holder = None
        if postgres:
            holder = sa.create_engine(database_url).connect()
            holder.exec_driver_sql("BEGIN")
            holder.exec_driver_sql("LOCK TABLE meetings IN ACCESS EXCLUSIVE MODE")
        worker = start_worker(database_url, smtp, tmp_path, SMTP_CONNECTIONS=CONNECTIONS)
        try:
            wait_for(_record_claimed, START_SECONDS, "the worker did not claim the change record", every=0.005)
            if postgres:
                wait_for(lambda: _waits_on_a_lock(worker.name), START_SECONDS, "the expansion did not wait")
        finally:
            _kill(worker)
            if holder is not None:
                holder.rollback()
                holder.close()
        if _record_claimed():
            break  # killed holding the record
    else:
        pytest.fail("the worker expanded the record before every kill: the case was not reached")
    expected = _take_back_and_deliver(worker, database_url, smtp, tmp_path)
    assert not _record_claimed() and len(expected) >= 300
    _assert_all_sent_once(smtp, expected)


def _stale_claims():
    """Pending mails whose claim ran out more than STALE ago and that no worker has taken back."""
    return _read(sa.select(OutboxMail.id).where(OutboxMail.status == "pending", OutboxMail.claimed_by.is_not(None),
                                                OutboxMail.next_attempt_at < utcnow() - STALE))


@pytest.mark.long
def test_postgresql_connections_cut_mid_delivery_leave_nothing_claimed(app, database_url, smtp, many_sites, book,
                                                                       tmp_path):
    """Six rounds of pg_terminate_backend on every connection of a delivering worker: it reconnects and goes
    on; what it held is given back or kept under a lease it renews, never left claimed for minutes; every
    invite arrives once."""
    if not database_url.startswith("postgresql"):
        pytest.skip("pg_terminate_backend is PostgreSQL's")
    expected = _book(book, many_sites(600))
    worker = start_worker(database_url, smtp, tmp_path, SMTP_CONNECTIONS=CONNECTIONS)
    cut = 0
    try:
        for round_ in range(1, 7):
            wait_for(lambda: len(smtp.messages) >= 60 * round_, START_SECONDS, f"round {round_} not reached")
            cut += db.session.execute(sa.text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = :name"),
                {"name": worker.name}).scalar()
            db.session.commit()
        assert len(smtp.messages) < len(expected)  # cut mid-delivery

        def delivered():
            assert not _stale_claims(), "mails left claimed after their lease ran out"
            return all_in(smtp, expected)

        wait_for(delivered, DRAIN_SECONDS, f"{len(expected - set(received(smtp)))} invites not delivered")
        assert worker.poll() is None, worker.log.read_text()  # it lived through every cut
    finally:
        stop([worker])
    assert cut >= 6
    _assert_all_sent_once(smtp, expected)
