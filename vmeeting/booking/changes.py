"""Booking, changing, cancelling and moving meetings, and their writes: occurrences, reservations, sites.

Each change validates first (booking.validation), takes the booking lock
(`conflicts.lock_sites`) before writing anything, writes, records the change
in the audit trail and tells booking's change_listeners (booking.hooks) inside
its transaction. They flush and raise; the caller commits, and the caller's
commit or rollback releases the lock.
"""

import uuid
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa
from sqlalchemy.orm.attributes import set_committed_value

from vmeeting.audit import service as audit
from vmeeting.booking import displacement
from vmeeting.booking.conflicts import PlannedSitting, bridge_of, find_conflicts, lock_sites
from vmeeting.booking.history import meeting_changes, sitting_times
from vmeeting.booking.hooks import change_listeners, scope_gates
from vmeeting.booking.models import Meeting, Occurrence, Reservation, meeting_endpoints
from vmeeting.booking.priority import check_may_set, mark_displaceable, split_displaceable
from vmeeting.booking.queries import WRITTEN_SITES
from vmeeting.booking.series import expand_series
from vmeeting.booking.validation import (
    MEETING_FIELDS,
    BookingChoices,
    check_new_times,
    check_under_way,
    clean_reason,
    conflict_message,
    has_begun,
    hold_meeting,
    screen_sittings,
    validate_meeting,
    validate_move,
)
from vmeeting.core.database import insert_rows, one_of, utcnow
from vmeeting.core.errors import Conflict, ValidationError
from vmeeting.core.extensions import db
from vmeeting.registry.models import Endpoint
from vmeeting.core.text import N_, say
from vmeeting.core.timefmt import format_datetime, format_time, to_local


# -- reserving ------------------------------------------------------------------------------


def _check_and_reserve(meeting, sittings_by_occurrence, endpoints, *, skip_busy=False, displace=False, actor=None,
                       displace_only=()):
    """Check every sitting, then write the reservations; return (endpoints reserved, endpoints dropped).

    The caller has taken `lock_sites` for these endpoints before writing anything.
    sittings_by_occurrence: {Occurrence: PlannedSitting}; endpoints: the sites
    to reserve at each. With skip_busy, endpoints that are busy at any sitting
    are dropped from the meeting instead (the "book without the busy sites"
    choice; a busy chair still refuses): the first list holds the others, the
    second those dropped, and the caller makes the first the meeting's sites.
    Without it, the first is `endpoints` and the second empty. With displace
    (BookingChoices.displace_lower_priority), the busy sittings of a lower
    class give their sites up first (booking.displacement), when every busy
    one may (or skip_busy drops the others); displace_only: the meeting ids
    that may be displaced, when the person confirmed a list. Raises Conflict (busy sites,
    each marked `displaceable`; a bridge short of ports; two sittings of the
    meeting overlapping) and writes nothing.
    """
    sittings = list(sittings_by_occurrence.values())
    _refuse_overlapping_sittings(sittings)
    # The sittings being written have lost their reservations already; the meeting's other
    # sittings keep theirs and count like anyone's: a sitting may not be moved onto its sibling.
    conflicts, capacity = find_conflicts(sittings, endpoints, meeting.bridge_id)
    displaced = []
    if conflicts and displace:
        victims, kept = split_displaceable(conflicts, meeting.priority, only=displace_only)
        if victims and (not kept or skip_busy):
            displaced = displacement.displace(meeting, victims, actor)
            conflicts, capacity = find_conflicts(sittings, endpoints, meeting.bridge_id)
    dropped = []
    if conflicts and skip_busy:
        busy_ids = {c["endpoint_id"] for c in conflicts}
        if meeting.chair_endpoint_id in busy_ids:
            raise Conflict(N_("Điểm cầu chủ tọa bận vào thời gian này."), capacity=capacity,
                           **_busy_details(conflicts, meeting))
        dropped = [e for e in endpoints if e.id in busy_ids]
        endpoints = [e for e in endpoints if e.id not in busy_ids]
        conflicts, capacity = find_conflicts(sittings, endpoints, meeting.bridge_id)
    if conflicts or capacity:
        raise Conflict(conflict_message(conflicts, capacity), capacity=capacity[0] if capacity else None,
                       **_busy_details(conflicts, meeting))
    rows = []
    for occurrence, sitting in sittings_by_occurrence.items():
        for endpoint in endpoints:
            rows.append({"occurrence_id": occurrence.id, "endpoint_id": endpoint.id,
                         "bridge_id": bridge_of(endpoint, meeting.bridge_id),
                         "busy_from": sitting.busy_from, "busy_until": sitting.busy_until})
    if rows:
        try:
            insert_rows(db.session, Reservation.__table__, rows)
        except sa.exc.IntegrityError as exc:
            # PostgreSQL's overlap trigger (migration 0017): the last word if a booking slipped past the check
            if "reservations_no_overlap" in str(exc.orig):
                raise Conflict(N_("Điểm cầu vừa được đặt cho cuộc họp khác; hãy thử lại."), conflicts=[]) from exc
            raise
    if displaced:
        displacement.tell_bookers(meeting, displaced, actor)
    return endpoints, dropped


def _busy_details(conflicts, meeting):
    """A Conflict's details about busy sites: each conflict marked `displaceable` by the meeting's class, and
    `displaceable`: whether displace_lower_priority would free them all (booking.priority)."""
    mark_displaceable(conflicts, meeting.priority)
    return {"conflicts": conflicts, "displaceable": bool(conflicts) and all(c["displaceable"] for c in conflicts)}


def _refuse_overlapping_sittings(sittings):
    """Raise Conflict when two sittings written together would hold the same sites at once."""
    ordered = sorted(sittings, key=lambda sitting: sitting.busy_from)
    for earlier, later in zip(ordered, ordered[1:]):
        if later.busy_from < earlier.busy_until:
            raise Conflict(say("Hai buổi của cuộc họp trùng giờ nhau (lúc %(when)s, tính cả thời gian chuẩn bị).",
                               when=format_datetime(later.starts_at)), conflicts=[])


# -- booking and changing -----------------------------------------------------------------


def book_meeting(data, choice, actor=None, *, skip_busy=False, choices=None):
    """Store a meeting, its occurrences and reservations; raise and store nothing.

    data: fields of validate_meeting (validated here); choice: a SiteChoice;
    choices: a BookingChoices (skip_busy is its shorthand). The chair is always
    one of the sites. Raises ValidationError (a sitting in the past: starts_at),
    NonWorkingTime (sittings outside working time, not allowed), Conflict.
    A series' first sitting becomes its start (RFC 5545, 3.8.5.3: DTSTART is the
    first instance). The meeting returned carries `skipped`: [{starts_at, reason}]
    for the sittings a series left out; they are kept as cancelled occurrences
    (an EXDATE in the invite).
    """
    choices = choices or BookingChoices(skip_busy=skip_busy)
    values = validate_meeting(data)
    check_may_set(actor, values["priority"])
    expanded = expand_series(values["starts_at"], values["ends_at"], values["recurrence"])
    values["starts_at"], values["ends_at"] = expanded[0][1], expanded[0][2]
    endpoints = _with_chair(choice.endpoints, values["chair_endpoint_id"])
    lock_sites(endpoints, values["bridge_id"])
    meeting = Meeting(uid=f"{uuid.uuid4()}@vmeeting", organizer_id=getattr(actor, "id", None),
                      selection=choice.selection, **values)
    db.session.add(meeting)
    db.session.flush()
    sittings = _create_occurrences(meeting, expanded)
    meeting.skipped = screen_sittings(meeting, sittings, endpoints, set(sittings), choices)
    endpoints, dropped = _check_and_reserve(meeting, sittings, endpoints, skip_busy=choices.skip_busy,
                                            displace=choices.displace_lower_priority, actor=actor,
                                            displace_only=choices.displace_meeting_ids)
    _write_sites(meeting, endpoints, before_ids=())
    db.session.flush()
    audit.record(actor, "create", "meeting", meeting.id, {
        "title": [None, meeting.title], "starts_at": [None, meeting.starts_at.isoformat()],
        "endpoints": [None, len(endpoints)], "recurrence": [None, meeting.recurrence],
        "priority": [None, meeting.priority],
    }, f"Đặt lịch họp «{meeting.title}» ({len(endpoints)} điểm cầu)"
       + (f", bỏ {len(dropped)} điểm cầu bận" if dropped else "")
       + (f", bỏ {len(meeting.skipped)} buổi" if meeting.skipped else ""))
    _announce("booked", meeting, actor)
    return meeting


def _announce(event, meeting, actor=None, **details):
    for gate in scope_gates:  # booking.approvals: a booking across scopes waits, before anyone is told
        gate(event, meeting, actor, **details)
    for listener in change_listeners:
        listener(event, meeting, **details)


def _write_sites(meeting, endpoints, before_ids):
    """Make endpoints the meeting's sites: one bulk insert of the new rows, one delete of the dropped.

    The ORM's collection would write a national meeting's 10,000 links one
    statement each; here they go in as one (database.insert_rows), and the
    collection is set as loaded, so the session sees the sites without reading
    them back. endpoints: Endpoint objects or sites.SiteRow. before_ids: the
    sites the meeting had (none for a new one).
    """
    before_ids = set(before_ids)
    dropped = before_ids - {e.id for e in endpoints}
    added = [{"meeting_id": meeting.id, "endpoint_id": e.id} for e in endpoints if e.id not in before_ids]
    if dropped:
        db.session.execute(sa.delete(meeting_endpoints).where(meeting_endpoints.c.meeting_id == meeting.id,
                                                              one_of(meeting_endpoints.c.endpoint_id, dropped,
                                                                     db.session.get_bind())))
    insert_rows(db.session, meeting_endpoints, added)
    ordered = sorted(endpoints, key=_site_order)
    if all(isinstance(e, Endpoint) for e in endpoints):
        set_committed_value(meeting, "endpoints", ordered)
    else:  # sites.SiteRow from the API: the collection is read again if someone asks for it
        db.session.expire(meeting, ["endpoints"])
    meeting.endpoint_count = len(endpoints)
    # for endpoint_ids_of: nothing else writes a meeting's sites, and a rollback forgets them
    db.session.info.setdefault(WRITTEN_SITES, {})[meeting.id] = [e.id for e in ordered]


def _site_order(endpoint):
    """The order of `Meeting.endpoints` and endpoint_ids_of: the name's sort key, then id.

    The key is bytes, which Python, PostgreSQL (bytea) and SQLite (BLOB) all compare byte by byte.
    """
    return endpoint.name_sort_key, endpoint.id


def _with_chair(endpoints, chair_id):
    if any(e.id == chair_id for e in endpoints):
        return list(endpoints)
    return [db.session.get(Endpoint, chair_id), *endpoints]


def _create_occurrences(meeting, expanded):
    setup = timedelta(minutes=meeting.setup_minutes)
    sittings = {}
    for original, start, end in expanded:
        occurrence = Occurrence(meeting=meeting, original_starts_at=original, starts_at=start, ends_at=end)
        db.session.add(occurrence)
        sittings[occurrence] = PlannedSitting(original, start, end, setup)
    db.session.flush()
    return sittings


def update_meeting(meeting, data, choice=None, actor=None, *, skip_busy=False, choices=None, expected_version=None):
    """Change a meeting's details, times, series rule or sites under the same rules; bump SEQUENCE.

    Past occurrences stay as they were. Future ones are laid out again from
    the new times and rule; an occurrence keeps its row (and what hangs on it,
    its readiness, a move, a cancellation) when the rule still produces a
    sitting on its day: a series holds at most one sitting a day, so a new hour
    for the series leaves a moved sitting where it was moved to. A sitting
    under way keeps its start (and its roll-call): its end follows the new
    times when its start is the rule's (an extension is checked for clashes,
    409 naming the next meeting; not ended before now), otherwise it stays as
    it is, as a moved sitting does.

    expected_version: the version the caller read (If-Match, a form's hidden
    field; `hold_meeting`), None for no check. Raises StaleEdit, Conflict,
    ValidationError, NonWorkingTime.
    """
    hold_meeting(meeting, expected_version)
    if meeting.is_cancelled:
        raise Conflict(N_("Cuộc họp đã bị hủy, không thể sửa."))
    choices = choices or BookingChoices(skip_busy=skip_busy)
    before = _meeting_snapshot(meeting)
    values = validate_meeting(data, meeting)
    check_may_set(actor, values["priority"], before=meeting.priority)
    if values["recurrence"] and (values["starts_at"], values["recurrence"]) != (meeting.starts_at, meeting.recurrence):
        first = expand_series(values["starts_at"], values["ends_at"], values["recurrence"])[0]
        values["starts_at"], values["ends_at"] = first[1], first[2]
    now = utcnow()
    future = [o for o in meeting.occurrences if o.ends_at > now]
    if not future and any(values[name] != getattr(meeting, name) for name in ("starts_at", "ends_at", "recurrence")):
        # its sittings are the record of what happened; a new time is a new meeting
        raise ValidationError({"starts_at": N_("Cuộc họp đã kết thúc, không đổi được thời gian; "
                                               "hãy đặt cuộc họp mới.")})
    check_new_times(meeting, values, now)
    new_endpoints = choice.endpoints if choice is not None else list(meeting.endpoints)
    endpoints = _with_chair(new_endpoints, values["chair_endpoint_id"])
    lock_sites(endpoints, values["bridge_id"])
    # begun by the set-up window it was held with; such a sitting keeps its start, whatever the edit
    under_way = {o for o in future if o.status == "scheduled" and has_begun(o, meeting, now)}
    for name, value in values.items():
        setattr(meeting, name, value)
    if choice is not None:
        meeting.selection = choice.selection

    for occurrence in future:
        db.session.execute(sa.delete(Reservation).where(Reservation.occurrence_id == occurrence.id))
    under_way_days = {to_local(o.original_starts_at).date() for o in under_way}
    expanded = [item for item in expand_series(meeting.starts_at, meeting.ends_at, meeting.recurrence)
                if item[2] > now or to_local(item[0]).date() in under_way_days]
    setup = timedelta(minutes=meeting.setup_minutes)
    by_day = {to_local(o.original_starts_at).date(): o for o in future}
    if not meeting.recurrence and len(future) == 1 and expanded:
        # a single meeting keeps its one occurrence (and what hangs on it) when moved, to any day
        only = future[0]
        by_day = {to_local(expanded[0][0]).date(): only}
        only.is_moved = False
    sittings = {}
    touched, extended = set(), set()
    for original, start, end in expanded:
        occurrence = by_day.pop(to_local(original).date(), None)
        if occurrence is None:
            occurrence = Occurrence(meeting=meeting, original_starts_at=original, starts_at=start, ends_at=end,
                                    status="scheduled")
            db.session.add(occurrence)
            touched.add(occurrence)
        elif occurrence in under_way:
            # begun: its start stays; its end follows the new times only when its start is the rule's
            occurrence.original_starts_at = original
            if not occurrence.is_moved and occurrence.starts_at == start:
                if occurrence.ends_at != end:
                    check_under_way(occurrence, meeting, start, end, now)
                    occurrence.ends_at = end
                    touched.add(occurrence)
                    extended.add(occurrence)
            else:
                occurrence.is_moved = True
        else:
            occurrence.original_starts_at = original
            if not occurrence.is_moved and (occurrence.starts_at, occurrence.ends_at) != (start, end):
                occurrence.starts_at, occurrence.ends_at = start, end
                touched.add(occurrence)
        if occurrence.status == "scheduled":
            sittings[occurrence] = PlannedSitting(original, occurrence.starts_at, occurrence.ends_at, setup)
    for leftover in by_day.values():
        if leftover in under_way:
            raise ValidationError({"recurrence": say(
                "Buổi họp lúc %(when)s đang diễn ra và không còn trong lịch mới; không bỏ được buổi đang họp. "
                "Hãy sửa sau khi buổi này kết thúc.", when=format_datetime(leftover.starts_at))})
        # the new rule no longer produces this sitting: keep it, cancelled
        leftover.status = "cancelled"
    db.session.flush()
    meeting.skipped = screen_sittings(meeting, sittings, endpoints, touched, choices, keeps_start=extended)
    for occurrence in extended:
        _refuse_clash_of_extension(meeting, sittings[occurrence], endpoints)
    endpoints, dropped = _check_and_reserve(meeting, sittings, endpoints, skip_busy=choices.skip_busy,
                                            displace=choices.displace_lower_priority, actor=actor,
                                            displace_only=choices.displace_meeting_ids)
    _write_sites(meeting, endpoints, before_ids=before["endpoints"])
    changes = meeting_changes(before, _meeting_snapshot(meeting))
    if set(changes) == {"priority"}:
        # the class matters to bookings, not to attendees: recorded, no new SEQUENCE and no mail
        audit.record(actor, "update", "meeting", meeting.id, changes, f"Sửa hạng ưu tiên của «{meeting.title}»")
    elif changes:
        meeting.sequence += 1
        db.session.flush()
        audit.record(actor, "update", "meeting", meeting.id, changes, f"Sửa cuộc họp «{meeting.title}»")
        removed = sorted(set(before["endpoints"]) - {e.id for e in endpoints})
        _announce("updated", meeting, actor, removed_endpoint_ids=removed, changes=changes)
    return meeting


def _meeting_snapshot(meeting):
    snap = audit.snapshot(meeting, MEETING_FIELDS)
    snap["endpoints"] = sorted(e.id for e in meeting.endpoints)
    return snap


def cancel_meeting(meeting, actor=None, *, reason=None, expected_version=None):
    """Cancel a meeting: it stays, marked cancelled; its sites are free again.

    reason: why, told in the CANCEL mail (optional, up to MAX_REASON_LENGTH).
    expected_version: as for update_meeting (StaleEdit when the caller read an
    older meeting). Cancelling a cancelled meeting changes nothing.
    """
    reason = clean_reason(reason)
    hold_meeting(meeting, expected_version)
    if meeting.is_cancelled:
        return meeting
    return _cancel_whole(meeting, actor, reason)


def _cancel_whole(meeting, actor, reason):
    """Write a whole meeting's cancellation (the caller holds the meeting, `hold_meeting`)."""
    was = meeting.status
    meeting.status = "cancelled"
    meeting.cancel_reason = reason
    meeting.cancelled_at = utcnow()
    meeting.sequence += 1
    occurrence_ids = [o.id for o in meeting.occurrences]
    if occurrence_ids:
        db.session.execute(sa.delete(Reservation).where(Reservation.occurrence_id.in_(occurrence_ids)))
    db.session.flush()
    audit.record(actor, "cancel", "meeting", meeting.id, {"status": [was, "cancelled"]},
                 f"Hủy cuộc họp «{meeting.title}»" + (f": {reason}" if reason else ""))
    _announce("cancelled", meeting, actor)
    return meeting


def cancel_occurrence(occurrence, actor=None, *, reason=None, expected_version=None):
    """Cancel one sitting of a series; the others stay. Return the occurrence.

    reason: as for cancel_meeting. expected_version: as for update_meeting
    (StaleEdit when the caller read an older meeting). Cancelling the only sitting still scheduled
    cancels the meeting (CONTRACT.md): its status becomes cancelled and everyone
    is told with a whole-meeting CANCEL, as `cancel_meeting` does. Sittings that
    have already taken place count as still scheduled: they happened, so the
    meeting was not cancelled, and the last sitting's cancellation goes out for
    that sitting alone.
    """
    reason = clean_reason(reason)
    meeting = occurrence.meeting
    hold_meeting(meeting, expected_version)
    if occurrence.status == "cancelled" or meeting.is_cancelled:
        return occurrence
    others = [o for o in meeting.occurrences if o is not occurrence and o.status == "scheduled"]
    if not others:
        occurrence.status = "cancelled"
        occurrence.cancel_reason = reason
        _cancel_whole(meeting, actor, reason)
        return occurrence
    occurrence.status = "cancelled"
    occurrence.cancel_reason = reason
    occurrence.meeting.sequence += 1
    db.session.execute(sa.delete(Reservation).where(Reservation.occurrence_id == occurrence.id))
    db.session.flush()
    audit.record(actor, "cancel", "occurrence", occurrence.id,
                 {"starts_at": [occurrence.starts_at.isoformat(), None], "status": ["scheduled", "cancelled"]},
                 f"Hủy buổi {format_datetime(occurrence.starts_at)} của «{occurrence.meeting.title}»"
                 + (f": {reason}" if reason else ""))
    _announce("occurrence_cancelled", occurrence.meeting, actor, occurrence=occurrence)
    return occurrence


def move_occurrence(occurrence, starts_at, ends_at, actor=None, *, choices=None, expected_version=None):
    """Move one sitting of a series to another time, under the same rules (the working calendar's too).

    A sitting under way keeps its start (its roll-call stays with it): only
    its end may change, not to before now, and a longer sitting is checked
    for clashes (409 naming the next meeting). A sitting that has ended does
    not move. expected_version: as for update_meeting (StaleEdit when the
    caller read an older meeting). Raises StaleEdit, Conflict,
    ValidationError, NonWorkingTime.
    """
    choices = choices or BookingChoices()
    meeting = occurrence.meeting
    hold_meeting(meeting, expected_version)
    if meeting.is_cancelled or occurrence.status == "cancelled":
        raise Conflict(N_("Buổi họp đã bị hủy, không thể dời."))
    validate_move(starts_at, ends_at)
    under_way = check_under_way(occurrence, meeting, starts_at, ends_at, utcnow())
    lock_sites(meeting.endpoints, meeting.bridge_id)
    before = (occurrence.starts_at, occurrence.ends_at)
    db.session.execute(sa.delete(Reservation).where(Reservation.occurrence_id == occurrence.id))
    occurrence.starts_at = starts_at.astimezone(timezone.utc)
    occurrence.ends_at = ends_at.astimezone(timezone.utc)
    occurrence.is_moved = True
    db.session.flush()
    sitting = PlannedSitting(occurrence.original_starts_at, occurrence.starts_at, occurrence.ends_at,
                             timedelta(minutes=meeting.setup_minutes))
    # a single sitting is judged as a single meeting: skipping it is cancelling it, not moving it
    screen_sittings(meeting, {occurrence: sitting}, [], {occurrence},
                     BookingChoices(allow_non_working_time=choices.allow_non_working_time),
                     keeps_start={occurrence} if under_way else ())
    if under_way:
        _refuse_clash_of_extension(meeting, sitting, list(meeting.endpoints))
    _check_and_reserve(meeting, {occurrence: sitting}, list(meeting.endpoints))
    meeting.sequence += 1
    changes = sitting_times(before, (occurrence.starts_at, occurrence.ends_at))
    # recorded under the meeting too: its history page lists the sittings' moves with the old and new times
    audit.record(actor, "move", "occurrence", occurrence.id, changes,
                 f"Dời buổi họp «{meeting.title}» sang {format_datetime(occurrence.starts_at)}")
    _announce("occurrence_moved", meeting, actor, occurrence=occurrence)
    return occurrence


def _refuse_clash_of_extension(meeting, sitting, endpoints):
    """Raise Conflict naming the next meeting when a sitting under way, made longer, would run into it.

    The usual check (`_check_and_reserve`) would name the busy sites; a person
    extending a meeting that is being held needs to know which meeting follows.
    """
    conflicts, capacity = find_conflicts([sitting], endpoints, meeting.bridge_id)
    if not conflicts:
        return
    first = min(conflicts, key=lambda c: c["starts_at"])
    starts = datetime.fromisoformat(first["starts_at"])
    raise Conflict(say("Không kéo dài được buổi họp đang diễn ra đến %(end)s: %(count)s điểm cầu có cuộc họp "
                       "«%(title)s» lúc %(when)s.", end=format_time(sitting.ends_at),
                       count=len({c["endpoint_id"] for c in conflicts}), title=first["meeting_title"],
                       when=format_datetime(starts)),
                   conflicts=conflicts, capacity=capacity[0] if capacity else None)
