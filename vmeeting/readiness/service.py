"""Readiness rules: who may confirm which site, confirming, the board, probing a sitting.

Every entry point (page, API, worker) calls these. They flush and raise; the
caller commits — except `probe_sittings`, which must not hold a transaction
open while it waits on the network and so commits around the probe itself.
"""

from collections import defaultdict

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import selectinload
from werkzeug.exceptions import Forbidden

from vmeeting import probes  # the sweep engine, shared with network (DESIGN.md)
from vmeeting.auth.models import User
from vmeeting.booking import service as booking
from vmeeting.booking.models import Meeting, Occurrence, Reservation
from vmeeting.core.database import utcnow, write_intent
from vmeeting.core.errors import Conflict, NotFound, ValidationError
from vmeeting.core.extensions import db
from vmeeting.readiness.models import CHECKS, Readiness, ReadinessEvent, ReadinessJob
from vmeeting.readiness.verdict import (  # noqa: F401 (this module's interface)
    FILTERS, PROBLEM_KINDS, VERDICTS, summaries, summarize, verdict)
from vmeeting.registry import areas
from vmeeting.registry.models import AdminUnit, Endpoint
from vmeeting.core.text import N_, clean, say

#: roles that may confirm any site; everyone else with readiness.confirm only the sites assigned to them
CONFIRM_ANY_ROLES = frozenset({"admin", "scheduler"})
#: in Vietnamese for messages and mails; pages show them through the catalogue (text.N_)
CHECK_LABELS = {"camera": N_("Camera"), "microphone": N_("Micro, loa"), "display": N_("Màn hình"),
                "network": N_("Đường truyền"), "test_call": N_("Kết nối thử với điểm chủ tọa")}
STATUS_LABELS = {"pending": "Chưa xác nhận", "ready": "Sẵn sàng", "issue": "Có sự cố"}
#: the verdicts' names (readiness.verdict), in Vietnamese; pages show them through the catalogue
VERDICT_LABELS = {"down": N_("Mất kết nối"), "unreachable": N_("Không kết nối được"), "issue": N_("Có sự cố"),
                  "incident": N_("Sự cố đang mở"), "pending": N_("Chưa xác nhận"), "ready": N_("Sẵn sàng")}
NOTE_MAX = 2000
LEVEL_ORDER = {"province": 0, "district": 1, "commune": 2}


class NotAllowed(Forbidden):
    """The user may not confirm this site (a technician, for a site assigned to someone else)."""


# -- who may confirm ------------------------------------------------------------------------


def may_confirm(user, technician_id):
    """Tell whether user may confirm a site looked after by technician_id: the rule, written once."""
    if user is None or not user.is_authenticated or not user.can("readiness.confirm"):
        return False
    return user.role in CONFIRM_ANY_ROLES or (technician_id is not None and technician_id == user.id)


def can_confirm(user, endpoint):
    """Tell whether user may confirm the readiness of endpoint."""
    return may_confirm(user, endpoint.technician_id)


def require_confirm(user, endpoint):
    """Raise NotAllowed (403) unless user may confirm endpoint."""
    if not can_confirm(user, endpoint):
        raise NotAllowed("Bạn chỉ có thể xác nhận điểm cầu được giao cho mình.")


# -- which sitting ---------------------------------------------------------------------------


def current_occurrence(meeting, now=None):
    """Return the sitting under way or next to come, else the last one; None for a meeting without any."""
    now = now or utcnow()
    live = [o for o in meeting.occurrences if o.status == "scheduled"]
    upcoming = [o for o in live if o.ends_at > now]
    if upcoming:
        return upcoming[0]
    return (live or meeting.occurrences or [None])[-1]


def occurrence_of(meeting, occurrence_id=None, now=None):
    """Return the meeting's sitting with that id, or its current one; raise NotFound."""
    if occurrence_id is None:
        occurrence = current_occurrence(meeting, now)
    else:
        occurrence = db.session.get(Occurrence, occurrence_id)
        if occurrence is not None and occurrence.meeting_id != meeting.id:
            occurrence = None
    if occurrence is None:
        raise NotFound()
    return occurrence


def district_of(unit):
    """Return the district-level (or province) unit a site is shown under (registry.areas: since 2025, the
    former district of a commune under the province)."""
    return areas.district_of(unit)


def province_of(unit):
    """Return the province a unit belongs to (itself, its parent or its grandparent: DOMAIN.md's three levels)."""
    while unit.level != "province" and unit.parent is not None:
        unit = unit.parent
    return unit


# -- reading the state -----------------------------------------------------------------------


def sites(occurrence_id):
    """Return [(endpoint, readiness or None)] of a sitting, by district in official order, then by name."""
    rows = db.session.execute(
        sa.select(Endpoint, Readiness)
        .join(Reservation, Reservation.endpoint_id == Endpoint.id)
        .outerjoin(Readiness, sa.and_(Readiness.occurrence_id == Reservation.occurrence_id,
                                      Readiness.endpoint_id == Endpoint.id))
        .where(Reservation.occurrence_id == occurrence_id)
        .options(selectinload(Endpoint.unit).selectinload(AdminUnit.parent).selectinload(AdminUnit.parent),
                 selectinload(Endpoint.technician))
        .order_by(Endpoint.name_sort_key, Endpoint.code)
    ).all()
    confirmers = _users({r.confirmed_by_id for _e, r in rows if r is not None and r.confirmed_by_id})

    def order(row):
        head = district_of(row[0].unit)
        return LEVEL_ORDER[head.level], head.position, head.id

    rows = sorted(rows, key=order)
    return [(endpoint, readiness, confirmers.get(readiness.confirmed_by_id) if readiness else None)
            for endpoint, readiness in rows]


def _users(ids):
    if not ids:
        return {}
    return {u.id: u for u in db.session.scalars(sa.select(User).where(User.id.in_(ids)))}


def readiness_select(occurrence_id, endpoint_id):
    """Select the Readiness row of a site for a sitting (none until its first confirmation or probe)."""
    return sa.select(Readiness).where(Readiness.occurrence_id == occurrence_id, Readiness.endpoint_id == endpoint_id)


def is_confirmed(readiness):
    """Tell whether the technician has answered for the site: ready or issue (pending is not an answer)."""
    return readiness is not None and readiness.status in ("ready", "issue")


def is_not_ready(readiness):
    """Tell whether a site needs attention: not confirmed ready, or the last probe found nothing."""
    return readiness is None or readiness.status != "ready" or readiness.is_reachable is False


def item_json(endpoint, readiness, confirmer=None, condition=None):
    """Return one site's readiness in the API's shape.

    condition: booking.site_conditions' entry for the site (its network state,
    an open incident), or None; it goes into `verdict` (readiness.verdict) and
    is shown as `network` {state, since} and `incident` (an open incident's title).
    """
    head = district_of(endpoint.unit)
    province = province_of(head)
    r = readiness
    condition = condition or {}
    site_verdict = verdict(r, condition)
    return {
        "endpoint_id": endpoint.id, "code": endpoint.code, "name": endpoint.name,
        "district_id": head.id, "district": head.name, "province_id": province.id, "province": province.name,
        "technician_id": endpoint.technician_id,
        "technician_name": endpoint.technician.display_name if endpoint.technician else None,
        "status": r.status if r else "pending",
        "checks": {name: bool((r.checks or {}).get(name)) if r else False for name in CHECKS},
        "note": r.note if r else "",
        "probe": {
            "reachable": r.is_reachable if r else None, "rtt_ms": r.rtt_ms if r else None,
            "method": r.probe_method if r else None,
            "checked_at": r.checked_at.isoformat() if r and r.checked_at else None,
            "error": r.probe_error if r else None,
        },
        "confirmed_by": r.confirmed_by_id if r else None,
        "confirmed_by_name": confirmer.display_name if confirmer else None,
        "confirmed_at": r.confirmed_at.isoformat() if r and r.confirmed_at else None,
        "is_ready": site_verdict == "ready",
        "verdict": site_verdict,
        "network": {"state": condition.get("state") or "unknown",
                    "since": condition["since"].isoformat() if condition.get("since") else None},
        "incident": condition.get("incident"),
    }


def board(occurrence):
    """Return a sitting's board: the sitting, its counts, its districts and every site's state.

    Each site's verdict and the counts are readiness.verdict's, as on every page.
    """
    rows = sites(occurrence.id)
    conditions = booking.site_conditions([e.id for e, _r, _c in rows])
    items = [item_json(e, r, c, conditions.get(e.id)) for e, r, c in rows]
    districts = {}
    for item in items:
        districts.setdefault(item["district_id"], {"id": item["district_id"], "name": item["district"], "total": 0})
        districts[item["district_id"]]["total"] += 1
    meeting = occurrence.meeting
    return {
        "meeting_id": meeting.id, "title": meeting.title,
        "occurrence": {"id": occurrence.id, "starts_at": occurrence.starts_at.isoformat(),
                       "ends_at": occurrence.ends_at.isoformat(),
                       "status": "cancelled" if occurrence.is_cancelled else "scheduled"},
        "summary": summarize(items), "districts": list(districts.values()), "items": items,
    }


# -- confirming ------------------------------------------------------------------------------


def listed(labels):
    """Labels joined by commas ('Camera, Màn hình') as a Sentence: a page says each label in its language."""
    sentence = say(labels[0])
    for label in labels[1:]:
        sentence = say("%(items)s, %(item)s", items=sentence, item=say(label))
    return sentence


def validate_confirmation(data):
    """Return (status, checks, note) from input, or raise ValidationError naming each bad field.

    "ready" means the whole checklist was done; "issue" needs a note saying what is wrong.
    """
    errors = {}
    status = data.get("status")
    if status not in ("ready", "issue"):
        errors["status"] = N_("Chọn «ready» (sẵn sàng) hoặc «issue» (có sự cố).")
    raw = data.get("checks")
    if raw is None:  # absent or null: nothing checked yet; [], "", 0 or false are a client's mistake, not that
        raw = {}
    checks = {}
    if not isinstance(raw, dict):
        errors["checks"] = N_("Danh sách kiểm tra (checks) phải là một đối tượng "
                              "{camera, microphone, display, network, test_call: true/false}.")
    else:
        unknown = sorted(set(raw) - set(CHECKS))
        if unknown or any(not isinstance(v, bool) for v in raw.values()):
            errors["checks"] = say("Chỉ gồm %(names)s, mỗi mục true hoặc false.", names=", ".join(CHECKS))
        checks = {name: raw.get(name) is True for name in CHECKS}
    note = data.get("note") or ""
    if not isinstance(note, str):
        errors["note"] = N_("Ghi chú phải là văn bản.")
        note = ""
    note = clean(note)
    if len(note) > NOTE_MAX:
        errors["note"] = say("Ghi chú tối đa %(max)s ký tự.", max=NOTE_MAX)
    if status == "ready" and "checks" not in errors and not all(checks.values()):
        missing = listed([CHECK_LABELS[n] for n in CHECKS if not checks[n]])
        errors["checks"] = say("Chưa kiểm tra xong: %(missing)s. Đánh dấu đủ các mục, hoặc báo «Có sự cố».",
                               missing=missing)
    if status == "issue" and not note and "note" not in errors:
        errors["note"] = N_("Ghi rõ sự cố (ví dụ: mất tiếng, không lên hình).")
    if errors:
        raise ValidationError(errors)
    return status, checks, note


def site_of(occurrence, endpoint_id):
    """Return the endpoint if it takes part in the sitting; raise NotFound otherwise."""
    endpoint = db.session.scalar(
        sa.select(Endpoint).join(Reservation, Reservation.endpoint_id == Endpoint.id)
        .where(Reservation.occurrence_id == occurrence.id, Endpoint.id == endpoint_id)
    )
    if endpoint is None:
        raise NotFound()
    return endpoint


def confirm(occurrence, endpoint, user, data, now=None):
    """Record a technician's word on a site for a sitting and keep it in the history; return the Readiness."""
    require_confirm(user, endpoint)
    status, checks, note = validate_confirmation(data)
    now = now or utcnow()
    if occurrence.is_cancelled:
        raise Conflict(N_("Buổi họp đã bị hủy."))
    if occurrence.ends_at <= now:
        raise Conflict(N_("Buổi họp đã kết thúc, không thể xác nhận."))
    readiness = _ensure_rows(occurrence.id, [endpoint.id])[endpoint.id]
    readiness.status, readiness.checks, readiness.note = status, checks, note
    readiness.confirmed_by_id, readiness.confirmed_at = user.id, now
    db.session.add(ReadinessEvent(occurrence_id=occurrence.id, endpoint_id=endpoint.id, kind="confirmation",
                                  occurred_at=now, status=status, checks=checks, note=note, actor_id=user.id))
    db.session.flush()
    if status == "issue":
        booking.report_site_issue(endpoint, user, note, "readiness", now)  # network opens an incident
    return readiness


def _insert_missing_rows(occurrence_id, endpoint_ids):
    """Create the sitting's readiness rows that do not exist yet, without racing other writers."""
    if endpoint_ids:
        insert = pg_insert if db.session.get_bind().dialect.name == "postgresql" else sqlite_insert
        db.session.execute(
            insert(Readiness).values([{"occurrence_id": occurrence_id, "endpoint_id": eid, "status": "pending",
                                       "checks": {}, "note": ""} for eid in endpoint_ids])
            .on_conflict_do_nothing(index_elements=["occurrence_id", "endpoint_id"])
        )


def _ensure_rows(occurrence_id, endpoint_ids):
    """Return {endpoint_id: Readiness} for the sitting, creating missing rows."""
    _insert_missing_rows(occurrence_id, endpoint_ids)
    rows = db.session.scalars(sa.select(Readiness).where(Readiness.occurrence_id == occurrence_id,
                                                         Readiness.endpoint_id.in_(endpoint_ids)))
    return {row.endpoint_id: row for row in rows}


def _ensure_row_ids(occurrence_id, endpoint_ids):
    """Return {endpoint_id: readiness id} for the sitting, creating missing rows; loads no objects."""
    _insert_missing_rows(occurrence_id, endpoint_ids)
    return dict(db.session.execute(sa.select(Readiness.endpoint_id, Readiness.id).where(
        Readiness.occurrence_id == occurrence_id, Readiness.endpoint_id.in_(endpoint_ids))).all())


# -- probing -----------------------------------------------------------------------------------


def probe_targets(occurrence_ids):
    """Return {occurrence_id: [ProbeTarget]} for the probed sites (probe not `none`, with an address)."""
    rows = db.session.execute(
        sa.select(Reservation.occurrence_id, Endpoint.id, Endpoint.probe, Endpoint.sip_uri)
        .join(Endpoint, Endpoint.id == Reservation.endpoint_id)
        .where(Reservation.occurrence_id.in_(occurrence_ids), Endpoint.probe != "none", Endpoint.sip_uri != "")
    ).all()
    targets = defaultdict(list)
    for occurrence_id, endpoint_id, method, uri in rows:
        targets[occurrence_id].append(probes.ProbeTarget(endpoint_id, method, uri))
    return targets


def probe_sittings(occurrence_ids, *, done_jobs=()):
    """Probe every site of the sittings at once and record the results; commit; return the results.

    Reads the targets and ends that transaction first, so no lock or connection
    is held while waiting on the network; then writes every result, and the
    `done_jobs` markers [(occurrence_id, minutes_before, starts_at)], in one
    transaction. A site in two sittings is probed once.
    """
    targets = probe_targets(occurrence_ids)
    db.session.commit()
    unique = {t.endpoint_id: t for group in targets.values() for t in group}
    config = current_app.config
    results = probes.probe_many(list(unique.values()), timeout=config["PROBE_TIMEOUT_SECONDS"],
                                max_streams=config["PROBE_MAX_STREAMS"], allow_loopback=config["PROBE_ALLOW_LOOPBACK"])
    record_probe_results(targets, results, done_jobs)
    return results


def record_probe_results(targets, results, done_jobs=()):
    """Write the probe results onto the sittings' readiness rows and their history; commit.

    targets: {occurrence_id: [ProbeTarget]}; results: [ProbeResult] by endpoint.
    """
    by_endpoint = {r.endpoint_id: r for r in results}
    token = write_intent.set(True)  # on SQLite, take the write lock at BEGIN: no upgrade from a read
    try:
        updates, events = [], []
        for occurrence_id, group in targets.items():
            row_ids = _ensure_row_ids(occurrence_id, [t.endpoint_id for t in group])
            for target in group:
                result = by_endpoint[target.endpoint_id]
                probe = {"is_reachable": result.reachable, "rtt_ms": result.rtt_ms, "probe_method": result.method,
                         "probe_error": result.error}
                updates.append({"id": row_ids[target.endpoint_id], "checked_at": result.checked_at, **probe})
                events.append({"occurrence_id": occurrence_id, "endpoint_id": target.endpoint_id, "kind": "probe",
                               "occurred_at": result.checked_at, **probe})
        if updates:
            # by primary key in one executemany: the ORM need not load thousands of rows to set five columns
            db.session.execute(sa.update(Readiness), updates)
            db.session.execute(sa.insert(ReadinessEvent), events)
        for occurrence_id, minutes_before, starts_at in done_jobs:
            mark_done(occurrence_id, "probe", minutes_before, starts_at,
                      {"probed": len(targets.get(occurrence_id, ()))})
        db.session.commit()
    finally:
        write_intent.reset(token)


def probe_now(occurrence, now=None):
    """Probe every site of a sitting at someone's request; raise Conflict once it is cancelled or over.

    Commits, as `probe_sittings` does; returns its results.
    """
    now = now or utcnow()
    if occurrence.is_cancelled:
        raise Conflict(N_("Buổi họp đã bị hủy."))
    if occurrence.ends_at <= now:
        raise Conflict(N_("Buổi họp đã kết thúc."))
    return probe_sittings([occurrence.id])


def mark_done(occurrence_id, kind, minutes_before, starts_at, detail=None):
    """Record a piece of background work as done; return False if it already was (by anyone)."""
    insert = pg_insert if db.session.get_bind().dialect.name == "postgresql" else sqlite_insert
    # RETURNING rather than rowcount: with psycopg the insert reports -1 rows, inserted or not
    inserted = db.session.scalar(
        insert(ReadinessJob).values(occurrence_id=occurrence_id, kind=kind, minutes_before=minutes_before,
                                    for_starts_at=starts_at, done_at=utcnow(), detail=detail or {})
        .on_conflict_do_nothing(index_elements=["occurrence_id", "kind", "minutes_before", "for_starts_at"])
        .returning(ReadinessJob.id)
    )
    return inserted is not None


# -- a technician's day ------------------------------------------------------------------------


def sittings_for(user, window_from, window_to):
    """Return [(occurrence, [(endpoint, readiness)])] in the window: the user's sites, earliest first."""
    query = (
        sa.select(Occurrence, Endpoint, Readiness)
        .join(Occurrence.meeting)
        .join(Reservation, Reservation.occurrence_id == Occurrence.id)
        .join(Endpoint, Endpoint.id == Reservation.endpoint_id)
        .outerjoin(Readiness, sa.and_(Readiness.occurrence_id == Occurrence.id, Readiness.endpoint_id == Endpoint.id))
        .where(Occurrence.starts_at < window_to, Occurrence.ends_at > window_from,
               Occurrence.status == "scheduled", Meeting.status == "scheduled", Endpoint.technician_id == user.id)
        .options(selectinload(Occurrence.meeting).selectinload(Meeting.chair),
                 selectinload(Endpoint.unit).selectinload(AdminUnit.parent))
        .order_by(Occurrence.starts_at, Occurrence.id, Endpoint.name_sort_key)
    )
    grouped = {}
    for occurrence, endpoint, readiness in db.session.execute(query):
        grouped.setdefault(occurrence, []).append((endpoint, readiness))
    return list(grouped.items())


def readiness_roll_call_hints(occurrence, endpoint_ids):
    """Return {endpoint_id: (status, reason, at)}: a site whose last probe failed was likely absent, one that
    answered or was confirmed ready likely present. Registered with booking for the roll-call's prefill."""
    hints = {}
    rows = db.session.scalars(sa.select(Readiness).where(Readiness.occurrence_id == occurrence.id,
                                                         Readiness.endpoint_id.in_(list(endpoint_ids)))).all()
    for row in rows:
        at = max((t for t in (row.checked_at, row.confirmed_at) if t is not None), default=None)
        if at is None:
            continue
        if row.is_reachable is False:
            hints[row.endpoint_id] = ("absent", "Mất kết nối", at)
        elif row.is_reachable or row.status == "ready":
            hints[row.endpoint_id] = ("present", "", at)
    return hints

