"""A site's network state: the down-after-N rule, the alarms of a change, and reading the states back.

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
The sweep that applies the rule and records the changes is `network.sweep`.
"""

from collections import Counter
from datetime import datetime, time, timedelta

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import selectinload

from vmeeting.core.database import one_of, utcnow
from vmeeting.core.extensions import db
from vmeeting.core.text import N_
from vmeeting.core.timefmt import format_datetime, local_to_utc, to_local
from vmeeting.booking.models import Reservation
from vmeeting.network.models import NetworkEvent, NetworkState
from vmeeting.registry import areas
from vmeeting.registry.models import AdminUnit, Endpoint
from vmeeting.registry.service import descendant_ids_select

#: the words for states: Vietnamese in mail, through the catalogue on the pages
STATE_LABELS = {"up": N_("Hoạt động"), "down": N_("Mất kết nối"), "unknown": N_("Chưa rõ")}


# -- the state rule ----------------------------------------------------------------------------


def _next_state(row, result, down_after):
    """Return (state, failures) after one probe result, from the row's state and failures."""
    if result.reachable:
        return "up", 0
    failures = row.failures + 1
    if failures >= down_after:
        return "down", failures
    return row.state, failures


# -- alarms ------------------------------------------------------------------------------------


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


def _narrowed(query, unit_id=None, occurrence_id=None):
    """Narrow a query of endpoints to a unit and below, and to the sites of a sitting."""
    if unit_id is not None:
        query = query.where(Endpoint.unit_id.in_(descendant_ids_select(unit_id)))
    if occurrence_id is not None:
        query = query.where(Endpoint.id.in_(sa.select(Reservation.endpoint_id)
                                            .where(Reservation.occurrence_id == occurrence_id)))
    return query


def network_select(unit_id=None, occurrence_id=None):
    """Select (Endpoint, NetworkState or None) of every active site, in registry order.

    `unit_id` narrows to a unit and below, `occurrence_id` to the sites of a sitting.
    """
    query = (sa.select(Endpoint, NetworkState).outerjoin(NetworkState, NetworkState.endpoint_id == Endpoint.id)
             .where(Endpoint.status == "active").order_by(Endpoint.name_sort_key, Endpoint.id))
    return _narrowed(query, unit_id, occurrence_id)


def summary(unit_id=None, occurrence_id=None):
    """Return {up, down, unknown}: how many active sites are in each state (narrowed as `network_select`)."""
    state = sa.func.coalesce(NetworkState.state, "unknown")
    query = _narrowed(sa.select(state, sa.func.count()).select_from(Endpoint)
                      .outerjoin(NetworkState, NetworkState.endpoint_id == Endpoint.id)
                      .where(Endpoint.status == "active").group_by(state), unit_id, occurrence_id)
    counts = {"up": 0, "down": 0, "unknown": 0}
    counts.update(dict(db.session.execute(query).all()))
    return counts


def state_of(endpoint_id):
    """Return the site's NetworkState row, or None if it was never swept."""
    return db.session.get(NetworkState, endpoint_id)


#: the most sites the board draws as cells; past it (the country) it counts them by province first
BOARD_CELLS = 2000


def board(unit_id=None, occurrence_id=None):
    """Return the network board: [(district, [(endpoint, state)])] in registry order, and the summary.

    Communes are shown under their district as every page groups them (registry.areas.district_heads: since
    2025 a commune under its former district); the province's own sites under the province.
    unit_id narrows to a unit and below (a province of the country's board, `provinces`),
    occurrence_id to the sites of a sitting.
    """
    rows = db.session.execute(network_select(unit_id, occurrence_id).options(
        selectinload(Endpoint.unit).selectinload(AdminUnit.parent))).all()
    groups, order = {}, []
    heads = areas.district_heads({endpoint.unit for endpoint, _row in rows})
    for endpoint, row in rows:
        head = heads[endpoint.unit_id]
        if head.id not in groups:
            groups[head.id] = (head, [])
            order.append(head.id)
        groups[head.id][1].append((endpoint, row))
    level = {"province": 0, "district": 1, "commune": 2}
    order.sort(key=lambda i: (level.get(groups[i][0].level, 3), groups[i][0].position, groups[i][0].id))
    return [groups[i] for i in order], summary(unit_id, occurrence_id)


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
