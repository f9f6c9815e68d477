"""The rules a booking change must pass before anything is written: fields, times, choices, versions.

`validate_meeting` cleans a meeting's fields and names each bad one;
`screen_sittings` applies the rules of time to the sittings a change lays out
(none in the past; the working calendar, with the person's `BookingChoices`);
`check_new_times`, `validate_move`, `check_under_way` (a sitting that has
begun keeps its start) and `clean_reason` check what an update, a move and a
cancel take; `hold_meeting` locks the meeting's row and `check_version`
refuses an edit made on an older version. They raise ValidationError, NonWorkingTime or StaleEdit and write
nothing, except that `screen_sittings` cancels, in place, the sittings a
series leaves out. booking.changes calls them.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from email_validator import EmailNotValidError, validate_email
from flask import current_app

from vmeeting.audit import service as audit
from vmeeting.booking.conflicts import MAX_DURATION, MAX_SETUP_MINUTES, find_conflicts
from vmeeting.booking.history import describe
from vmeeting.booking.priority import clean_priority
from vmeeting.booking.series import normalize_rrule
from vmeeting.core.bounds import as_id
from vmeeting.core.database import utcnow
from vmeeting.core.errors import NonWorkingTime, StaleEdit, ValidationError
from vmeeting.core.extensions import db
from vmeeting.registry.models import Bridge, Endpoint
from vmeeting.core.text import N_, Sentence, clean, say
from vmeeting.core.timefmt import format_datetime, to_local
from vmeeting.working_time import service as working_time

MEETING_FIELDS = ("title", "description", "starts_at", "ends_at", "chair_endpoint_id", "bridge_id",
                  "recurrence", "attendees", "setup_minutes", "priority")


#: more extra attendees than this is a mailing list, not a meeting's guests
MAX_ATTENDEES = 500


#: a cancel's reason is told in the CANCEL mail; longer is a letter, not a reason
MAX_REASON_LENGTH = 500


@dataclass
class BookingChoices:
    """What the person booking chose about the working calendar and busy sites (CONTRACT.md).

    allow_non_working_time: book sittings on non-working days or outside working hours;
    skip_non_working / skip_conflicting: a series leaves out the sittings on non-working
    days / at which a chosen site is busy; skip_busy: book without the busy sites;
    displace_lower_priority: take the busy sites from sittings of a lower class (booking.priority);
    displace_meeting_ids: when not empty, the only meetings it may take them from (those the page
    named in its confirmation: a busy meeting booked since is not displaced unseen, 409).
    """

    allow_non_working_time: bool = False
    skip_non_working: bool = False
    skip_conflicting: bool = False
    skip_busy: bool = False
    displace_lower_priority: bool = False
    displace_meeting_ids: tuple = ()


# -- a meeting's fields -------------------------------------------------------------------


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

    try:
        priority = clean_priority(values.get("priority"))
    except ValueError as exc:
        errors["priority"] = exc.args[0]

    if errors:
        raise ValidationError(errors)
    return {
        "title": title, "description": description, "starts_at": starts_at, "ends_at": ends_at,
        "chair_endpoint_id": chair.id, "bridge_id": bridge_id, "recurrence": recurrence,
        "attendees": list(dict.fromkeys(attendees)), "setup_minutes": setup,
        "priority": priority,
    }


def _years_message():
    """Why a time is refused: outside the years the working calendar knows."""
    return say("Thời gian phải trong các năm %(first)s–%(last)s.", first=working_time.FIRST_YEAR,
               last=working_time.LAST_YEAR)


# -- the rules of time ------------------------------------------------------------------------


def screen_sittings(meeting, sittings, endpoints, touched, choices, *, keeps_start=()):
    """Apply the rules of time to the sittings about to be written; return the ones skipped.

    sittings: {occurrence: PlannedSitting}, changed in place (a skipped one leaves
    it and its occurrence is cancelled with the reason); touched: the occurrences
    that are new or get a new time, the only ones these rules judge (a meeting's
    text may change after it began); keeps_start: the touched sittings under
    way, whose start stays where it is (`check_under_way`): theirs is not "in
    the past", and no series choice skips them. Raises ValidationError for a
    sitting in the past, NonWorkingTime for sittings outside working time not allowed.
    """
    now = utcnow()
    keeps_start = set(keeps_start)
    judged = [o for o in sittings if o in touched]
    past = [o for o in judged if sittings[o].starts_at < now and o not in keeps_start]
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
            if (meeting.recurrence and choices.skip_non_working and occurrence not in keeps_start
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
        for occurrence in [o for o in sittings if o in touched and o not in keeps_start]:
            conflicts, capacity = find_conflicts([sittings[occurrence]], endpoints, meeting.bridge_id)
            if conflicts or capacity:
                skip(occurrence, conflict_message(conflicts, capacity))
    if meeting.recurrence and skipped and not sittings:
        raise ValidationError({"recurrence": N_("Mọi buổi của chuỗi họp đều bị bỏ qua; hãy chọn ngày giờ khác.")})
    skipped.sort(key=lambda item: item["starts_at"])
    return skipped


def check_new_times(meeting, values, now):
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
    begun = any(has_begun(o, meeting, now) for o in meeting.occurrences)
    past = _past_message(values["starts_at"])
    if begun and not (meeting.recurrence or values["recurrence"]):
        # a single meeting under way: one sitting, which keeps its start (`check_under_way`)
        check_under_way(meeting, meeting, values["starts_at"], values["ends_at"], now)
    elif not begun or not (meeting.recurrence or values["recurrence"]):
        if values["starts_at"] != meeting.starts_at and values["starts_at"] < now:
            raise ValidationError({"starts_at": past})
    elif to_local(values["starts_at"]).date() != to_local(meeting.starts_at).date():
        raise ValidationError({"starts_at": N_("Chuỗi họp đã bắt đầu: không đổi được ngày bắt đầu; hãy dời từng "
                                               "buổi, hoặc kết thúc chuỗi này và đặt chuỗi mới.")})


def has_begun(sitting, meeting, now):
    """Tell whether a sitting has begun: its set-up window (the test call) is open or over.

    The roll-call may be taken from then on (attendance.service.mark), so from
    then on the sitting keeps its start.
    """
    return sitting.starts_at - timedelta(minutes=meeting.setup_minutes or 0) <= now


def check_under_way(sitting, meeting, starts_at, ends_at, now):
    """Refuse new times for a sitting that has begun unless only its end changes, to after now.

    sitting: an Occurrence (or a single Meeting) with its stored starts_at and
    ends_at; meeting: its meeting (the set-up window, `has_begun`); starts_at,
    ends_at: the new times (aware). A sitting that has begun keeps its start,
    so its roll-call and the day's attendance report stay with it; its end
    may be extended or shortened, not to before now. A sitting that has ended
    does not move at all (its roll-call is the record of what happened).
    Returns True when the sitting is under way (its start kept), False when
    it has not begun. Raises ValidationError naming starts_at or ends_at.
    """
    if not has_begun(sitting, meeting, now):
        return False
    when = format_datetime(sitting.starts_at)
    if sitting.ends_at <= now:
        raise ValidationError({"starts_at": say("Buổi họp lúc %(when)s đã kết thúc, không dời được (điểm danh của buổi "
                                                "đó giữ nguyên); hãy đặt cuộc họp mới.", when=when)})
    if starts_at != sitting.starts_at:
        raise ValidationError({"starts_at": say("Buổi họp lúc %(when)s đã bắt đầu (hoặc đã vào giờ kiểm tra kết nối): "
                                                "giữ nguyên giờ bắt đầu và điểm danh; chỉ có thể kéo dài hoặc rút ngắn "
                                                "giờ kết thúc.", when=when)})
    if ends_at <= now:
        raise ValidationError({"ends_at": say("Buổi họp đang diễn ra: giờ kết thúc mới phải sau bây giờ (%(now)s).",
                                              now=format_datetime(now))})
    return True


def validate_move(starts_at, ends_at):
    """Refuse the new times of a sitting being moved, naming starts_at or ends_at; raise ValidationError.

    Both aware, the end after the start, at most MAX_DURATION apart, in the
    years the working calendar knows (as for validate_meeting).
    """
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


def _past_message(starts_at):
    """Why a sitting is refused: it starts in the past."""
    return say("Buổi họp lúc %(when)s đã qua; không đặt hay dời lịch họp vào quá khứ.", when=format_datetime(starts_at))


def _as_sentence(reason):
    """A reason put into another message, as a Sentence so a page translates it too (`text.shown`)."""
    return reason if isinstance(reason, Sentence) else say(str(reason))


def conflict_message(conflicts, capacity):
    """The Conflict's sentence: the busy sites (five named, the rest counted), else the bridge short of ports."""
    if conflicts:
        # a name two busy sites share is told apart by the district (the province has two UBND xã Tân Thanh,
        # two Hồng Phong): "UBND xã Hồng Phong (Bình Gia)"
        names = {}
        for c in conflicts:
            names.setdefault(c["endpoint_name"], set()).add(c.get("endpoint_id"))
        sites = sorted({f"{c['endpoint_name']} ({c['endpoint_district']})"
                        if len(names[c["endpoint_name"]]) > 1 and c.get("endpoint_district") else c["endpoint_name"]
                        for c in conflicts})
        if len(sites) > 5:
            return say("%(count)s điểm cầu đã bận vào thời gian này: %(sites)s và %(more)s điểm cầu khác.",
                       count=len(sites), sites=", ".join(sites[:5]), more=len(sites) - 5)
        return say("%(count)s điểm cầu đã bận vào thời gian này: %(sites)s.", count=len(sites), sites=", ".join(sites))
    first = capacity[0]
    return say("Cầu MCU %(bridge)s không đủ cổng: đang dùng %(in_use)s/%(ports)s, cuộc họp cần thêm %(requested)s.",
               bridge=first["bridge_code"], in_use=first["in_use"], ports=first["ports"], requested=first["requested"])


# -- a cancel's reason, an edit's version -------------------------------------------------------


def clean_reason(reason):
    """Return a cancel's reason, cleaned; raise ValidationError naming `reason`."""
    if reason is not None and not isinstance(reason, str):
        raise ValidationError({"reason": N_("Lý do phải là một chuỗi ký tự.")})
    reason = clean(reason or "")
    if len(reason) > MAX_REASON_LENGTH:
        raise ValidationError({"reason": say("Lý do tối đa %(most)s ký tự.", most=MAX_REASON_LENGTH)})
    return reason or None


def version_of(meeting):
    """The meeting's version as clients see it (an ETag's content): its SEQUENCE.

    Every change that matters bumps SEQUENCE (RFC 5546), so two readers of the
    same version saw the same meeting.
    """
    return str(meeting.sequence)


def hold_meeting(meeting, expected_version=None):
    """Lock the meeting's row until the caller commits, read its version again, then `check_version`.

    Every change of a meeting or of one of its sittings calls it first, before
    it reads anything else of the meeting to decide: two changes of one
    meeting run one after the other, the second sees the first's SEQUENCE
    (never bumping it to the same number) and, when it names the version it
    was based on, is refused as stale (RFC 9110 §13.1.1: If-Match is
    evaluated against the current state). PostgreSQL: SELECT … FOR NO KEY
    UPDATE (foreign keys to the meeting from other writers are not blocked);
    SQLite: the request's write transaction (BEGIN IMMEDIATE) already holds
    the database's one write lock. Raises StaleEdit.
    """
    if meeting.id is not None:
        loaded = meeting.sequence
        db.session.refresh(meeting, ["sequence", "status"], with_for_update={"key_share": True})
        if meeting.sequence != loaded:
            # another change was committed since the caller read the meeting: whatever the caller decides
            # from here (its sittings, its sites) is read again, as the lock now sees it
            db.session.expire_all()
    check_version(meeting, expected_version)


def check_version(meeting, expected_version):
    """Raise StaleEdit, with what changed since, when the caller read an older version of the meeting.

    expected_version: what version_of answered when the caller read the
    meeting (a form's hidden field), a list of such (the versions an If-Match
    names), or None for no check; any
    other value that is not the current version (a version from an older
    page, "unknown" for a form sent without one) is stale. Callers that
    change the meeting go through `hold_meeting`, which reads the version
    under the meeting's row lock first.
    """
    if expected_version is None:
        return
    # an If-Match may list several tags (RFC 9110 §13.1.1: it passes when any names the current state)
    seen_versions = [str(v) for v in expected_version] if isinstance(expected_version, (list, tuple)) \
        else [str(expected_version)]
    if version_of(meeting) in seen_versions:
        return
    expected_version = max(seen_versions, key=lambda v: int(v) if v.isdigit() else -1)
    events = db.session.scalars(audit.history("meeting", meeting.id, parts={
        "occurrence": [o.id for o in meeting.occurrences]}).limit(20)).all()
    try:
        seen = int(str(expected_version))
    except ValueError:
        seen = -1
    changes = [{"at": e.occurred_at.isoformat(), "by": e.actor.display_name if e.actor else None,
                "summary": e.summary, "fields": sorted(e.changes or {}), "details": describe(e.changes or {})}
               for e in events if e.action != "create"][: max(meeting.sequence - seen, 1) if seen >= 0 else 20]
    raise StaleEdit(N_("Cuộc họp đã được người khác sửa sau khi bạn mở nó; thay đổi của bạn chưa được lưu."),
                    changes=changes, version=version_of(meeting))
