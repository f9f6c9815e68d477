"""The sweep of every site: reading the targets, calling the probes, writing the results.

Writing a sweep's results applies the state rule (`network.state`) to each
site, keeps each change in the history, queues its alarms through the outbox
and opens or closes the site's automatic incident (`network.incidents`), all
in the transaction that records the change. `sweep` must not hold a
transaction open while it waits on the network, and so commits around the
probes itself.
"""

import logging
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta
from types import SimpleNamespace

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import selectinload

from vmeeting import probes  # the sweep engine, shared with readiness (DESIGN.md)
from vmeeting.core.database import utcnow, write_intent
from vmeeting.core.extensions import db
from vmeeting.network.incidents import open_network_incident, resolve_network_incidents
from vmeeting.network.models import NetworkEvent, NetworkState, NetworkSweep
from vmeeting.network.state import _next_state, alarm_mails
from vmeeting.outbox import service as outbox
from vmeeting.registry.models import AdminUnit, Endpoint

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SweepSummary:
    """What one sweep did: sites probed, and how many went down or came back."""

    probed: int
    went_down: int
    came_up: int

#: how long the record of each sweep (network_sweeps) is kept
SWEEP_RECORD_DAYS = 7


def sweep_targets():
    """Return ([ProbeTarget] of active sites with a probe and an address, [ids of active sites without])."""
    rows = db.session.execute(
        sa.select(Endpoint.id, Endpoint.probe, Endpoint.sip_uri).where(Endpoint.status == "active")
    ).all()
    targets = [probes.ProbeTarget(i, method, uri) for i, method, uri in rows if method != "none" and uri]
    unprobed = [i for i, method, uri in rows if method == "none" or not uri]
    return targets, unprobed


def sweep(now=None):
    """Probe every active site at once and record the states; commit; return a SweepSummary.

    The targets are read and that transaction ended first, so no lock is held
    while the probes wait (about PROBE_TIMEOUT_SECONDS, however many sites).
    """
    started = utcnow()
    targets, unprobed = sweep_targets()
    db.session.commit()
    config = current_app.config
    results = probes.probe_many(targets, timeout=config["PROBE_TIMEOUT_SECONDS"],
                                max_streams=config["PROBE_MAX_STREAMS"], allow_loopback=config["PROBE_ALLOW_LOOPBACK"])
    return record_sweep(results, unprobed, now=now, started_at=started)


#: the row of a site never swept before, for _next_state and record_sweep
_NEVER_SWEPT = SimpleNamespace(state="unknown", failures=0, since=None, rtt_ms=None, last_seen_at=None)


def record_sweep(results, unprobed=(), now=None, started_at=None):
    """Write a sweep's results: states, their changes, alarms and automatic incidents, the sweep's own
    record (NetworkSweep), pruning; commit.

    results: [ProbeResult]; unprobed: ids of active sites that cannot be probed
    (method `none` or no address), whose state becomes `unknown`; started_at:
    when the sweep began reading its targets (UTC; default: now, as when
    results come from elsewhere). Runs under
    the write lock (SQLite) and with the state rows locked (PostgreSQL), so two
    sweeps recording at once see each other's changes and alarm once.
    """
    given_now = now is not None
    now = now or utcnow()
    down_after = current_app.config["NETWORK_DOWN_AFTER"]
    token = write_intent.set(True)
    try:
        ids = [r.endpoint_id for r in results] + list(unprobed)
        # Read as rows and written in bulk (_update_states): for 10,000 sites, ORM objects and a flush
        # updating them one by one cost more than the sweep's wait for the silent ones.
        rows = {}
        for chunk in _chunks(ids):
            rows.update((row.endpoint_id, row) for row in db.session.execute(
                sa.select(NetworkState.endpoint_id, NetworkState.state, NetworkState.failures, NetworkState.since,
                          NetworkState.rtt_ms, NetworkState.last_seen_at)
                .where(NetworkState.endpoint_id.in_(chunk)).with_for_update()))
        changes = []  # (endpoint_id, previous, state, error)
        new, known = [], []  # rows to insert, rows to update
        for result in results:
            row = rows.get(result.endpoint_id) or _NEVER_SWEPT
            state, failures = _next_state(row, result, down_after)
            since = row.since or now
            if state != row.state:
                changes.append((result.endpoint_id, row.state, state, result.error))
                since = now
            values = {"endpoint_id": result.endpoint_id, "state": state, "since": since, "failures": failures,
                      "last_checked_at": result.checked_at, "method": result.method, "error": result.error,
                      "rtt_ms": result.rtt_ms if result.reachable else row.rtt_ms,
                      "last_seen_at": result.checked_at if result.reachable else row.last_seen_at}
            (new if row is _NEVER_SWEPT else known).append(values)
        forgotten = []
        for endpoint_id in unprobed:
            row = rows.get(endpoint_id)
            if row is not None and row.state != "unknown":
                changes.append((endpoint_id, row.state, "unknown", None))
                forgotten.append({"endpoint_id": endpoint_id, "state": "unknown", "since": now, "failures": 0,
                                  "error": None})
        if new:  # a sweep recording at the same time that inserted them first makes this one fail, as it should
            db.session.execute(sa.insert(NetworkState.__table__), new)
        _update_states(known)
        _update_states(forgotten)
        _record_changes(changes, now)
        kinds = Counter((previous, state) for _i, previous, state, _e in changes)
        went_down = sum(n for (_p, s), n in kinds.items() if s == "down")
        came_up = kinds[("down", "up")]
        # on the real clock the record spans the probes' wait; a given `now` (a replayed or simulated sweep) is both ends
        finished = now if given_now else utcnow()
        db.session.add(NetworkSweep(started_at=started_at if started_at and not given_now else finished,
                                    finished_at=finished,
                                    probed=len(results), unprobed=len(unprobed),
                                    answered=sum(1 for r in results if r.reachable),
                                    went_down=went_down, came_up=came_up))
        prune_history(now)
        db.session.commit()
    finally:
        write_intent.reset(token)
    if went_down or came_up:
        log.info("network sweep: %d sites probed, %d went down, %d came back", len(results), went_down, came_up)
    return SweepSummary(len(results), went_down, came_up)


def _update_states(states):
    """Update the sites' network_states rows: one statement, executed for every row at once.

    states: [{column: value}], every dict with the same keys, the primary key included. Written as an
    upsert of rows that exist (and are locked) because an UPDATE cannot take its key from the row's own
    values under the same name.
    """
    if not states:
        return
    insert = pg_insert if db.session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = insert(NetworkState.__table__)
    db.session.execute(statement.on_conflict_do_update(
        index_elements=[NetworkState.endpoint_id],
        set_={column: statement.excluded[column] for column in states[0] if column != "endpoint_id"}), states)


def _chunks(ids, size=500):
    for start in range(0, len(ids), size):
        yield ids[start:start + size]


def _record_changes(changes, now):
    """Keep each state change in the history; alarm and open or close incidents for down and back up."""
    if not changes:
        return
    events = []
    for endpoint_id, previous, state, error in changes:
        event = NetworkEvent(endpoint_id=endpoint_id, previous=previous, state=state, occurred_at=now, error=error)
        db.session.add(event)
        events.append(event)
    db.session.flush()
    alarming = [e for e in events if (e.previous, e.state) == ("up", "down")
                or ((e.previous, e.state) == ("down", "up") and _went_down_from_up(e))]
    if not alarming:
        return
    endpoints = {e.id: e for e in db.session.scalars(
        sa.select(Endpoint).where(Endpoint.id.in_({e.endpoint_id for e in alarming}))
        .options(selectinload(Endpoint.technician), selectinload(Endpoint.unit).selectinload(AdminUnit.parent)))}
    for event in alarming:
        endpoint = endpoints[event.endpoint_id]
        for mail in alarm_mails(endpoint, event):
            outbox.enqueue_plain(key=mail["key"], meeting_id=None, recipient=mail["recipient"],
                                 recipient_name=mail["name"], subject=mail["subject"], text=mail["text"])
        if event.state == "down":
            open_network_incident(endpoint, event, now)
        else:
            resolve_network_incidents(endpoint.id, now)


def _went_down_from_up(event):
    """Tell whether the site's stay in `down` that `event` ends began by going down from `up` (and so alarmed)."""
    entered = db.session.scalar(sa.select(NetworkEvent.previous).where(
        NetworkEvent.endpoint_id == event.endpoint_id, NetworkEvent.state == "down", NetworkEvent.id < event.id)
        .order_by(NetworkEvent.id.desc()).limit(1))
    return entered == "up"


def prune_history(now=None):
    """Delete the state changes older than NETWORK_HISTORY_DAYS and the sweeps' records older than
    SWEEP_RECORD_DAYS; return how many state changes."""
    now = now or utcnow()
    db.session.execute(sa.delete(NetworkSweep).where(NetworkSweep.finished_at < now - timedelta(days=SWEEP_RECORD_DAYS)))
    cutoff = now - timedelta(days=current_app.config["NETWORK_HISTORY_DAYS"])
    return db.session.execute(sa.delete(NetworkEvent).where(NetworkEvent.occurred_at < cutoff)).rowcount


def last_sweep():
    """The latest NetworkSweep, or None before the first."""
    return db.session.scalar(sa.select(NetworkSweep).order_by(NetworkSweep.finished_at.desc(), NetworkSweep.id.desc())
                             .limit(1))
