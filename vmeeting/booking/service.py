"""Booking rules: validating, booking, changing and cancelling meetings; reading them back.

Every entry point (page, API) calls these; sites come from `sites.resolve_sites`
(re-exported here), series from `series`, overlaps and capacity from
`conflicts`. They flush and raise; the caller commits. Every change takes the
booking lock (`conflicts.lock_sites`) before writing anything, and the caller's
commit or rollback releases it.
"""

import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, time, timedelta, timezone

import sqlalchemy as sa
from email_validator import EmailNotValidError, validate_email
from flask import current_app
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from vmeeting.audit import service as audit
from vmeeting.booking.conflicts import (
    MAX_DURATION,
    MAX_SETUP_MINUTES,
    PlannedSitting,
    bridge_of,
    find_conflicts,
    lock_sites,
)
from vmeeting.booking.models import Meeting, Occurrence, Reservation, meeting_endpoints
from vmeeting.booking.series import describe_series, expand_series, normalize_rrule, short_month_warning
from vmeeting.booking.sites import SiteChoice, resolve_sites  # noqa: F401 (part of this module's interface)
from vmeeting.core.bounds import as_id
from vmeeting.core.database import insert_rows, one_of, utcnow
from vmeeting.core.errors import Conflict, NonWorkingTime, StaleEdit, ValidationError
from vmeeting.core.extensions import db
from vmeeting.registry import service as registry
from vmeeting.registry.models import AdminUnit, Bridge, Endpoint, endpoint_group_members
from vmeeting.core.text import N_, Sentence, clean, fold, say
from vmeeting.core.timefmt import format_datetime, local_to_utc, to_local
from vmeeting.working_time import service as working_time

#: callables `listener(event, meeting, **details)` that other capabilities (invites,
#: readiness) add; called inside the booking's transaction, after its rows are flushed.
#: events: booked, updated (removed_endpoint_ids), cancelled, occurrence_cancelled,
#: occurrence_moved (occurrence)
change_listeners = []

#: callables `source(endpoint_ids) -> [{endpoint_id, kind, message}]` that capabilities above
#: booking (network) add: what a booking should warn about its sites, never stopping it
warning_sources = []


#: callables `listener(endpoint, user, note, source, now)` that capabilities above booking (network)
#: add: someone reported a problem at a site (readiness: a technician's «Có sự cố»); called
#: inside the report's transaction
site_issue_listeners = []


def report_site_issue(endpoint, user, note, source, now):
    """Tell every site-issue listener that user reported a problem at endpoint (see site_issue_listeners)."""
    for listener in site_issue_listeners:
        listener(endpoint, user, note, source, now)


def site_warnings(endpoint_ids):
    """Return the warnings every registered source has about these sites (CONTRACT.md `warnings`)."""
    warnings = []
    for source in warning_sources:
        warnings.extend(source(endpoint_ids))
    return warnings


#: callables `source(occurrence, endpoint_ids) -> {endpoint_id: (status, reason, at)}` that capabilities
#: above booking add (readiness, network): what a sitting's roll-call may be prefilled with, as of `at`
roll_call_hint_sources = []


def roll_call_hints(occurrence, endpoint_ids):
    """Return {endpoint_id: (status, reason)}: for each site, the latest hint any source has (see above)."""
    latest = {}
    for source in roll_call_hint_sources:
        for endpoint_id, (status, reason, at) in source(occurrence, endpoint_ids).items():
            if endpoint_id not in latest or at > latest[endpoint_id][2]:
                latest[endpoint_id] = (status, reason, at)
    return {endpoint_id: (status, reason) for endpoint_id, (status, reason, _at) in latest.items()}


MEETING_FIELDS = ("title", "description", "starts_at", "ends_at", "chair_endpoint_id", "bridge_id",
                  "recurrence", "attendees", "setup_minutes")
#: more extra attendees than this is a mailing list, not a meeting's guests
MAX_ATTENDEES = 500
#: a cancel's reason is told in the CANCEL mail; longer is a letter, not a reason
MAX_REASON_LENGTH = 500


@dataclass
class BookingChoices:
    """What the person booking chose about the working calendar and busy sites (CONTRACT.md).

    allow_non_working_time: book sittings on non-working days or outside working hours;
    skip_non_working / skip_conflicting: a series leaves out the sittings on non-working
    days / at which a chosen site is busy; skip_busy: book without the busy sites.
    """

    allow_non_working_time: bool = False
    skip_non_working: bool = False
    skip_conflicting: bool = False
    skip_busy: bool = False


# -- validating a meeting ---------------------------------------------------------------


def validate_meeting(data, meeting=None):
    """Return the cleaned meeting fields of data, or raise ValidationError naming each bad field.

    Instants must already be aware (forms convert local time, the API refuses
    naive times). With `meeting`, fields absent from data keep its values.
    """
    errors = {}
    current = {name: getattr(meeting, name) for name in MEETING_FIELDS} if meeting else {}
    values = {**current, **{k: v for k, v in data.items() if k in MEETING_FIELDS}}

    for name in ("title", "description", "recurrence"):
        if values.get(name) is not None and not isinstance(values[name], str):
            errors[name] = N_("Phải là một chuỗi ký tự.")
    title = clean(values.get("title")) if "title" not in errors else None
    if "title" not in errors and not title:
        errors["title"] = N_("Nhập tên cuộc họp.")
    elif title and len(title) > 300:
        errors["title"] = N_("Tên cuộc họp tối đa 300 ký tự.")
    description = (values.get("description") or "").strip() if "description" not in errors else ""
    if len(description) > 20000:
        errors["description"] = N_("Nội dung tối đa 20000 ký tự.")

    starts_at, ends_at = values.get("starts_at"), values.get("ends_at")
    for name, value in (("starts_at", starts_at), ("ends_at", ends_at)):
        if not isinstance(value, datetime):
            errors[name] = N_("Nhập thời gian.")
        elif value.tzinfo is None:
            errors[name] = N_("Thời gian cần có múi giờ.")
    if "starts_at" not in errors and "ends_at" not in errors:
        starts_at, ends_at = starts_at.astimezone(timezone.utc), ends_at.astimezone(timezone.utc)
        if ends_at <= starts_at:
            errors["ends_at"] = N_("Giờ kết thúc phải sau giờ bắt đầu.")
        elif ends_at - starts_at > MAX_DURATION:
            errors["ends_at"] = N_("Một cuộc họp dài tối đa 12 giờ.")
        for name, value in (("starts_at", starts_at), ("ends_at", ends_at)):
            if not working_time.FIRST_YEAR <= to_local(value).year <= working_time.LAST_YEAR:
                errors[name] = _years_message()

    setup = values.get("setup_minutes")
    if setup in (None, ""):
        setup = current_app.config["SETUP_MINUTES"]
    try:
        if isinstance(setup, (bool, float)):
            raise ValueError
        setup = int(setup)
        if not 0 <= setup <= MAX_SETUP_MINUTES:
            raise ValueError
    except (TypeError, ValueError):
        errors["setup_minutes"] = say("Thời gian chuẩn bị phải từ 0 đến %(most)s phút.", most=MAX_SETUP_MINUTES)

    chair_id = values.get("chair_endpoint_id")
    chair = None
    if chair_id in (None, ""):
        errors["chair_endpoint_id"] = N_("Chọn điểm cầu chủ tọa.")
    else:
        try:
            chair = db.session.get(Endpoint, as_id(chair_id))
        except ValueError:
            chair = False
        if chair is False:
            errors["chair_endpoint_id"] = N_("Mã số điểm cầu phải là số nguyên dương.")
        elif chair is None:
            errors["chair_endpoint_id"] = N_("Không có điểm cầu này.")
        elif not chair.is_bookable and (meeting is None or chair.id != meeting.chair_endpoint_id):
            errors["chair_endpoint_id"] = N_("Điểm cầu chủ tọa đang bảo trì hoặc ngừng sử dụng.")

    bridge_id = values.get("bridge_id")
    if bridge_id not in (None, ""):
        try:
            bridge = db.session.get(Bridge, as_id(bridge_id))
        except ValueError:
            bridge = False
        if bridge is False:
            errors["bridge_id"] = N_("Mã số cầu MCU phải là số nguyên dương.")
        elif bridge is None or not bridge.is_active:
            errors["bridge_id"] = N_("Không có cầu MCU này (hoặc cầu đã ngừng).")
        else:
            bridge_id = bridge.id
    else:
        bridge_id = None

    attendees = []
    raw_attendees = values.get("attendees") or []
    if isinstance(raw_attendees, str):
        raw_attendees = [a for a in raw_attendees.replace(";", ",").replace("\n", ",").split(",")]
    if not isinstance(raw_attendees, (list, tuple)):
        errors["attendees"] = N_("Cần một danh sách địa chỉ thư.")
    elif len(raw_attendees) > MAX_ATTENDEES:
        errors["attendees"] = say("Tối đa %(most)s người dự khác; hãy gửi cho cả danh sách qua một địa chỉ chung.",
                                  most=MAX_ATTENDEES)
    else:
        for item in raw_attendees:
            if not isinstance(item, str):
                errors["attendees"] = N_("Mỗi người dự là một địa chỉ thư (chuỗi ký tự).")
                break
            item = clean(item)
            if not item:
                continue
            try:
                attendees.append(validate_email(item, check_deliverability=False).normalized)
            except EmailNotValidError:
                errors["attendees"] = say("Địa chỉ thư «%(address)s» không hợp lệ.", address=item)
                break

    recurrence = (clean(values.get("recurrence")) or None) if "recurrence" not in errors else None
    if recurrence and not errors.get("starts_at") and isinstance(starts_at, datetime):
        try:
            recurrence = normalize_rrule(recurrence, starts_at)
        except ValueError as exc:
            # series.normalize_rrule's N_ or say message, kept as it is (str() would lose a Sentence's msgid)
            errors["recurrence"] = exc.args[0] if exc.args and isinstance(exc.args[0], str) else str(exc)

    if errors:
        raise ValidationError(errors)
    return {
        "title": title, "description": description, "starts_at": starts_at, "ends_at": ends_at,
        "chair_endpoint_id": chair.id, "bridge_id": bridge_id, "recurrence": recurrence,
        "attendees": list(dict.fromkeys(attendees)), "setup_minutes": setup,
    }


# -- reserving ------------------------------------------------------------------------------


def _check_and_reserve(meeting, sittings_by_occurrence, endpoints, *, skip_busy=False):
    """Check every sitting, then write the reservations; raise Conflict and write nothing.

    The caller has taken `lock_sites` for these endpoints before writing anything.

    With skip_busy, endpoints that are busy at any sitting are dropped from the
    meeting instead (the "book without the busy sites" choice); returns them.
    """
    sittings = list(sittings_by_occurrence.values())
    _refuse_overlapping_sittings(sittings)
    # The sittings being written have lost their reservations already; the meeting's other
    # sittings keep theirs and count like anyone's: a sitting may not be moved onto its sibling.
    conflicts, capacity = find_conflicts(sittings, endpoints, meeting.bridge_id)
    dropped = []
    if conflicts and skip_busy:
        busy_ids = {c["endpoint_id"] for c in conflicts}
        if meeting.chair_endpoint_id in busy_ids:
            raise Conflict(N_("Điểm cầu chủ tọa bận vào thời gian này."), conflicts=conflicts, capacity=capacity)
        dropped = [e for e in endpoints if e.id in busy_ids]
        endpoints = [e for e in endpoints if e.id not in busy_ids]
        conflicts, capacity = find_conflicts(sittings, endpoints, meeting.bridge_id)
    if conflicts or capacity:
        raise Conflict(_conflict_message(conflicts, capacity), conflicts=conflicts, capacity=capacity[0] if capacity else None)
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
    return endpoints, dropped


def _refuse_overlapping_sittings(sittings):
    """Raise Conflict when two sittings written together would hold the same sites at once."""
    ordered = sorted(sittings, key=lambda sitting: sitting.busy_from)
    for earlier, later in zip(ordered, ordered[1:]):
        if later.busy_from < earlier.busy_until:
            raise Conflict(say("Hai buổi của cuộc họp trùng giờ nhau (lúc %(when)s, tính cả thời gian chuẩn bị).",
                               when=format_datetime(later.starts_at)), conflicts=[])


def _conflict_message(conflicts, capacity):
    """The Conflict's sentence: the busy sites (five named, the rest counted), else the bridge short of ports."""
    if conflicts:
        sites = sorted({c["endpoint_name"] for c in conflicts})
        if len(sites) > 5:
            return say("%(count)s điểm cầu đã bận vào thời gian này: %(sites)s và %(more)s điểm cầu khác.",
                       count=len(sites), sites=", ".join(sites[:5]), more=len(sites) - 5)
        return say("%(count)s điểm cầu đã bận vào thời gian này: %(sites)s.", count=len(sites), sites=", ".join(sites))
    first = capacity[0]
    return say("Cầu MCU %(bridge)s không đủ cổng: đang dùng %(in_use)s/%(ports)s, cuộc họp cần thêm %(requested)s.",
               bridge=first["bridge_code"], in_use=first["in_use"], ports=first["ports"], requested=first["requested"])


def _years_message():
    """Why a time is refused: outside the years the working calendar knows."""
    return say("Thời gian phải trong các năm %(first)s–%(last)s.", first=working_time.FIRST_YEAR,
               last=working_time.LAST_YEAR)


def _past_message(starts_at):
    """Why a sitting is refused: it starts in the past."""
    return say("Buổi họp lúc %(when)s đã qua; không đặt hay dời lịch họp vào quá khứ.", when=format_datetime(starts_at))


def _as_sentence(reason):
    """A reason put into another message, as a Sentence so a page translates it too (`text.shown`)."""
    return reason if isinstance(reason, Sentence) else say(str(reason))


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
    expanded = expand_series(values["starts_at"], values["ends_at"], values["recurrence"])
    values["starts_at"], values["ends_at"] = expanded[0][1], expanded[0][2]
    endpoints = _with_chair(choice.endpoints, values["chair_endpoint_id"])
    lock_sites(endpoints, values["bridge_id"])
    meeting = Meeting(uid=f"{uuid.uuid4()}@vmeeting", organizer_id=getattr(actor, "id", None),
                      selection=choice.selection, **values)
    db.session.add(meeting)
    db.session.flush()
    sittings = _create_occurrences(meeting, expanded)
    meeting.skipped = _screen_sittings(meeting, sittings, endpoints, set(sittings), choices)
    endpoints, dropped = _check_and_reserve(meeting, sittings, endpoints, skip_busy=choices.skip_busy)
    _write_sites(meeting, endpoints, before_ids=())
    db.session.flush()
    audit.record(actor, "create", "meeting", meeting.id, {
        "title": [None, meeting.title], "starts_at": [None, meeting.starts_at.isoformat()],
        "endpoints": [None, len(endpoints)], "recurrence": [None, meeting.recurrence],
    }, f"Đặt lịch họp «{meeting.title}» ({len(endpoints)} điểm cầu)"
       + (f", bỏ {len(dropped)} điểm cầu bận" if dropped else "")
       + (f", bỏ {len(meeting.skipped)} buổi" if meeting.skipped else ""))
    _announce("booked", meeting)
    return meeting


def _screen_sittings(meeting, sittings, endpoints, touched, choices):
    """Apply the rules of time to the sittings about to be written; return the ones skipped.

    sittings: {occurrence: PlannedSitting}, changed in place (a skipped one leaves
    it and its occurrence is cancelled with the reason); touched: the occurrences
    that are new or get a new time, the only ones these rules judge (a meeting's
    text may change after it began). Raises ValidationError for a sitting in the
    past, NonWorkingTime for sittings outside working time not allowed.
    """
    now = utcnow()
    judged = [o for o in sittings if o in touched]
    past = [o for o in judged if sittings[o].starts_at < now]
    if past:
        raise ValidationError({"starts_at": _past_message(past[0].starts_at)})
    skipped = []

    def skip(occurrence, reason):
        occurrence.status, occurrence.cancel_reason = "cancelled", reason[:MAX_REASON_LENGTH]
        del sittings[occurrence]
        skipped.append({"starts_at": occurrence.starts_at.isoformat(), "reason": reason})

    outside = {}
    if judged:
        calendar = working_time.calendar_between(min(sittings[o].starts_at for o in judged),
                                                 max(sittings[o].ends_at for o in judged))
        for occurrence in judged:
            reason = calendar.reason_outside(sittings[occurrence].starts_at, sittings[occurrence].ends_at)
            if not reason:
                continue
            if (meeting.recurrence and choices.skip_non_working
                    and not calendar.is_working_day(to_local(occurrence.starts_at).date())):
                skip(occurrence, reason)
            else:
                outside[occurrence] = reason
    remaining = outside
    if remaining and not choices.allow_non_working_time:
        listed = [{"starts_at": o.starts_at.isoformat(), "ends_at": o.ends_at.isoformat(), "reason": r}
                  for o, r in sorted(remaining.items(), key=lambda item: item[0].starts_at)]
        first = min(remaining, key=lambda o: o.starts_at)
        when, reason = format_datetime(first.starts_at), _as_sentence(remaining[first])
        if len(listed) > 1:
            message = say("Buổi họp %(when)s: %(reason)s (và %(more)s buổi khác). Muốn họp vào thời gian này, "
                          "hãy xác nhận rõ (allow_non_working_time).", when=when, reason=reason, more=len(listed) - 1)
        else:
            message = say("Buổi họp %(when)s: %(reason)s. Muốn họp vào thời gian này, hãy xác nhận rõ "
                          "(allow_non_working_time).", when=when, reason=reason)
        raise NonWorkingTime(message, sittings=listed)
    if meeting.recurrence and choices.skip_conflicting:
        for occurrence in [o for o in sittings if o in touched]:
            conflicts, capacity = find_conflicts([sittings[occurrence]], endpoints, meeting.bridge_id)
            if conflicts or capacity:
                skip(occurrence, _conflict_message(conflicts, capacity))
    if meeting.recurrence and skipped and not sittings:
        raise ValidationError({"recurrence": N_("Mọi buổi của chuỗi họp đều bị bỏ qua; hãy chọn ngày giờ khác.")})
    skipped.sort(key=lambda item: item["starts_at"])
    return skipped


def _announce(event, meeting, **details):
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
    db.session.info.setdefault(_WRITTEN_SITES, {})[meeting.id] = [e.id for e in ordered]


#: Session.info key of {meeting id: [site id]}, the sites _write_sites wrote in this session
_WRITTEN_SITES = "booking.written_site_ids"


@sa.event.listens_for(Session, "after_soft_rollback")
def _forget_written_sites(session, previous_transaction):
    """A rollback (a savepoint's too) undoes what _write_sites wrote: read the sites again."""
    session.info.pop(_WRITTEN_SITES, None)


def _site_order(endpoint):
    """The order of `Meeting.endpoints` and endpoint_ids_of: the name's sort key, then id.

    The key is bytes, which Python, PostgreSQL (bytea) and SQLite (BLOB) all compare byte by byte.
    """
    return endpoint.name_sort_key, endpoint.id


def endpoint_ids_of(meeting):
    """Return the ids of the meeting's sites in the order of `Meeting.endpoints`: [int].

    After a booking or change in this session, the ids it wrote (a national
    meeting's 10,000 are not read back); otherwise read as ids only.
    """
    written = db.session.info.get(_WRITTEN_SITES, {}).get(meeting.id)
    if written is not None:
        return list(written)
    return list(db.session.scalars(
        sa.select(meeting_endpoints.c.endpoint_id).join(Endpoint, Endpoint.id == meeting_endpoints.c.endpoint_id)
        .where(meeting_endpoints.c.meeting_id == meeting.id).order_by(Endpoint.name_sort_key, Endpoint.id)))


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


def _check_new_times(meeting, values, now):
    """Refuse new times that would put the meeting's coming sittings in the past; raise ValidationError.

    A meeting not yet begun may move only to a time ahead (as a new booking);
    a single meeting under way keeps a start already past; a series under way
    keeps the day it began on (its past sittings are the record of what
    happened), though its hour, rule and end may change. Without this the
    sittings laid out in the past would be dropped and the coming ones
    cancelled, leaving a meeting that holds no site.
    """
    if not any(values[name] != getattr(meeting, name) for name in ("starts_at", "ends_at", "recurrence")):
        return
    begun = any(o.starts_at <= now for o in meeting.occurrences)
    past = _past_message(values["starts_at"])
    if not begun or not (meeting.recurrence or values["recurrence"]):
        if values["starts_at"] != meeting.starts_at and values["starts_at"] < now:
            raise ValidationError({"starts_at": past})
    elif to_local(values["starts_at"]).date() != to_local(meeting.starts_at).date():
        raise ValidationError({"starts_at": N_("Chuỗi họp đã bắt đầu: không đổi được ngày bắt đầu; hãy dời từng "
                                               "buổi, hoặc kết thúc chuỗi này và đặt chuỗi mới.")})


def update_meeting(meeting, data, choice=None, actor=None, *, skip_busy=False, choices=None, expected_version=None):
    """Change a meeting's details, times, series rule or sites under the same rules; bump SEQUENCE.

    Past occurrences stay as they were. Future ones are laid out again from
    the new times and rule; an occurrence keeps its row (and what hangs on it,
    its readiness, a move, a cancellation) when the rule still produces a
    sitting on its day: a series holds at most one sitting a day, so a new hour
    for the series leaves a moved sitting where it was moved to.
    """
    if meeting.is_cancelled:
        raise Conflict(N_("Cuộc họp đã bị hủy, không thể sửa."))
    check_version(meeting, expected_version)
    choices = choices or BookingChoices(skip_busy=skip_busy)
    before = _meeting_snapshot(meeting)
    values = validate_meeting(data, meeting)
    if values["recurrence"] and (values["starts_at"], values["recurrence"]) != (meeting.starts_at, meeting.recurrence):
        first = expand_series(values["starts_at"], values["ends_at"], values["recurrence"])[0]
        values["starts_at"], values["ends_at"] = first[1], first[2]
    now = utcnow()
    future = [o for o in meeting.occurrences if o.ends_at > now]
    if not future and any(values[name] != getattr(meeting, name) for name in ("starts_at", "ends_at", "recurrence")):
        # its sittings are the record of what happened; a new time is a new meeting
        raise ValidationError({"starts_at": N_("Cuộc họp đã kết thúc, không đổi được thời gian; "
                                               "hãy đặt cuộc họp mới.")})
    _check_new_times(meeting, values, now)
    new_endpoints = choice.endpoints if choice is not None else list(meeting.endpoints)
    endpoints = _with_chair(new_endpoints, values["chair_endpoint_id"])
    lock_sites(endpoints, values["bridge_id"])
    for name, value in values.items():
        setattr(meeting, name, value)
    if choice is not None:
        meeting.selection = choice.selection

    for occurrence in future:
        db.session.execute(sa.delete(Reservation).where(Reservation.occurrence_id == occurrence.id))
    expanded = [item for item in expand_series(meeting.starts_at, meeting.ends_at, meeting.recurrence) if item[2] > now]
    setup = timedelta(minutes=meeting.setup_minutes)
    by_day = {to_local(o.original_starts_at).date(): o for o in future}
    if not meeting.recurrence and len(future) == 1 and expanded:
        # a single meeting keeps its one occurrence (and what hangs on it) when moved, to any day
        only = future[0]
        by_day = {to_local(expanded[0][0]).date(): only}
        only.is_moved = False
    sittings = {}
    touched = set()
    for original, start, end in expanded:
        occurrence = by_day.pop(to_local(original).date(), None)
        if occurrence is None:
            occurrence = Occurrence(meeting=meeting, original_starts_at=original, starts_at=start, ends_at=end,
                                    status="scheduled")
            db.session.add(occurrence)
            touched.add(occurrence)
        else:
            occurrence.original_starts_at = original
            if not occurrence.is_moved and (occurrence.starts_at, occurrence.ends_at) != (start, end):
                occurrence.starts_at, occurrence.ends_at = start, end
                touched.add(occurrence)
        if occurrence.status == "scheduled":
            sittings[occurrence] = PlannedSitting(original, occurrence.starts_at, occurrence.ends_at, setup)
    for leftover in by_day.values():
        # the new rule no longer produces this sitting: keep it, cancelled
        leftover.status = "cancelled"
    db.session.flush()
    meeting.skipped = _screen_sittings(meeting, sittings, endpoints, touched, choices)
    endpoints, dropped = _check_and_reserve(meeting, sittings, endpoints, skip_busy=choices.skip_busy)
    _write_sites(meeting, endpoints, before_ids=before["endpoints"])
    changes = audit.diff(before, _meeting_snapshot(meeting))
    if changes:
        meeting.sequence += 1
        db.session.flush()
        audit.record(actor, "update", "meeting", meeting.id, changes, f"Sửa cuộc họp «{meeting.title}»")
        removed = sorted(set(before["endpoints"]) - {e.id for e in endpoints})
        _announce("updated", meeting, removed_endpoint_ids=removed)
    return meeting


def version_of(meeting):
    """The meeting's version as clients see it (an ETag's content): its SEQUENCE.

    Every change that matters bumps SEQUENCE (RFC 5546), so two readers of the
    same version saw the same meeting.
    """
    return str(meeting.sequence)


def check_version(meeting, expected_version):
    """Raise StaleEdit, with what changed since, when the caller read an older version of the meeting.

    expected_version: what version_of answered when the caller read the
    meeting (an If-Match, a form's hidden field), or None for no check.
    """
    if expected_version is None or str(expected_version) == version_of(meeting):
        return
    events = db.session.scalars(audit.history("meeting", meeting.id).limit(20)).all()
    try:
        seen = int(expected_version)
    except ValueError:
        seen = -1
    changes = [{"at": e.occurred_at.isoformat(), "by": e.actor.display_name if e.actor else None,
                "summary": e.summary, "fields": sorted(e.changes or {})}
               for e in events if e.action != "create"][: max(meeting.sequence - seen, 1) if seen >= 0 else 20]
    raise StaleEdit(N_("Cuộc họp đã được người khác sửa sau khi bạn mở nó; thay đổi của bạn chưa được lưu."),
                    changes=changes, version=version_of(meeting))


def _meeting_snapshot(meeting):
    snap = audit.snapshot(meeting, MEETING_FIELDS)
    snap["endpoints"] = sorted(e.id for e in meeting.endpoints)
    return snap


def clean_reason(reason):
    """Return a cancel's reason, cleaned; raise ValidationError naming `reason`."""
    if reason is not None and not isinstance(reason, str):
        raise ValidationError({"reason": N_("Lý do phải là một chuỗi ký tự.")})
    reason = clean(reason or "")
    if len(reason) > MAX_REASON_LENGTH:
        raise ValidationError({"reason": say("Lý do tối đa %(most)s ký tự.", most=MAX_REASON_LENGTH)})
    return reason or None


def cancel_meeting(meeting, actor=None, *, reason=None):
    """Cancel a meeting: it stays, marked cancelled; its sites are free again.

    reason: why, told in the CANCEL mail (optional, up to MAX_REASON_LENGTH).
    """
    reason = clean_reason(reason)
    if meeting.is_cancelled:
        return meeting
    meeting.status = "cancelled"
    meeting.cancel_reason = reason
    meeting.cancelled_at = utcnow()
    meeting.sequence += 1
    occurrence_ids = [o.id for o in meeting.occurrences]
    if occurrence_ids:
        db.session.execute(sa.delete(Reservation).where(Reservation.occurrence_id.in_(occurrence_ids)))
    db.session.flush()
    audit.record(actor, "cancel", "meeting", meeting.id, {"status": ["scheduled", "cancelled"]},
                 f"Hủy cuộc họp «{meeting.title}»" + (f": {reason}" if reason else ""))
    _announce("cancelled", meeting)
    return meeting


def cancel_occurrence(occurrence, actor=None, *, reason=None, expected_version=None):
    """Cancel one sitting of a series; the others stay. Return the occurrence.

    reason: as for cancel_meeting. expected_version: as for update_meeting (StaleEdit when older). Cancelling the only sitting still scheduled
    cancels the meeting (CONTRACT.md): its status becomes cancelled and everyone
    is told with a whole-meeting CANCEL, as `cancel_meeting` does. Sittings that
    have already taken place count as still scheduled: they happened, so the
    meeting was not cancelled, and the last sitting's cancellation goes out for
    that sitting alone.
    """
    reason = clean_reason(reason)
    meeting = occurrence.meeting
    check_version(meeting, expected_version)
    if occurrence.status == "cancelled" or meeting.is_cancelled:
        return occurrence
    others = [o for o in meeting.occurrences if o is not occurrence and o.status == "scheduled"]
    if not others:
        occurrence.status = "cancelled"
        occurrence.cancel_reason = reason
        cancel_meeting(meeting, actor, reason=reason)
        return occurrence
    occurrence.status = "cancelled"
    occurrence.cancel_reason = reason
    occurrence.meeting.sequence += 1
    db.session.execute(sa.delete(Reservation).where(Reservation.occurrence_id == occurrence.id))
    db.session.flush()
    audit.record(actor, "cancel", "occurrence", occurrence.id,
                 {"starts_at": [occurrence.starts_at.isoformat(), None]},
                 f"Hủy buổi {format_datetime(occurrence.starts_at)} của «{occurrence.meeting.title}»"
                 + (f": {reason}" if reason else ""))
    _announce("occurrence_cancelled", occurrence.meeting, occurrence=occurrence)
    return occurrence


def move_occurrence(occurrence, starts_at, ends_at, actor=None, *, choices=None, expected_version=None):
    """Move one sitting of a series to another time, under the same rules (the working calendar's too).

    expected_version: as for update_meeting (StaleEdit when the caller read an older meeting).
    """
    choices = choices or BookingChoices()
    meeting = occurrence.meeting
    if meeting.is_cancelled or occurrence.status == "cancelled":
        raise Conflict(N_("Buổi họp đã bị hủy, không thể dời."))
    check_version(meeting, expected_version)
    errors = {}
    for name, value in (("starts_at", starts_at), ("ends_at", ends_at)):
        if not isinstance(value, datetime) or value.tzinfo is None:
            errors[name] = N_("Thời gian cần có múi giờ.")
    if not errors and ends_at <= starts_at:
        errors["ends_at"] = N_("Giờ kết thúc phải sau giờ bắt đầu.")
    if not errors and ends_at - starts_at > MAX_DURATION:
        errors["ends_at"] = N_("Một cuộc họp dài tối đa 12 giờ.")
    for name, value in (("starts_at", starts_at), ("ends_at", ends_at)):
        if name not in errors and not working_time.FIRST_YEAR <= to_local(value).year <= working_time.LAST_YEAR:
            errors[name] = _years_message()
    if errors:
        raise ValidationError(errors)
    lock_sites(meeting.endpoints, meeting.bridge_id)
    before = {"starts_at": occurrence.starts_at.isoformat(), "ends_at": occurrence.ends_at.isoformat()}
    db.session.execute(sa.delete(Reservation).where(Reservation.occurrence_id == occurrence.id))
    occurrence.starts_at = starts_at.astimezone(timezone.utc)
    occurrence.ends_at = ends_at.astimezone(timezone.utc)
    occurrence.is_moved = True
    db.session.flush()
    sitting = PlannedSitting(occurrence.original_starts_at, occurrence.starts_at, occurrence.ends_at,
                             timedelta(minutes=meeting.setup_minutes))
    # a single sitting is judged as a single meeting: skipping it is cancelling it, not moving it
    _screen_sittings(meeting, {occurrence: sitting}, [], {occurrence},
                     BookingChoices(allow_non_working_time=choices.allow_non_working_time))
    _check_and_reserve(meeting, {occurrence: sitting}, list(meeting.endpoints))
    meeting.sequence += 1
    after = {"starts_at": occurrence.starts_at.isoformat(), "ends_at": occurrence.ends_at.isoformat()}
    audit.record(actor, "move", "occurrence", occurrence.id, audit.diff(before, after),
                 f"Dời buổi họp «{meeting.title}» sang {format_datetime(occurrence.starts_at)}")
    _announce("occurrence_moved", meeting, occurrence=occurrence)
    return occurrence


# -- reading --------------------------------------------------------------------------------


def recurrence_text(meeting):
    """The meeting's series in words, in the reader's language ('' for a single meeting)."""
    return describe_series(meeting.recurrence, [o.starts_at for o in meeting.occurrences if o.status == "scheduled"])


def recurrence_warning(meeting):
    """A warning about the series' rule that people should see ('' when none): months without its day."""
    return short_month_warning(meeting.recurrence, meeting.starts_at)



def occurrences_select(window_from, window_to, *, endpoint_id=None, unit_id=None, group_id=None,
                       include_cancelled=False):
    """Select occurrences overlapping a window (series expanded), earliest first.

    endpoint_id, unit_id (with every unit below it), group_id: only meetings
    with at least one such site.
    """
    return (
        sa.select(Occurrence)
        .join(Occurrence.meeting)
        .where(*_occurrence_filters(window_from, window_to, endpoint_id, unit_id, include_cancelled, group_id))
        .options(selectinload(Occurrence.meeting).selectinload(Meeting.chair))
        .order_by(Occurrence.starts_at, Occurrence.id)
    )


def _occurrence_filters(window_from, window_to, endpoint_id, unit_id, include_cancelled, group_id=None):
    """The WHERE of occurrences_select (Occurrence joined to its Meeting)."""
    # the lower bound on starts_at keeps the index range to the window: no sitting is longer than MAX_DURATION
    filters = [Occurrence.starts_at < window_to, Occurrence.ends_at > window_from,
               Occurrence.starts_at > window_from - MAX_DURATION]
    if not include_cancelled:
        filters += [Occurrence.status == "scheduled", Meeting.status == "scheduled"]
    if endpoint_id is not None:
        filters.append(Occurrence.meeting_id.in_(
            sa.select(meeting_endpoints.c.meeting_id).where(meeting_endpoints.c.endpoint_id == endpoint_id)))
    if unit_id is not None:
        filters.append(Occurrence.meeting_id.in_(
            sa.select(meeting_endpoints.c.meeting_id)
            .join(Endpoint, Endpoint.id == meeting_endpoints.c.endpoint_id)
            .where(Endpoint.unit_id.in_(registry.descendant_ids_select(unit_id)))))
    if group_id is not None:
        filters.append(Occurrence.meeting_id.in_(
            sa.select(meeting_endpoints.c.meeting_id)
            .join(endpoint_group_members, endpoint_group_members.c.endpoint_id == meeting_endpoints.c.endpoint_id)
            .where(endpoint_group_members.c.group_id == group_id)))
    return filters


def sittings_by_day(days, *, per_day=None, endpoint_id=None, unit_id=None, group_id=None):
    """Return ({day: [Occurrence]}, {day: how many}) of the scheduled sittings starting on each local day.

    days: consecutive local dates. per_day: list at most this many a day, the
    earliest (None: all). One query whatever the number of sittings: the day
    of each sitting, its rank in the day and the day's count come from SQL, so
    a week of the country's 3,000 sittings loads only what a page shows.
    """
    bounds = [local_to_utc(datetime.combine(day, time.min)) for day in days]
    bounds.append(local_to_utc(datetime.combine(days[-1] + timedelta(days=1), time.min)))
    inner = bounds[1:-1]
    day_index = (sa.case(*[(Occurrence.starts_at < bound, i) for i, bound in enumerate(inner)], else_=len(inner))
                 if inner else sa.literal(0))
    ranked = (
        sa.select(Occurrence.id, day_index.label("day"),
                  sa.func.row_number().over(partition_by=day_index,
                                            order_by=(Occurrence.starts_at, Occurrence.id)).label("rank"),
                  sa.func.count().over(partition_by=day_index).label("day_total"))
        .join(Occurrence.meeting)
        .where(*_occurrence_filters(bounds[0], bounds[-1], endpoint_id, unit_id, False, group_id),
               Occurrence.starts_at >= bounds[0])
        .subquery()
    )
    query = sa.select(ranked.c.id, ranked.c.day, ranked.c.day_total)
    if per_day is not None:
        query = query.where(ranked.c.rank <= per_day)
    # two steps: the ranks first, then the few sittings listed (a join back lets the planner scan them all)
    chosen = {row.id: (days[row.day], row.day_total) for row in db.session.execute(query)}
    listed, counts = defaultdict(list), {}
    if chosen:
        for occurrence in db.session.scalars(
                sa.select(Occurrence).where(one_of(Occurrence.id, chosen, db.session.get_bind()))
                .options(selectinload(Occurrence.meeting).selectinload(Meeting.chair))
                .order_by(Occurrence.starts_at, Occurrence.id)):
            day, total = chosen[occurrence.id]
            listed[day].append(occurrence)
            counts[day] = total
    return listed, counts


def meetings_select(*, q=None, status=None, organizer_id=None, window_from=None, window_to=None):
    """Select meetings for the list page, newest start first; q ignores accents and case."""
    query = sa.select(Meeting).options(selectinload(Meeting.chair)).order_by(Meeting.starts_at.desc(), Meeting.id.desc())
    if status:
        query = query.where(Meeting.status == status)
    if organizer_id:
        query = query.where(Meeting.organizer_id == organizer_id)
    if window_from is not None:
        query = query.where(Meeting.id.in_(sa.select(Occurrence.meeting_id).where(Occurrence.ends_at > window_from)))
    if window_to is not None:
        query = query.where(Meeting.id.in_(sa.select(Occurrence.meeting_id).where(Occurrence.starts_at < window_to)))
    for word in fold(q).split() if q else []:
        query = query.where(Meeting.search_key.contains(word, autoescape=True))
    return query


def sites_by_district(meeting):
    """Return [(district or province unit, [endpoints])] in official order, for the meeting page."""
    # units and their parents in two queries, not one per site: a national meeting has 10,000 sites
    endpoints = db.session.scalars(
        sa.select(Endpoint).join(meeting_endpoints, meeting_endpoints.c.endpoint_id == Endpoint.id)
        .where(meeting_endpoints.c.meeting_id == meeting.id)
        .options(selectinload(Endpoint.unit).selectinload(AdminUnit.parent), selectinload(Endpoint.technician))
        .order_by(Endpoint.name_sort_key, Endpoint.id)
    ).all()
    groups = defaultdict(list)
    for endpoint in endpoints:
        unit = endpoint.unit
        head = unit.parent if unit.level == "commune" and unit.parent is not None else unit
        groups[head].append(endpoint)
    level_order = {"province": 0, "district": 1, "commune": 2}
    return sorted(groups.items(), key=lambda kv: (level_order[kv[0].level], kv[0].position, kv[0].id))


def guard_retire(endpoint):
    """Refuse to retire an endpoint booked in a meeting that has not ended."""
    upcoming = db.session.scalar(
        sa.select(Occurrence).join(Reservation).where(Reservation.endpoint_id == endpoint.id,
                                                      Occurrence.ends_at > utcnow()).limit(1)
    )
    if upcoming is not None:
        raise Conflict(say("Điểm cầu «%(site)s» đang có lịch họp «%(title)s» lúc %(when)s; hãy đổi điểm cầu của "
                           "cuộc họp trước.", site=endpoint.name, title=upcoming.meeting.title,
                           when=format_datetime(upcoming.starts_at)), meeting_id=upcoming.meeting_id)


registry.retire_guards.append(guard_retire)
