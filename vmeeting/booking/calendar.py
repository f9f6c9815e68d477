"""The calendar page (EventCalendar, served from static/vendor) and the JSON it reads and writes.

The page is a thin shell: EventCalendar draws month, week, day, agenda and the
sites × time timeline; it reads /calendar/events and /calendar/resources and
sends a dragged meeting to /calendar/move, which runs the booking service's
own rules (the same ones as the move page and the API), so a refused move is
answered with the service's reason and undone in the browser.
"""

from collections import defaultdict
from datetime import date, datetime, time, timedelta

import sqlalchemy as sa
from flask import jsonify, render_template, request, url_for
from flask_babel import gettext
from flask_login import current_user
from sqlalchemy.orm import selectinload

from vmeeting.auth.guards import permission_required
from vmeeting.booking import rehearsal, scopes, service
from vmeeting.booking.models import Occurrence, meeting_endpoints
from vmeeting.booking.validation import has_begun
from vmeeting.booking.views import bp
from vmeeting.core.bounds import query_date, query_id
from vmeeting.core.database import MAX_ID
from vmeeting.core.errors import Conflict, StaleEdit, ValidationError
from vmeeting.core.extensions import db
from vmeeting.registry import areas
from vmeeting.registry import service as registry
from vmeeting.registry.models import AdminUnit, Endpoint, EndpointGroup, endpoint_group_members
from vmeeting.core.text import N_, say, shown
from vmeeting.core.timefmt import local_to_utc, local_zone, parse_api_instant, to_local
from vmeeting.working_time import service as working_time

#: the vendored EventCalendar's version (static/vendor/event-calendar/README.md); busts browser caches
EVENT_CALENDAR_VERSION = "5.10.1"
#: the longest span one feed request may cover (a month view with its edges is 42 days)
MAX_FEED_DAYS = 100
#: how the old ?view= of the server-rendered calendar maps onto EventCalendar's views
EC_VIEWS = {"month": "dayGridMonth", "week": "timeGridWeek", "day": "timeGridDay", "list": "listWeek",
            "sites": "resourceTimelineWeek"}
STATUSES = ("scheduled", "cancelled", "all")
#: the server-rendered (no-script) table's views
VIEWS = ("month", "week", "day")
#: how many sittings a day the table lists in each view (the rest behind a link to the day); None: all.
#: A week of the country holds thousands of sittings: the page lists what a person reads.
TABLE_PER_DAY = {"month": 4, "week": 12, "day": None}


def calendar_range(view, anchor):
    """Return (first day, last day, previous anchor, next anchor) of the view around anchor."""
    if view == "day":
        return anchor, anchor, anchor - timedelta(days=1), anchor + timedelta(days=1)
    if view == "week":
        monday = anchor - timedelta(days=anchor.weekday())
        return monday, monday + timedelta(days=6), anchor - timedelta(weeks=1), anchor + timedelta(weeks=1)
    month_first = anchor.replace(day=1)
    next_month = (month_first + timedelta(days=32)).replace(day=1)
    month_last = next_month - timedelta(days=1)
    first = month_first - timedelta(days=month_first.weekday())
    last = month_last + timedelta(days=6 - month_last.weekday())
    previous = (month_first - timedelta(days=1)).replace(day=1)
    return first, last, previous, next_month


def _scope():
    """The endpoint, unit and group the calendar is narrowed to (each None when not asked or unknown)."""
    endpoint_id = request.args.get("endpoint_id", type=query_id)
    # a viewer attached to a unit sees that unit's meetings (booking.scopes.viewer_unit_id), unless they name another
    unit_id = request.args.get("unit_id", type=query_id) or scopes.viewer_unit_id(current_user)
    group_id = request.args.get("group_id", type=query_id)
    endpoint = db.session.get(Endpoint, endpoint_id) if endpoint_id else None
    unit = db.session.get(AdminUnit, unit_id) if unit_id else None
    group = db.session.get(EndpointGroup, group_id) if group_id else None
    return endpoint, unit, group


def _status():
    """The meeting status the calendar shows: scheduled (default), cancelled or all."""
    return request.args.get("status") if request.args.get("status") in STATUSES else "scheduled"


def _narrowing(endpoint, unit, group):
    """The scope as occurrences_select's keywords and as query arguments for the feeds' URLs."""
    return {"endpoint_id": endpoint.id if endpoint else None, "unit_id": unit.id if unit else None,
            "group_id": group.id if group else None}


@bp.get("/calendar")
@permission_required("meetings.view")
def calendar():
    """Meetings by month, week, day, as an agenda, or sites × time; for everyone, one endpoint, or one unit.

    Query: view (month|week|day|list|sites, default week), date (YYYY-MM-DD),
    endpoint_id, unit_id, group_id (meetings with a site there), status
    (scheduled|cancelled|all). The filters pass on to the events and the
    sites × time rows. Without JavaScript the page shows the same range as a
    server-rendered table (<noscript>), so old links keep working.
    """
    view = request.args.get("view") if request.args.get("view") in EC_VIEWS else "week"
    anchor = request.args.get("date", type=query_date)
    if anchor and not working_time.FIRST_YEAR <= anchor.year <= working_time.LAST_YEAR:
        anchor = None
    today = datetime.now(local_zone()).date()
    anchor = anchor or today
    endpoint, unit, group = _scope()
    narrowing, status = _narrowing(endpoint, unit, group), _status()
    table_view = view if view in VIEWS else "week"
    first, last, previous, following = calendar_range(table_view, anchor)
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    by_day, day_counts = service.sittings_by_day(days, per_day=TABLE_PER_DAY[table_view], **narrowing)
    blocks = working_time.working_blocks()
    options = {
        "view": EC_VIEWS[view], "date": anchor.isoformat(), "today": today.isoformat(),
        "canBook": current_user.can("meetings.book"),
        # the office's zone, so "now" and today are the office's in a browser set to another zone
        "timeZone": datetime.now(local_zone()).strftime("%z")[:3] + ":" + datetime.now(local_zone()).strftime("%z")[3:],
        "eventsUrl": url_for("booking.calendar_events", **narrowing),
        "resourcesUrl": url_for("booking.calendar_resources", unit_id=narrowing["unit_id"],
                                group_id=narrowing["group_id"]),
        "moveUrl": url_for("booking.calendar_move"),
        "bookUrl": url_for("booking.create"),
        "slotMinTime": "06:00", "slotMaxTime": "20:00",
        "scrollTime": blocks[0][0].strftime("%H:%M") if blocks else "07:00",
        "businessHours": [{"daysOfWeek": [1, 2, 3, 4, 5], "startTime": a.strftime("%H:%M"),
                           "endTime": b.strftime("%H:%M")} for a, b in blocks],
    }
    return render_template("booking/calendar.html", view=table_view, anchor=anchor, days=days, by_day=by_day,
                           day_counts=day_counts, previous=previous, following=following, endpoint=endpoint,
                           unit=unit, group=group, status=status, ec_view=view, today=today,
                           total=sum(day_counts.values()), options=options, ec_version=EVENT_CALENDAR_VERSION,
                           filter_units=registry.unit_outline(also=unit, on_day=anchor), filter_groups=db.session.scalars(registry.groups_select()).all())


def _feed_window():
    """Parse the feed's start/end (local wall time, or ISO 8601 with an offset) into UTC instants.

    Raises ValidationError naming `start` or `end`.
    """
    bounds, errors = {}, {}
    for name in ("start", "end"):
        raw = (request.args.get(name) or "").strip()
        try:
            if len(raw) == 10:
                value = local_to_utc(datetime.combine(date.fromisoformat(raw), time.min))
            else:
                value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
                value = local_to_utc(value) if value.tzinfo is None else parse_api_instant(raw)
            if not working_time.FIRST_YEAR <= to_local(value).year <= working_time.LAST_YEAR:
                raise ValueError
            bounds[name] = value
        except (ValueError, OverflowError):
            errors[name] = N_("Cần ngày giờ ISO 8601, ví dụ 2026-12-07 hoặc 2026-12-07T00:00:00.")
    if not errors and bounds["end"] <= bounds["start"]:
        errors["end"] = N_("Phải sau «start».")
    if not errors and bounds["end"] - bounds["start"] > timedelta(days=MAX_FEED_DAYS):
        errors["end"] = say("Khoảng thời gian tối đa %(days)s ngày.", days=MAX_FEED_DAYS)
    if errors:
        raise ValidationError(errors)
    return bounds["start"], bounds["end"]


def _local_iso(instant):
    """Wall-clock ISO text without an offset: the calendar shows it as it is, in any browser's zone."""
    return to_local(instant).replace(tzinfo=None).isoformat(timespec="minutes")


def _json_error(exc):
    """A service error as the calendar's fetches read it: the API's error body, in the page's language.

    The page's JSON, not the API's: what calendar.js shows the person (the message, the fields' and the
    sittings' reasons) is said through `text.shown`.
    """
    db.session.rollback()
    if isinstance(exc, ValidationError):
        fields = {name: shown(reason) for name, reason in exc.fields.items()}
        return jsonify({"error": {"code": "validation_error", "message": shown(exc.message), "fields": fields}}), 400
    details = dict(exc.details)
    if details.get("sittings"):
        details["sittings"] = [{**sitting, "reason": shown(sitting.get("reason"))} for sitting in details["sittings"]]
    return jsonify({"error": {"code": exc.code, "message": shown(exc.message), **details}}), exc.status


@bp.get("/calendar/events")
@permission_required("meetings.view")
def calendar_events():
    """The sittings in [start, end) as EventCalendar events, and the non-working days as shading.

    Query: start, end (local dates or times; at most MAX_FEED_DAYS apart),
    endpoint_id, unit_id, group_id (narrow like the page), status (scheduled|cancelled|all),
    resources=1 (each event names its sites, for the sites × time view).
    Answer: a JSON list; times are local wall-clock without an offset.
    """
    try:
        window_from, window_to = _feed_window()
    except ValidationError as exc:
        return _json_error(exc)
    status = _status()
    query = service.occurrences_select(window_from, window_to, **_narrowing(*_scope()),
                                       include_cancelled=status != "scheduled")
    occurrences = db.session.scalars(query).all()
    if status == "cancelled":
        occurrences = [o for o in occurrences if o.is_cancelled or o.meeting.is_cancelled]
    sites = _sites_of({o.meeting_id for o in occurrences}) if request.args.get("resources") == "1" else {}
    can_book, now = current_user.can("meetings.book"), datetime.now(local_zone())
    events = [_event(o, can_book and o.ends_at > now and not (o.is_cancelled or o.meeting.is_cancelled), sites, now)
              for o in occurrences]
    return jsonify(events + _non_working_days(to_local(window_from).date(), to_local(window_to).date()))


def _event(occurrence, editable, sites, now):
    """One sitting as an EventCalendar event; extendedProps.version is the meeting's version a drag is based on.

    A sitting under way is not draggable (it keeps its start: `validation.check_under_way`).
    """
    meeting = occurrence.meeting
    cancelled = occurrence.is_cancelled or meeting.is_cancelled
    event = {
        "id": str(occurrence.id), "title": meeting.title,
        "start": _local_iso(occurrence.starts_at), "end": _local_iso(occurrence.ends_at),
        "editable": editable, "startEditable": editable and not has_begun(occurrence, meeting, now), "durationEditable": False,
        "classNames": ["vm-event"] + (["vm-cancelled"] if cancelled else []) + (["vm-series"] if meeting.recurrence else [])
        + (["vm-pending"] if meeting.status == "pending" else []),
        "extendedProps": {"meeting_id": meeting.id, "occurrence_id": occurrence.id,
                          "url": url_for("booking.show", meeting_id=meeting.id),
                          "series": bool(meeting.recurrence), "chair": meeting.chair.name if meeting.chair else "",
                          "sites": meeting.endpoint_count, "cancelled": cancelled,
                          "pending": meeting.status == "pending",
                          "version": service.version_of(meeting)},
    }
    if sites:
        event["resourceIds"] = sites.get(meeting.id, [])
    return event


def _sites_of(meeting_ids):
    """{meeting_id: ["e<endpoint id>", "u<district id>", ...]}: a site's row and its district's.

    The district row carries its sites' meetings too, so a collapsed district shows when it is busy.
    Districts as every page groups sites (registry.areas: since 01/7/2025 a commune under its former
    district). Three queries whatever the number of meetings.
    """
    if not meeting_ids:
        return {}
    rows = db.session.execute(
        sa.select(meeting_endpoints.c.meeting_id, Endpoint.id, Endpoint.unit_id)
        .join(Endpoint, Endpoint.id == meeting_endpoints.c.endpoint_id)
        .where(meeting_endpoints.c.meeting_id.in_(meeting_ids))).all()
    units = db.session.scalars(sa.select(AdminUnit).where(AdminUnit.id.in_({unit_id for *_r, unit_id in rows}))
                               .options(selectinload(AdminUnit.parent))).all()
    heads = areas.district_heads(units)
    found = defaultdict(list)
    for meeting_id, endpoint_id, unit_id in rows:
        head = heads[unit_id].id
        found[meeting_id].append(f"e{endpoint_id}")
        if f"u{head}" not in found[meeting_id]:
            found[meeting_id].append(f"u{head}")
    return found


def _non_working_days(first, last):
    """Background events shading the holidays, declared days off and weekends of [first, last]."""
    days = working_time.WorkingCalendar(first, last)
    # a public holiday is named in the page's language (a declared day keeps the name it was given)
    names = {}
    for year in range(first.year, last.year + 1):
        names.update(working_time.holiday_names_for_page(year))
    shading, day = [], first
    while day <= last:
        info = days.day(day)
        if not info.is_working:
            name = names.get(day, info.reason) if info.kind == "holiday" else info.reason
            shading.append({"start": f"{day.isoformat()}T00:00", "end": f"{(day + timedelta(days=1)).isoformat()}T00:00",
                            # a weekend needs no words; a holiday is named (its tooltip)
                            "display": "background", "title": "" if info.kind == "weekend" else name,
                            "classNames": [f"vm-{info.kind}"],
                            "extendedProps": {"kind": info.kind, "name": name}})
        day += timedelta(days=1)
    return shading


@bp.get("/calendar/resources")
@permission_required("meetings.view")
def calendar_resources():
    """The sites × time view's rows: districts as every page groups sites (registry.areas: since 2025 a
    commune under its former district), and the province's own sites, opening to their sites, folded.

    Query: unit_id narrows to one unit and everything below it, group_id to the
    group's sites. Answer: a JSON list of {id, title, children: [{id: "e<endpoint id>", title}]},
    official order.
    """
    _endpoint, unit, group = _scope()
    query = (sa.select(Endpoint).where(Endpoint.status != "retired")
             .options(selectinload(Endpoint.unit).selectinload(AdminUnit.parent))
             .order_by(Endpoint.name_sort_key, Endpoint.id))
    if unit is not None:
        query = query.where(Endpoint.unit_id.in_(registry.descendant_ids_select(unit.id)))
    if group is not None:
        query = query.where(Endpoint.id.in_(sa.select(endpoint_group_members.c.endpoint_id)
                                            .where(endpoint_group_members.c.group_id == group.id)))
    endpoints = db.session.scalars(query).all()
    heads = areas.district_heads({endpoint.unit for endpoint in endpoints})
    groups = defaultdict(list)
    for endpoint in endpoints:
        groups[heads[endpoint.unit_id]].append(endpoint)
    order = {"province": 0, "district": 1, "commune": 2}
    return jsonify([
        {"id": f"u{head.id}", "title": f"{head.name} ({len(sites)})", "expanded": len(groups) == 1,
         "children": [{"id": f"e{e.id}", "title": e.name} for e in sites]}
        for head, sites in sorted(groups.items(), key=lambda kv: (order[kv[0].level], kv[0].position, kv[0].id))
    ])


@bp.post("/calendar/move")
@permission_required("meetings.book")
def calendar_move():
    """Move a dragged sitting under the booking rules; undone (409/400) when they refuse.

    Body (JSON, CSRF token in X-CSRFToken): occurrence_id, starts_at, ends_at
    (local wall-clock "YYYY-MM-DDTHH:MM", or ISO 8601 with an offset),
    allow_non_working_time (bool), version (the meeting's version the event
    was read with, its extendedProps.version). A sitting of a series moves
    alone (service.move_occurrence); a single meeting is rescheduled
    (service.update_meeting), so its invite's SEQUENCE and mail follow as on
    the edit form. Answer: 200 {message, version} or the API's error body:
    412 `precondition_failed` with the changes made meanwhile when the
    meeting changed since the calendar read it, or when the body carries no
    version (as a form without one), nothing moved.

    dry_run (bool, default false): the review before a move. The move is made
    with every rule, its mails queued, then all of it rolled back; the answer is
    200 {dry_run: true, title, series, old: {starts_at, ends_at}, new: {...},
    recipients (how many people the move would mail), message}, or the same
    error body the move itself would get (its conflicts, its non-working time, 412).
    """
    data = request.get_json(silent=True)
    data = data if isinstance(data, dict) else {}
    errors = {}
    occurrence = None
    raw_id = data.get("occurrence_id")
    if isinstance(raw_id, int) and not isinstance(raw_id, bool) and 1 <= raw_id <= MAX_ID:
        occurrence = db.session.get(Occurrence, raw_id)
    if occurrence is None:
        errors["occurrence_id"] = N_("Không có buổi họp này.")
    instants = {}
    for name in ("starts_at", "ends_at"):
        raw = data.get(name)
        try:
            value = datetime.fromisoformat(raw)
            instants[name] = local_to_utc(value) if value.tzinfo is None else parse_api_instant(raw)
        except (TypeError, ValueError, OverflowError):
            errors[name] = N_("Cần ngày giờ ISO 8601, ví dụ 2026-12-07T08:00.")
    version = data.get("version")
    # the version as the feed gave it (text); none, or anything else, is stale: nothing moves unseen
    version = version if isinstance(version, str) and version else "unknown"
    allow = data.get("allow_non_working_time", False)
    if not isinstance(allow, bool):
        errors["allow_non_working_time"] = N_("Phải là true hoặc false.")
    dry_run = data.get("dry_run", False)
    if not isinstance(dry_run, bool):
        errors["dry_run"] = N_("Phải là true hoặc false.")
    try:
        if errors:
            raise ValidationError(errors)
        meeting = occurrence.meeting
        choices = service.BookingChoices(allow_non_working_time=allow)
        before, mark = (occurrence.starts_at, occurrence.ends_at), rehearsal.outbox_mark() if dry_run else 0
        if meeting.recurrence:
            service.move_occurrence(occurrence, instants["starts_at"], instants["ends_at"], actor=current_user,
                                    choices=choices, expected_version=version)
        else:
            service.update_meeting(meeting, {"starts_at": instants["starts_at"], "ends_at": instants["ends_at"]},
                                   actor=current_user, choices=choices, expected_version=version)
        if dry_run:
            return _review(occurrence, before, mark)
        start = to_local(occurrence.starts_at)
        # the answer is built before the commit: a read after it could turn the stored move into a 503
        answer = jsonify({"message": gettext("Đã dời «%(title)s» sang %(when)s.", title=meeting.title,
                                             when=f"{start:%H:%M} {start:%d/%m/%Y}"),
                          "occurrence_id": occurrence.id, "starts_at": _local_iso(occurrence.starts_at),
                          "ends_at": _local_iso(occurrence.ends_at), "version": service.version_of(meeting)})
        db.session.commit()
    except (ValidationError, Conflict, StaleEdit) as exc:
        return _json_error(exc)
    return answer


def _review(occurrence, before, mark):
    """The dry run's answer (see calendar_move), read inside the rehearsed move, which is then rolled back."""
    meeting = occurrence.meeting
    told = rehearsal.recipients_since(mark, meeting.id)
    start = to_local(occurrence.starts_at)
    answer = {"dry_run": True, "occurrence_id": occurrence.id, "title": meeting.title, "series": bool(meeting.recurrence),
              "old": {"starts_at": _local_iso(before[0]), "ends_at": _local_iso(before[1])},
              "new": {"starts_at": _local_iso(occurrence.starts_at), "ends_at": _local_iso(occurrence.ends_at)},
              "recipients": told,
              "message": gettext("Dời «%(title)s» sang %(when)s: %(count)s người sẽ nhận thư mời cập nhật.",
                                 title=meeting.title, when=f"{start:%H:%M} {start:%d/%m/%Y}", count=told)}
    db.session.rollback()
    return jsonify(answer)
