"""JSON API for meetings and free slots (CONTRACT.md)."""

from datetime import datetime, timedelta

from flask import abort, current_app, g, jsonify, request

from vmeeting.auth.guards import api_permission_required
from vmeeting.booking import approvals, idempotency, service, slots
from vmeeting.booking.apidoc import SCHEMAS
from vmeeting.booking.models import Meeting, Occurrence
from vmeeting.core.database import MAX_ID, utcnow
from vmeeting.core.errors import ValidationError
from vmeeting.core.extensions import db
from vmeeting.core.jsonapi import api_blueprint, committed, json_body, list_errors, paginated
from vmeeting.registry.models import Bridge, Endpoint
from vmeeting.core.timefmt import parse_api_instant, to_local
from vmeeting.working_time.service import FIRST_YEAR, LAST_YEAR

bp = api_blueprint("booking_api", __name__)

DEFAULT_WINDOW = timedelta(days=14)
#: the body's booleans that are a BookingChoices
CHOICE_FLAGS = ("allow_non_working_time", "skip_non_working", "skip_conflicting", "skip_busy",
                "displace_lower_priority")
MAX_WINDOW = timedelta(days=400)


def meeting_json(meeting, endpoint_ids=None):
    """Return a meeting as the API shows it; `skipped` when a booking just left sittings out.

    endpoint_ids: the meeting's site ids when the caller has read them already
    (service.endpoint_ids_of); read here otherwise, as ids, never as 10,000 objects.
    """
    if endpoint_ids is None:
        endpoint_ids = service.endpoint_ids_of(meeting)
    body = {
        "id": meeting.id, "uid": meeting.uid, "title": meeting.title, "description": meeting.description,
        "status": meeting.status, "priority": meeting.priority, "sequence": meeting.sequence,
        "starts_at": meeting.starts_at.isoformat(), "ends_at": meeting.ends_at.isoformat(),
        "setup_minutes": meeting.setup_minutes, "recurrence": meeting.recurrence,
        "recurrence_text": service.recurrence_text(meeting) or None,
        "recurrence_warning": service.recurrence_warning(meeting) or None,
        "cancel_reason": meeting.cancel_reason,
        "chair_endpoint_id": meeting.chair_endpoint_id, "bridge_id": meeting.bridge_id,
        "organizer_id": meeting.organizer_id, "attendees": meeting.attendees,
        "endpoint_ids": endpoint_ids, "endpoint_count": meeting.endpoint_count,
        "selection": meeting.selection,
        # pending: waiting for the owning units' approval (booking.approvals); [] for a booking within scope
        "approvals": approvals.approvals_of(meeting),
        "occurrences": [occurrence_json(o) for o in sorted(meeting.occurrences, key=_sitting_order)],
        "created_at": meeting.created_at.isoformat(), "updated_at": meeting.updated_at.isoformat(),
    }
    if getattr(meeting, "skipped", None) is not None:
        body["skipped"] = meeting.skipped
    return body


def meeting_response(meeting, status=200, *, warn=False):
    """The meeting's JSON with its ETag (the version a later PATCH names in If-Match).

    warn: a booking or change also answers `warnings` about its sites (down, open incident) and about
    the meeting itself (late_notice: fewer than 3 working days before it, the giấy mời may arrive late).
    """
    endpoint_ids = service.endpoint_ids_of(meeting)
    body = meeting_json(meeting, endpoint_ids)
    if warn:
        body["warnings"] = service.site_warnings(endpoint_ids) + service.meeting_warnings(meeting)
    response = jsonify(body)
    response.status_code = status
    response.set_etag(etag_of(meeting))
    return response


def etag_of(meeting):
    return f"meeting-{meeting.id}-v{service.version_of(meeting)}"


def _expected_version(meeting):
    """The version the client's If-Match names, for the service's check under the meeting's lock.

    None without the header (If-Match is optional: the write applies to the
    meeting as it is then) and for "*" (RFC 9110 §13.1.1: any current
    version; the meeting exists). Otherwise the header is read as a list of
    entity tags, each strong and quoted (`"meeting-18-v3"`); the answer is
    the list of this meeting's versions they name, any of which passes
    (§13.1.1: the condition holds when any listed tag matches). A header that
    names none (another meeting's tag, a weak tag, text that is no entity tag
    at all) matches no version: "unknown", which the service refuses with 412
    like any stale one, never a 500 whatever the client sends.
    """
    raw = request.headers.get("If-Match")
    if raw is None:
        return None
    tags = [tag.strip() for tag in raw.split(",")]
    if "*" in tags:
        return None  # any version: the meeting exists (get_or_404)
    prefix = f'"meeting-{meeting.id}-v'
    versions = [tag[len(prefix):-1] for tag in tags
                if tag.startswith(prefix) and tag.endswith('"') and len(tag) > len(prefix) + 1]
    return versions or "unknown"


def _sitting_order(occurrence):
    """`Meeting.occurrences`' order, kept by an answer built before the commit, when a move or a new
    sitting has not yet been read back in order."""
    return occurrence.starts_at, occurrence.id


def occurrence_json(occurrence):
    return {
        "id": occurrence.id, "starts_at": occurrence.starts_at.isoformat(),
        # a cancelled meeting's sittings are cancelled with it, as the list of sittings says too
        "ends_at": occurrence.ends_at.isoformat(), "status": "cancelled" if occurrence.is_cancelled else "scheduled",
        "is_moved": occurrence.is_moved, "original_starts_at": occurrence.original_starts_at.isoformat(),
        "cancel_reason": occurrence.cancel_reason,
    }


def _instant(data, name, errors, required=True):
    raw = data.get(name)
    if raw in (None, ""):
        if required:
            errors[name] = "Nhập thời gian (ISO 8601 có múi giờ, ví dụ 2026-12-07T08:00:00+07:00)."
        return None
    if not isinstance(raw, str):
        errors[name] = "Thời gian phải là chuỗi ISO 8601 có múi giờ, ví dụ 2026-12-07T08:00:00+07:00."
        return None
    try:
        value = parse_api_instant(raw)
    except (TypeError, ValueError, OverflowError):
        if _written_year(raw) is not None and not FIRST_YEAR <= _written_year(raw) <= LAST_YEAR:
            errors[name] = f"Thời gian phải trong các năm {FIRST_YEAR}–{LAST_YEAR}."  # 0001 or 9999: a real date
        else:
            errors[name] = "Thời gian phải theo ISO 8601 và có múi giờ, ví dụ 2026-12-07T08:00:00+07:00."
        return None
    if not FIRST_YEAR <= to_local(value).year <= LAST_YEAR:
        errors[name] = f"Thời gian phải trong các năm {FIRST_YEAR}–{LAST_YEAR}."
        return None
    return value


def _written_year(raw):
    """The year of an ISO 8601 time with an offset as written, or None if it is not one."""
    try:
        written = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        return None
    return written.year if written.tzinfo is not None else None


def _flag(data, name, errors):
    """A boolean field of the body: true or false, nothing else (absent: false)."""
    value = data.get(name, False)
    if not isinstance(value, bool):
        errors[name] = "Phải là true hoặc false."
        return False
    return value


def _json_ids(data, errors):
    """The id fields of a JSON body are JSON numbers: ids a whole number (or null), id lists a list of them.

    The form posts text and reads it as numbers; a JSON client that sends
    "5" or "5,6" has a bug worth telling it about (CONTRACT.md: strict types).
    """
    for name in ("chair_endpoint_id", "bridge_id"):
        value = data.get(name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            errors[name] = "Phải là một số nguyên (mã số), không phải chuỗi."
    for name in ("endpoint_ids", "unit_ids", "group_ids"):
        value = data.get(name)
        if value is None:
            continue
        if not isinstance(value, list) or any(isinstance(v, bool) or not isinstance(v, int) for v in value):
            errors[name] = "Phải là một danh sách số nguyên, ví dụ [12, 15]."


def _meeting_input(data, *, meeting=None):
    """Split a request body into meeting fields and, if sites were named, a SiteChoice.

    With `meeting` (a PATCH) fields may be left out, and the meeting's own sites
    stay choosable while in maintenance.
    """
    partial = meeting is not None
    errors = {}
    fields = {k: data[k] for k in service.MEETING_FIELDS if k in data and k not in ("starts_at", "ends_at")}
    for name in ("starts_at", "ends_at"):
        if name in data or not partial:
            fields[name] = _instant(data, name, errors)
    flags = {name: _flag(data, name, errors) for name in ("all_endpoints", *CHOICE_FLAGS)}
    # every list of the body is a JSON array (attendees too, which the page's form sends as lines of text)
    errors.update(list_errors(data, SCHEMAS["MeetingPatch" if partial else "MeetingInput"]))
    _json_ids(data, errors)  # the id lists' own reason, which says what goes in them
    if errors:
        raise ValidationError(errors)
    choice = None
    if not partial or any(k in data for k in ("endpoint_ids", "unit_ids", "group_ids", "all_endpoints")):
        # units are valid on the meeting's local day: a 06:00 sitting in Hà Nội is the previous day in UTC
        on_day = to_local(fields.get("starts_at") or (meeting.starts_at if meeting else utcnow())).date()
        choice = service.resolve_sites(
            endpoint_ids=data.get("endpoint_ids") or (), unit_ids=data.get("unit_ids") or (),
            group_ids=data.get("group_ids") or (), all_endpoints=flags["all_endpoints"], on_day=on_day,
            meeting=meeting, as_rows=True,  # the booking needs the sites' columns, not 10,000 objects
        )
    return fields, choice, service.BookingChoices(**{name: flags[name] for name in CHOICE_FLAGS})


def _window():
    errors = {}
    window_from = _instant(request.args, "from", errors, required=False) or utcnow()
    window_to = _instant(request.args, "to", errors, required=False) or window_from + DEFAULT_WINDOW
    if not errors and window_to <= window_from:
        errors["to"] = "Phải sau «from»."
    if not errors and window_to - window_from > MAX_WINDOW:
        errors["to"] = "Khoảng thời gian tối đa 400 ngày."
    if errors:
        raise ValidationError(errors)
    return window_from, window_to


def _int_arg(name, default=None, low=None, high=None):
    raw = request.args.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValidationError({name: "Phải là số nguyên."}) from None
    if (low is not None and value < low) or (high is not None and value > high):
        raise ValidationError({name: f"Phải từ {low} đến {high}."})
    return value


def _id_args(name):
    values = []
    for raw in request.args.getlist(name):
        values += [part for part in raw.split(",") if part.strip()]
    return values


@bp.post("/meetings")
@api_permission_required("meetings.book")
def create_meeting():
    """Book a meeting; 409 with the conflicts or the capacity shortfall, nothing stored.

    With an Idempotency-Key (booking.idempotency) a retry gets the first answer again.
    """
    data = json_body()
    key = idempotency.key_of(request.headers)
    claimed = None
    if key is not None:
        claimed, stored = idempotency.claim(g.api_user, key, idempotency.fingerprint(request.method, request.path, data))
        if stored is not None:
            return _replayed(stored)
    fields, choice, choices = _meeting_input(data)
    meeting = service.book_meeting(fields, choice, actor=g.api_user, choices=choices)
    response = meeting_response(meeting, 201, warn=True)
    if claimed is not None:
        idempotency.remember(claimed, meeting, response.status_code, response.get_etag()[0], response.get_data())
    return committed(response)


def _replayed(stored):
    """The answer a booking stored under an Idempotency-Key, sent again and marked as such."""
    response = current_app.response_class(stored.response_body, status=stored.status_code,
                                          mimetype="application/json")
    response.set_etag(stored.etag)
    response.headers[idempotency.REPLAYED_HEADER] = "true"
    return response


@bp.get("/meetings")
@api_permission_required("meetings.view")
def list_occurrences():
    """List the occurrences in a window, series expanded, optionally for one endpoint."""
    window_from, window_to = _window()
    endpoint_id = _int_arg("endpoint_id", low=1, high=MAX_ID)
    if endpoint_id is not None and db.session.get(Endpoint, endpoint_id) is None:
        raise ValidationError({"endpoint_id": "Không có điểm cầu này."})
    query = service.occurrences_select(window_from, window_to, endpoint_id=endpoint_id,
                                       include_cancelled=request.args.get("include_cancelled") == "1")

    def item(occurrence):
        meeting = occurrence.meeting
        return {
            "id": meeting.id, "occurrence_id": occurrence.id, "title": meeting.title,
            "starts_at": occurrence.starts_at.isoformat(), "ends_at": occurrence.ends_at.isoformat(),
            "status": "cancelled" if occurrence.is_cancelled else meeting.status,
            "is_recurring": bool(meeting.recurrence), "chair_endpoint_id": meeting.chair_endpoint_id,
            "endpoint_count": meeting.endpoint_count, "priority": meeting.priority,
        }

    return paginated(query, item)


@bp.get("/meetings/<int:meeting_id>")
@api_permission_required("meetings.view")
def get_meeting(meeting_id):
    """The meeting, with its ETag."""
    return meeting_response(db.get_or_404(Meeting, meeting_id))


@bp.patch("/meetings/<int:meeting_id>")
@api_permission_required("meetings.book")
def update_meeting(meeting_id):
    """Reschedule or change the sites; same rules; bumps the sequence; 412 on a stale If-Match."""
    meeting = db.get_or_404(Meeting, meeting_id)
    expected = _expected_version(meeting)
    fields, choice, choices = _meeting_input(json_body(), meeting=meeting)
    service.update_meeting(meeting, fields, choice, actor=g.api_user, choices=choices, expected_version=expected)
    return committed(meeting_response(meeting, warn=True))


@bp.post("/meetings/<int:meeting_id>/cancel")
@api_permission_required("meetings.book")
def cancel_meeting(meeting_id):
    """Cancel the meeting: the body must say {"confirm": true}, and may give a `reason` for the CANCEL mail.

    412 on a stale If-Match, as for every write of a meeting.
    """
    meeting = db.get_or_404(Meeting, meeting_id)
    reason = _cancel_body()
    service.cancel_meeting(meeting, actor=g.api_user, reason=reason, expected_version=_expected_version(meeting))
    return committed(meeting_response(meeting))


def _cancel_body():
    """Return the reason of a cancel's body; raise ValidationError without {"confirm": true}.

    One call must never cancel a 213-site meeting by accident: the client says so.
    """
    data = request.get_json(silent=True)
    data = data if isinstance(data, dict) else {}
    errors = {}
    if data.get("confirm") is not True:
        errors["confirm"] = 'Hủy cần xác nhận: gửi {"confirm": true} (và "reason": lý do hủy).'
    reason = data.get("reason")
    if reason is not None and not isinstance(reason, str):
        errors["reason"] = "Lý do phải là một chuỗi ký tự."
    if errors:
        raise ValidationError(errors)
    return reason


def _get_occurrence(meeting_id, occurrence_id):
    occurrence = db.session.get(Occurrence, occurrence_id)
    if occurrence is None or occurrence.meeting_id != meeting_id:
        abort(404)
    return occurrence


@bp.patch("/meetings/<int:meeting_id>/occurrences/<int:occurrence_id>")
@api_permission_required("meetings.book")
def move_occurrence(meeting_id, occurrence_id):
    """Move one sitting of a series; 412 on a stale If-Match."""
    occurrence = _get_occurrence(meeting_id, occurrence_id)
    data = json_body()
    errors = {}
    starts_at, ends_at = _instant(data, "starts_at", errors), _instant(data, "ends_at", errors)
    allowed = _flag(data, "allow_non_working_time", errors)
    if errors:
        raise ValidationError(errors)
    service.move_occurrence(occurrence, starts_at, ends_at, actor=g.api_user,
                            choices=service.BookingChoices(allow_non_working_time=allowed),
                            expected_version=_expected_version(occurrence.meeting))
    return committed(meeting_response(occurrence.meeting))


@bp.post("/meetings/<int:meeting_id>/occurrences/<int:occurrence_id>/cancel")
@api_permission_required("meetings.book")
def cancel_occurrence(meeting_id, occurrence_id):
    """Cancel one sitting of a series; 412 on a stale If-Match."""
    occurrence = _get_occurrence(meeting_id, occurrence_id)
    reason = _cancel_body()
    service.cancel_occurrence(occurrence, actor=g.api_user, reason=reason,
                              expected_version=_expected_version(occurrence.meeting))
    return committed(meeting_response(occurrence.meeting))


@bp.get("/slots")
@api_permission_required("meetings.view")
def find_slots():
    """The earliest slots in working hours when every named endpoint and its bridge are free."""
    duration = _int_arg("duration_minutes", default=60, low=15, high=12 * 60)
    limit = _int_arg("limit", default=5, low=1, high=50)
    setup = _int_arg("setup_minutes", low=0, high=240)
    window_from, window_to = _window()
    choice = service.resolve_sites(
        endpoint_ids=_id_args("endpoint_ids"), unit_ids=_id_args("unit_ids"), group_ids=_id_args("group_ids"),
        all_endpoints=request.args.get("all_endpoints") in ("1", "true"), on_day=to_local(window_from).date(),
        as_rows=True,
    )
    bridge_id = _int_arg("bridge_id", low=1, high=MAX_ID)
    if bridge_id is not None:
        bridge = db.session.get(Bridge, bridge_id)
        if bridge is None or not bridge.is_active:
            raise ValidationError({"bridge_id": "Không có cầu MCU này (hoặc cầu đã ngừng)."})
    found = slots.find_slots(choice.endpoints, timedelta(minutes=duration), window_from, window_to,
                             limit=limit, setup_minutes=setup, meeting_bridge_id=bridge_id)
    return jsonify({
        "items": [{"starts_at": s.isoformat(), "ends_at": e.isoformat()} for s, e in found],
        "total": len(found), "endpoint_count": len(choice.endpoints),
    })
