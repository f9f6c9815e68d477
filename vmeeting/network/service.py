"""Network operations rules: the sweep of every site, its state, its alarms, and incidents.

Every entry point (worker, page, API) calls these. They flush and raise; the
caller commits — except `sweep`, which must not hold a transaction open while
it waits on the network and so commits around the probes itself.

A site's state (the model of Cisco TMS / Poly RPRM): `unknown` until it has
answered or failed NETWORK_DOWN_AFTER sweeps in a row, then `up` while it
answers and `down` once it has failed that many sweeps in a row. Going down
from `up`, and coming back up from that, each queue one mail per recipient
through the outbox, keyed by the state change's history row, in the
transaction that records the change: a rerun, a restart or a second worker
finds the change made and queues nothing again. A site never seen up that
turns out down (a new site, a first deployment, the demo's made-up
addresses) is shown down and warned of when booked, but raises no alarm:
nothing went down, and a first sweep must not flood the technicians.
"""

import logging
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from types import SimpleNamespace

import sqlalchemy as sa
from flask_babel import gettext
from flask import current_app
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import selectinload
from werkzeug.exceptions import Forbidden

from vmeeting import probes  # the sweep engine, shared with readiness (DESIGN.md)
from vmeeting.auth.models import User
from vmeeting.core.database import one_of, utcnow, write_intent
from vmeeting.core.errors import Conflict, ValidationError
from vmeeting.core.extensions import db
from vmeeting.network.models import INCIDENT_SOURCES, SEVERITIES, Incident, NetworkEvent, NetworkState
from vmeeting.outbox import service as outbox
from vmeeting.registry.models import AdminUnit, Endpoint
from vmeeting.registry.service import descendant_ids_select
from vmeeting.core.text import N_, clean, say
from vmeeting.core.timefmt import format_datetime, local_to_utc, to_local

log = logging.getLogger(__name__)

#: the words for states, severities and sources: Vietnamese in mail, through the catalogue on the pages
STATE_LABELS = {"up": N_("Hoạt động"), "down": N_("Mất kết nối"), "unknown": N_("Chưa rõ")}
SEVERITY_LABELS = {"minor": N_("Nhẹ"), "major": N_("Nặng"), "critical": N_("Nghiêm trọng")}
SOURCE_LABELS = {"manual": N_("Báo thủ công"), "network": N_("Giám sát mạng"), "readiness": N_("Kiểm tra trước họp")}
#: roles that may open and resolve incidents of any site; technicians only for the sites assigned to them
INCIDENT_ANY_ROLES = frozenset({"admin", "scheduler"})
TITLE_MAX = 200
TEXT_MAX = 4000
DOWN_INCIDENT_TITLE = "Mất kết nối mạng"
READINESS_INCIDENT_TITLE = "Sự cố khi kiểm tra trước họp"


# -- the sweep ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class SweepSummary:
    """What one sweep did: sites probed, and how many went down or came back."""

    probed: int
    went_down: int
    came_up: int


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
    targets, unprobed = sweep_targets()
    db.session.commit()
    config = current_app.config
    results = probes.probe_many(targets, timeout=config["PROBE_TIMEOUT_SECONDS"],
                                max_streams=config["PROBE_MAX_STREAMS"], allow_loopback=config["PROBE_ALLOW_LOOPBACK"])
    return record_sweep(results, unprobed, now=now)


#: the row of a site never swept before, for _next_state and record_sweep
_NEVER_SWEPT = SimpleNamespace(state="unknown", failures=0, since=None, rtt_ms=None, last_seen_at=None)


def _next_state(row, result, down_after):
    """Return (state, failures) after one probe result, from the row's state and failures."""
    if result.reachable:
        return "up", 0
    failures = row.failures + 1
    if failures >= down_after:
        return "down", failures
    return row.state, failures


def record_sweep(results, unprobed=(), now=None):
    """Write a sweep's results: states, their changes, alarms and automatic incidents, pruning; commit.

    results: [ProbeResult]; unprobed: ids of active sites that cannot be probed
    (method `none` or no address), whose state becomes `unknown`. Runs under
    the write lock (SQLite) and with the state rows locked (PostgreSQL), so two
    sweeps recording at once see each other's changes and alarm once.
    """
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
        prune_history(now)
        db.session.commit()
    finally:
        write_intent.reset(token)
    kinds = Counter((previous, state) for _i, previous, state, _e in changes)
    went_down = sum(n for (_p, s), n in kinds.items() if s == "down")
    came_up = kinds[("down", "up")]
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
            _open_network_incident(endpoint, event, now)
        else:
            _resolve_network_incidents(endpoint.id, now)


def _went_down_from_up(event):
    """Tell whether the site's stay in `down` that `event` ends began by going down from `up` (and so alarmed)."""
    entered = db.session.scalar(sa.select(NetworkEvent.previous).where(
        NetworkEvent.endpoint_id == event.endpoint_id, NetworkEvent.state == "down", NetworkEvent.id < event.id)
        .order_by(NetworkEvent.id.desc()).limit(1))
    return entered == "up"


def alarm_recipients(endpoint):
    """Return [(email, name)]: the site's technician (if enabled) and NETWORK_ALERT_EMAILS, each once."""
    people = {}
    technician = endpoint.technician
    if technician is not None and technician.email and technician.is_enabled:
        people.setdefault(technician.email.lower(), technician.display_name)
    for address in current_app.config["NETWORK_ALERT_EMAILS"]:
        people.setdefault(address.lower(), "")
    return list(people.items())


def alarm_mails(endpoint, event):
    """Return the alarm mails [{key, recipient, name, subject, text}] of a site's state change."""
    down = event.state == "down"
    district = endpoint.unit.parent if endpoint.unit.level == "commune" and endpoint.unit.parent else endpoint.unit
    when = format_datetime(event.occurred_at)
    if down:
        subject = f"[Mất kết nối] {endpoint.name} ({district.name})"
        lines = [f"Điểm cầu «{endpoint.name}» ({endpoint.code}, {district.name}) không trả lời "
                 f"từ {when}.", f"Lỗi: {event.error or 'không rõ'}."]
    else:
        subject = f"[Đã kết nối lại] {endpoint.name} ({district.name})"
        lines = [f"Điểm cầu «{endpoint.name}» ({endpoint.code}, {district.name}) đã trả lời trở lại lúc {when}."]
    if endpoint.address:
        lines.append(f"Địa chỉ: {endpoint.address}.")
    if endpoint.contact_name or endpoint.contact_phone:
        lines.append("Liên hệ: " + ", ".join(p for p in (endpoint.contact_name, endpoint.contact_phone) if p) + ".")
    base = current_app.config["BASE_URL"].rstrip("/")
    lines += ["", f"Bảng theo dõi mạng: {base}/network", "",
              "Thư này do hệ thống vmeeting gửi tự động, một lần cho mỗi lần thay đổi trạng thái."]
    text = "\n".join(lines) + "\n"
    kind = "down" if down else "up"
    return [{"key": f"network-{kind}:{endpoint.id}:{event.id}:{email}", "recipient": email, "name": name,
             "subject": subject, "text": text} for email, name in alarm_recipients(endpoint)]


def _open_network_incident(endpoint, event, now):
    exists = db.session.scalar(sa.select(Incident.id).where(
        Incident.endpoint_id == endpoint.id, Incident.status == "open", Incident.source == "network"))
    if exists is None:
        db.session.add(Incident(endpoint_id=endpoint.id, title=DOWN_INCIDENT_TITLE, severity="major",
                                status="open", source="network", opened_at=now,
                                note=f"Điểm cầu không trả lời {current_app.config['NETWORK_DOWN_AFTER']} lần "
                                     f"kiểm tra liên tiếp. Lỗi: {event.error or 'không rõ'}."))


def _resolve_network_incidents(endpoint_id, now):
    db.session.execute(sa.update(Incident).where(
        Incident.endpoint_id == endpoint_id, Incident.status == "open", Incident.source == "network"
    ).values(status="resolved", resolved_at=now, resolution="Điểm cầu đã kết nối trở lại (tự động)."))


def prune_history(now=None):
    """Delete the state changes older than NETWORK_HISTORY_DAYS; return how many."""
    cutoff = (now or utcnow()) - timedelta(days=current_app.config["NETWORK_HISTORY_DAYS"])
    return db.session.execute(sa.delete(NetworkEvent).where(NetworkEvent.occurred_at < cutoff)).rowcount


# -- reading the state -------------------------------------------------------------------------


def state_json(endpoint_id, row):
    """Return one site's state as the API shows it (CONTRACT.md `GET /network`)."""
    if row is None:
        return {"endpoint_id": endpoint_id, "state": "unknown", "since": None, "last_checked_at": None,
                "last_seen_at": None, "rtt_ms": None, "error": None}
    return {"endpoint_id": endpoint_id, "state": row.state, "since": row.since.isoformat(),
            "last_checked_at": row.last_checked_at.isoformat() if row.last_checked_at else None,
            "last_seen_at": row.last_seen_at.isoformat() if row.last_seen_at else None,
            "rtt_ms": row.rtt_ms, "error": row.error}


def network_select(unit_id=None):
    """Select (Endpoint, NetworkState or None) of every active site, in registry order; `unit_id` narrows."""
    query = (sa.select(Endpoint, NetworkState).outerjoin(NetworkState, NetworkState.endpoint_id == Endpoint.id)
             .where(Endpoint.status == "active").order_by(Endpoint.name_sort_key, Endpoint.id))
    if unit_id is not None:
        query = query.where(Endpoint.unit_id.in_(descendant_ids_select(unit_id)))
    return query


def summary(unit_id=None):
    """Return {up, down, unknown}: how many active sites are in each state."""
    state = sa.func.coalesce(NetworkState.state, "unknown")
    query = (sa.select(state, sa.func.count()).select_from(Endpoint)
             .outerjoin(NetworkState, NetworkState.endpoint_id == Endpoint.id)
             .where(Endpoint.status == "active").group_by(state))
    if unit_id is not None:
        query = query.where(Endpoint.unit_id.in_(descendant_ids_select(unit_id)))
    counts = {"up": 0, "down": 0, "unknown": 0}
    counts.update(dict(db.session.execute(query).all()))
    return counts


def state_of(endpoint_id):
    """Return the site's NetworkState row, or None if it was never swept."""
    return db.session.get(NetworkState, endpoint_id)


#: the most sites the board draws as cells; past it (the country) it counts them by province first
BOARD_CELLS = 2000


def board(unit_id=None):
    """Return the network board: [(district, [(endpoint, state)])] in registry order, and the summary.

    Communes are shown under their district; the province's own sites under the province.
    unit_id narrows to a unit and below (a province of the country's board, `provinces`).
    """
    rows = db.session.execute(network_select(unit_id).options(
        selectinload(Endpoint.unit).selectinload(AdminUnit.parent))).all()
    groups, order = {}, []
    for endpoint, row in rows:
        unit = endpoint.unit
        head = unit.parent if unit.level == "commune" and unit.parent is not None else unit
        if head.id not in groups:
            groups[head.id] = (head, [])
            order.append(head.id)
        groups[head.id][1].append((endpoint, row))
    level = {"province": 0, "district": 1, "commune": 2}
    order.sort(key=lambda i: (level.get(groups[i][0].level, 3), groups[i][0].position, groups[i][0].id))
    return [groups[i] for i in order], summary(unit_id)


def active_site_count():
    """Return how many sites the network watches (active endpoints)."""
    return db.session.scalar(sa.select(sa.func.count()).select_from(Endpoint).where(Endpoint.status == "active"))


def provinces():
    """Return [(province unit, {up, down, unknown, total})] of the active sites, in official order: one query.

    The country's board: 10,000 cells are too many to draw (or to read), so it
    shows each province's counts, each a link to that province's own board.
    A site's province is its unit's, its district's or its commune's
    grandparent's (a tree of at most three levels, DOMAIN.md).
    """
    unit, parent, grandparent = (sa.orm.aliased(AdminUnit) for _ in range(3))
    province_id = sa.case((unit.level == "province", unit.id), (parent.level == "province", parent.id),
                          else_=grandparent.id).label("province_id")
    state = sa.func.coalesce(NetworkState.state, "unknown").label("state")
    rows = db.session.execute(
        sa.select(province_id, state, sa.func.count())
        .select_from(Endpoint).join(unit, unit.id == Endpoint.unit_id)
        .outerjoin(parent, parent.id == unit.parent_id).outerjoin(grandparent, grandparent.id == parent.parent_id)
        .outerjoin(NetworkState, NetworkState.endpoint_id == Endpoint.id)
        .where(Endpoint.status == "active").group_by(province_id, state)).all()
    counts = {}
    for pid, site_state, count in rows:
        entry = counts.setdefault(pid, {"up": 0, "down": 0, "unknown": 0, "total": 0})
        entry[site_state] += count
        entry["total"] += count
    units = db.session.scalars(sa.select(AdminUnit).where(one_of(AdminUnit.id, [i for i in counts if i],
                                                                 db.session.get_bind()))
                               .order_by(AdminUnit.position, AdminUnit.id)).all()
    return [(u, counts[u.id]) for u in units]


def _state_changes(endpoint_id, start):
    """Return (the site's state at `start`, or None; its changes after `start` as (occurred_at, state), oldest first)."""
    before = db.session.scalar(sa.select(NetworkEvent.state).where(
        NetworkEvent.endpoint_id == endpoint_id, NetworkEvent.occurred_at <= start)
        .order_by(NetworkEvent.occurred_at.desc(), NetworkEvent.id.desc()).limit(1))
    events = db.session.execute(sa.select(NetworkEvent.occurred_at, NetworkEvent.state).where(
        NetworkEvent.endpoint_id == endpoint_id, NetworkEvent.occurred_at > start)
        .order_by(NetworkEvent.occurred_at, NetworkEvent.id)).all()
    return before, events


def availability(endpoint_id, days, now=None):
    """Return the share (0..1) of the last `days` days the site was up, from its state changes, or None.

    Time in `unknown` (before the first sweep, or unprobed) is left out of the
    count; None when the site was never known up or down in the period.
    """
    now = now or utcnow()
    start = now - timedelta(days=days)
    before, events = _state_changes(endpoint_id, start)
    spans = Counter()
    state, at = before or "unknown", start
    for occurred_at, new_state in events:
        spans[state] += (occurred_at - at).total_seconds()
        state, at = new_state, occurred_at
    spans[state] += (now - at).total_seconds()
    known = spans["up"] + spans["down"]
    return spans["up"] / known if known > 0 else None


def daily_availability(endpoint_id, days, now=None):
    """Return [(local date, share up 0..1 or None)] for each of the last `days` local days, oldest first.

    The same count as `availability`, day by day, from one read of the state changes.
    """
    now = now or utcnow()
    today = to_local(now).date()
    first_day = today - timedelta(days=days - 1)
    start = local_to_utc(datetime.combine(first_day, time.min))
    before, events = _state_changes(endpoint_id, start)
    result = []
    state, index = before or "unknown", 0
    for n in range(days):
        day = first_day + timedelta(days=n)
        day_start = local_to_utc(datetime.combine(day, time.min))
        day_end = min(local_to_utc(datetime.combine(day + timedelta(days=1), time.min)), now)
        spans, at = Counter(), day_start
        while index < len(events) and events[index].occurred_at < day_end:
            spans[state] += (events[index].occurred_at - at).total_seconds()
            state, at = events[index].state, events[index].occurred_at
            index += 1
        spans[state] += max((day_end - at).total_seconds(), 0)
        known = spans["up"] + spans["down"]
        result.append((day, spans["up"] / known if known > 0 else None))
    return result


def history(endpoint_id, limit=20):
    """Return the site's latest state changes, newest first."""
    return db.session.scalars(sa.select(NetworkEvent).where(NetworkEvent.endpoint_id == endpoint_id)
                              .order_by(NetworkEvent.occurred_at.desc(), NetworkEvent.id.desc()).limit(limit)).all()


# -- booking warnings --------------------------------------------------------------------------


def state_warnings(endpoint_ids):
    """Return [{endpoint_id, kind, message}] for sites down (`down`) or with an open incident (`incident`).

    Registered with booking as a warning source (CONTRACT.md: warnings never stop a booking).
    """
    ids = sorted(set(endpoint_ids))
    if not ids:
        return []
    warnings = []
    names = {}
    down = []
    open_incidents = []
    # two queries whatever the number of sites (a national booking names 10,000): the ids go as one parameter
    bind = db.session.get_bind()
    down += db.session.execute(sa.select(Endpoint.id, Endpoint.name, NetworkState.since)
                               .join(NetworkState, NetworkState.endpoint_id == Endpoint.id)
                               .where(one_of(NetworkState.endpoint_id, ids, bind), NetworkState.state == "down")).all()
    open_incidents += db.session.execute(
        sa.select(Incident.endpoint_id, Endpoint.name, Incident.title, Incident.severity)
        .join(Endpoint, Endpoint.id == Incident.endpoint_id)
        .where(one_of(Incident.endpoint_id, ids, bind), Incident.status == "open")
        .order_by(Incident.endpoint_id, Incident.opened_at)).all()
    for endpoint_id, name, since in down:
        names[endpoint_id] = name
        warnings.append({"endpoint_id": endpoint_id, "kind": "down",
                         # in the page's language (Vietnamese outside a request: jobs, the API)
                         "message": gettext("%(name)s: mất kết nối từ %(since)s.", name=name,
                                            since=format_datetime(since))})
    for endpoint_id, name, title, severity in open_incidents:
        warnings.append({"endpoint_id": endpoint_id, "kind": "incident",
                         "message": gettext("%(name)s: đang có sự cố (%(severity)s): %(title)s.", name=name,
                                            severity=gettext(SEVERITY_LABELS[severity]).lower(), title=title)})
    warnings.sort(key=lambda w: (w["endpoint_id"], w["kind"] != "down"))
    return warnings



def incident_from_report(endpoint, user, note, source, now):
    """Open an incident for a problem someone reported (a technician's «Có sự cố»), unless one is open at the site.

    Registered with booking as a site-issue listener; runs in the report's transaction.
    """
    exists = db.session.scalar(sa.select(Incident.id).where(Incident.endpoint_id == endpoint.id,
                                                            Incident.status == "open").limit(1))
    if exists is None:
        title = clean(note)[:TITLE_MAX] if note and clean(note) else READINESS_INCIDENT_TITLE
        db.session.add(Incident(endpoint_id=endpoint.id, title=title, severity="major", status="open",
                                source=source, note=note or "", opened_at=now, opened_by_id=user.id))
        db.session.flush()



def sweep_roll_call_hints(occurrence, endpoint_ids):
    """Return {endpoint_id: (status, reason, at)} from sweeps since the sitting's set-up window began.

    Registered with booking for the roll-call's prefill: a site down was likely absent, one up present.
    """
    start = occurrence.starts_at - timedelta(minutes=occurrence.meeting.setup_minutes or 0)
    rows = db.session.scalars(sa.select(NetworkState).where(NetworkState.endpoint_id.in_(list(endpoint_ids)),
                                                            NetworkState.last_checked_at >= start)).all()
    return {row.endpoint_id: ("absent", "Mất kết nối", row.last_checked_at) if row.state == "down"
            else ("present", "", row.last_checked_at) for row in rows if row.state in ("up", "down")}



# -- incidents ---------------------------------------------------------------------------------


class NotAllowed(Forbidden):
    """The user may not open or resolve an incident of this site (a technician, for another's site)."""


def may_handle(user, endpoint):
    """Tell whether user may open or resolve incidents of the site (a technician only of their own)."""
    if user.role in INCIDENT_ANY_ROLES:
        return user.can("incidents.open")
    return user.can("incidents.open") and endpoint.technician_id == user.id


def require_handle(user, endpoint):
    if not may_handle(user, endpoint):
        raise NotAllowed("Bạn chỉ được báo sự cố cho điểm cầu được giao cho mình.")


def validate_incident(data):
    """Return the cleaned {endpoint_id, title, severity, note} of a new incident; raise ValidationError."""
    if not isinstance(data, dict):
        raise ValidationError({"body": N_("Cần một đối tượng JSON.")})
    errors, fields = {}, {}
    endpoint_id = data.get("endpoint_id")
    if isinstance(endpoint_id, bool) or not isinstance(endpoint_id, int) or not 0 < endpoint_id < 2**31:
        errors["endpoint_id"] = N_("Chọn một điểm cầu.")
    else:
        endpoint = db.session.get(Endpoint, endpoint_id)
        if endpoint is None:
            errors["endpoint_id"] = N_("Không có điểm cầu này.")
        elif endpoint.status == "retired":
            errors["endpoint_id"] = N_("Điểm cầu đã ngừng sử dụng.")
        fields["endpoint"] = endpoint
    title = data.get("title")
    if not isinstance(title, str) or not clean(title):
        errors["title"] = N_("Nhập tiêu đề sự cố.")
    elif len(clean(title)) > TITLE_MAX:
        errors["title"] = say("Tiêu đề dài tối đa %(max)s ký tự.", max=TITLE_MAX)
    else:
        fields["title"] = clean(title)
    severity = data.get("severity", "major")
    if severity not in SEVERITIES:
        errors["severity"] = N_("Mức độ phải là minor, major hoặc critical.")
    else:
        fields["severity"] = severity
    note = data.get("note", "")
    if note is None:
        note = ""
    if not isinstance(note, str) or len(note) > TEXT_MAX:
        errors["note"] = say("Ghi chú là văn bản dài tối đa %(max)s ký tự.", max=TEXT_MAX)
    else:
        fields["note"] = note.strip()
    if errors:
        raise ValidationError(errors)
    return fields


def open_incident(user, data, source="manual", now=None):
    """Open an incident from validated-or-raw data; a technician only for their own site; flush; return it.

    Raises ValidationError (bad fields), NotAllowed (403).
    """
    fields = validate_incident(data)
    if source not in INCIDENT_SOURCES:
        raise ValueError(source)
    endpoint = fields["endpoint"]
    require_handle(user, endpoint)
    incident = Incident(endpoint_id=endpoint.id, title=fields["title"], severity=fields["severity"],
                        note=fields["note"], source=source, status="open", opened_at=now or utcnow(),
                        opened_by_id=user.id)
    db.session.add(incident)
    db.session.flush()
    return incident


def resolve_incident(incident, user, resolution, now=None):
    """Resolve an open incident with what was done; flush. ValidationError, NotAllowed, Conflict (already)."""
    require_handle(user, incident.endpoint)
    if not isinstance(resolution, str) or not resolution.strip():
        raise ValidationError({"resolution": N_("Ghi rõ đã khắc phục thế nào.")})
    if len(resolution) > TEXT_MAX:
        raise ValidationError({"resolution": say("Nội dung dài tối đa %(max)s ký tự.", max=TEXT_MAX)})
    if not incident.is_open:
        raise Conflict(N_("Sự cố đã được xử lý xong."))
    incident.status, incident.resolved_at = "resolved", now or utcnow()
    incident.resolved_by_id, incident.resolution = user.id, resolution.strip()
    db.session.flush()
    return incident


def incidents_select(*, open_only=False, endpoint_id=None, unit_id=None):
    """Select incidents, newest first; filters as CONTRACT.md `GET /incidents`."""
    query = sa.select(Incident).order_by(Incident.opened_at.desc(), Incident.id.desc())
    if open_only:
        query = query.where(Incident.status == "open")
    if endpoint_id is not None:
        query = query.where(Incident.endpoint_id == endpoint_id)
    if unit_id is not None:
        query = query.join(Endpoint, Endpoint.id == Incident.endpoint_id).where(
            Endpoint.unit_id.in_(descendant_ids_select(unit_id)))
    return query


def incident_json(incident):
    """Return an incident as the API shows it."""
    return {"id": incident.id, "endpoint_id": incident.endpoint_id, "title": incident.title,
            "severity": incident.severity, "status": incident.status, "source": incident.source,
            "note": incident.note, "opened_at": incident.opened_at.isoformat(),
            "opened_by": incident.opened_by_id,
            "resolved_at": incident.resolved_at.isoformat() if incident.resolved_at else None,
            "resolved_by": incident.resolved_by_id, "resolution": incident.resolution or None}


def handleable_endpoints(user):
    """Select the active or maintenance sites user may open incidents for, in registry order."""
    query = sa.select(Endpoint).where(Endpoint.status != "retired").order_by(Endpoint.name_sort_key, Endpoint.id)
    if user.role not in INCIDENT_ANY_ROLES:
        query = query.where(Endpoint.technician_id == user.id)
    return query


def incident_report(window_from, window_to):
    """Per district: incidents opened in [window_from, window_to), how many are resolved, still open, and time to resolve.

    Returns [{district_id, district, opened, resolved, open, median_hours, mean_hours}] in registry
    order; the hours are over the resolved ones (None when none is).
    """
    rows = db.session.execute(
        sa.select(Incident.opened_at, Incident.resolved_at, Incident.status, Endpoint.unit_id)
        .join(Endpoint, Endpoint.id == Incident.endpoint_id)
        .where(Incident.opened_at >= window_from, Incident.opened_at < window_to)).all()
    units = {u.id: u for u in db.session.scalars(
        sa.select(AdminUnit).where(AdminUnit.id.in_({r.unit_id for r in rows}))
        .options(selectinload(AdminUnit.parent)))} if rows else {}
    groups = {}
    for row in rows:
        unit = units[row.unit_id]
        head = unit.parent if unit.level == "commune" and unit.parent is not None else unit
        group = groups.setdefault(head.id, {"head": head, "opened": 0, "resolved": 0, "open": 0, "hours": []})
        group["opened"] += 1
        if row.status == "resolved" and row.resolved_at is not None:
            group["resolved"] += 1
            group["hours"].append((row.resolved_at - row.opened_at).total_seconds() / 3600)
        else:
            group["open"] += 1
    level = {"province": 0, "district": 1, "commune": 2}
    result = []
    for group in sorted(groups.values(), key=lambda g: (level.get(g["head"].level, 3), g["head"].position,
                                                         g["head"].id)):
        hours = sorted(group["hours"])
        median = None
        if hours:
            middle = len(hours) // 2
            median = hours[middle] if len(hours) % 2 else (hours[middle - 1] + hours[middle]) / 2
        result.append({"district_id": group["head"].id, "district": group["head"].name, "opened": group["opened"],
                       "resolved": group["resolved"], "open": group["open"],
                       "median_hours": None if median is None else round(median, 1),
                       "mean_hours": round(sum(hours) / len(hours), 1) if hours else None})
    return result


def users_by_id(ids):
    ids = {i for i in ids if i}
    return {u.id: u for u in db.session.scalars(sa.select(User).where(User.id.in_(ids)))} if ids else {}
