"""Roll-call rules: who may mark a sitting's sites, marking, the sitting's roll, the attendance report.

Every entry point (page, API) calls these. They flush and raise; the caller commits.
"""

from collections import defaultdict
from datetime import datetime, time, timedelta
from io import BytesIO

import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale, gettext
from openpyxl import Workbook
from openpyxl.styles import Font
from sqlalchemy.orm import selectinload
from werkzeug.exceptions import Forbidden

from vmeeting.attendance.models import STATUSES, Attendance
from vmeeting.auth.models import User
from vmeeting.booking.models import Meeting, Occurrence, Reservation
from vmeeting.core.bounds import query_date
from vmeeting.core.database import one_of, utcnow
from vmeeting.core.errors import Conflict, NotFound, ValidationError
from vmeeting.core.extensions import db
from vmeeting.registry import areas
from vmeeting.registry.models import AdminUnit, Endpoint
from vmeeting.registry.service import descendant_ids_select
from vmeeting.core.text import N_, say
from vmeeting.core.timefmt import local_to_utc, parse_api_instant, to_local

#: the words for the marks, through the catalogue on the pages (N_)
STATUS_LABELS = {"present": N_("Có mặt"), "late": N_("Đến muộn"), "absent": N_("Vắng"), None: N_("Chưa điểm danh")}
#: the usual reasons a site missed a sitting, offered on the page; any other text is accepted too. They are kept
#: in Vietnamese and shown through the catalogue; picked on the English page, one is kept in Vietnamese too
REASONS = (N_("Mất kết nối"), N_("Không có người dự"), N_("Thiết bị hỏng"), N_("Mất điện"),
           N_("Trùng lịch công tác khác"))
REASON_MAX = 300
MARK_ANY_ROLES = frozenset({"admin", "scheduler"})
LEVEL_ORDER = {"province": 0, "district": 1, "commune": 2}


class NotAllowed(Forbidden):
    """The user may not mark this sitting's roll-call."""


def may_mark(user, meeting):
    """Tell whether user may mark the roll-call of the meeting's sittings.

    Schedulers and admins always; the meeting's organizer; the technician of its chair site.
    """
    if not user.can("attendance.mark"):
        return False
    if user.role in MARK_ANY_ROLES or meeting.organizer_id == user.id:
        return True
    chair = db.session.get(Endpoint, meeting.chair_endpoint_id)
    return chair is not None and chair.technician_id == user.id


def require_mark(user, meeting):
    if not may_mark(user, meeting):
        raise NotAllowed("Chỉ người tổ chức, kỹ thuật viên điểm chủ tọa, văn phòng hoặc quản trị được điểm danh.")


def sitting_of(meeting_id, occurrence_id):
    """Return the sitting of the meeting, or raise NotFound."""
    occurrence = db.session.get(Occurrence, occurrence_id) if 0 < occurrence_id < 2**31 else None
    if occurrence is None or occurrence.meeting_id != meeting_id:
        raise NotFound("Không có buổi họp này.")
    return occurrence


def sites(occurrence, endpoint_ids=None):
    """Return [(endpoint, Attendance or None)] of the sitting's sites (those of endpoint_ids only, when given: one
    district of a large sitting), by district then name; each endpoint's `district` is the unit it is shown under."""
    query = (sa.select(Endpoint).join(Reservation, Reservation.endpoint_id == Endpoint.id)
             .where(Reservation.occurrence_id == occurrence.id)
             .options(selectinload(Endpoint.unit).selectinload(AdminUnit.parent)))
    marked = sa.select(Attendance).where(Attendance.occurrence_id == occurrence.id)
    if endpoint_ids is not None:
        query = query.where(one_of(Endpoint.id, list(endpoint_ids), db.session.get_bind()))
        marked = marked.where(one_of(Attendance.endpoint_id, list(endpoint_ids), db.session.get_bind()))
    endpoints = db.session.scalars(query).all()
    marks = {a.endpoint_id: a for a in db.session.scalars(marked)}

    # grouped as the whole sitting is (areas.group_heads: by province past a national meeting's districts)
    heads = _sitting_heads(occurrence) if endpoint_ids is not None else areas.group_heads({e.unit for e in endpoints})

    def order(endpoint):
        head = heads[endpoint.unit_id]
        endpoint.district = head  # what the page groups it under
        return (LEVEL_ORDER.get(head.level, 3), head.position, head.id, endpoint.name_sort_key, endpoint.id)

    return [(e, marks.get(e.id)) for e in sorted(endpoints, key=order)]


def district_of(unit):
    """Return the district-level (or province) unit a site is shown under (registry.areas: since 2025, the
    former district of a commune under the province)."""
    return areas.district_of(unit)


def item_json(endpoint_id, mark):
    """One site's mark as the API shows it."""
    if mark is None:
        return {"endpoint_id": endpoint_id, "status": None, "reason": None, "marked_by": None, "marked_at": None}
    return {"endpoint_id": endpoint_id, "status": mark.status, "reason": mark.reason or None,
            "marked_by": mark.marked_by_id, "marked_at": mark.marked_at.isoformat()}


def roll_json(occurrence):
    """The sitting's roll-call: {summary: {present, late, absent, unmarked}, items}."""
    rows = sites(occurrence)
    summary = {"present": 0, "late": 0, "absent": 0, "unmarked": 0}
    for _endpoint, mark in rows:
        summary[mark.status if mark else "unmarked"] += 1
    return {"occurrence_id": occurrence.id, "summary": summary,
            "items": [item_json(e.id, mark) for e, mark in rows]}


def validate_mark(data):
    """Return (status, reason) of a mark; raise ValidationError naming the field. Absent needs a reason."""
    if not isinstance(data, dict):
        raise ValidationError({"body": N_("Cần một đối tượng JSON.")})
    errors = {}
    status = data.get("status")
    if status not in STATUSES:
        errors["status"] = N_("Chọn có mặt (present), đến muộn (late) hoặc vắng (absent).")
    reason = data.get("reason") or ""
    if not isinstance(reason, str):
        errors["reason"] = N_("Lý do là văn bản.")
        reason = ""
    reason = usual_reason(" ".join(reason.split()))
    if len(reason) > REASON_MAX:
        errors["reason"] = say("Lý do dài tối đa %(max)s ký tự.", max=REASON_MAX)
    elif status == "absent" and not reason:
        errors["reason"] = N_("Vắng mặt cần ghi lý do (ví dụ: mất kết nối, không có người dự, thiết bị hỏng).")
    if errors:
        raise ValidationError(errors)
    return status, reason


def usual_reason(reason):
    """Return the Vietnamese of a usual reason given in another of the interface's languages; else reason."""
    folded = reason.casefold()
    for usual in REASONS:
        if folded == usual.casefold():
            return usual
        for language in current_app.config["LANGUAGES"]:
            with force_locale(language):
                if folded == gettext(usual).casefold():
                    return usual
    return reason


def opens_at(occurrence):
    """The instant the sitting's roll may be taken from (UTC): its start less the meeting's set-up window."""
    return occurrence.starts_at - timedelta(minutes=occurrence.meeting.setup_minutes or 0)


def require_open(occurrence, now=None):
    """Raise Conflict unless the sitting's roll may be taken now: not cancelled, its set-up window begun."""
    now = now or utcnow()
    if occurrence.is_cancelled or occurrence.meeting.status == "cancelled":
        raise Conflict(N_("Buổi họp đã bị hủy."))
    if now < opens_at(occurrence):
        raise Conflict(N_("Chưa đến giờ họp: điểm danh trong hoặc sau buổi họp."))


def _sitting_rows_and_heads(occurrence):
    """([(site id, unit id)], {unit id: group head}) of the whole sitting (areas.group_heads). Two queries."""
    rows = db.session.execute(sa.select(Reservation.endpoint_id, Endpoint.unit_id)
                              .join(Endpoint, Endpoint.id == Reservation.endpoint_id)
                              .where(Reservation.occurrence_id == occurrence.id)).all()
    units = db.session.scalars(sa.select(AdminUnit).where(AdminUnit.id.in_({u for _e, u in rows}))
                               .options(selectinload(AdminUnit.parent))).all()
    return rows, areas.group_heads(units)


def _sitting_heads(occurrence):
    return _sitting_rows_and_heads(occurrence)[1]


def district_groups(occurrence):
    """Return [(district unit, [site ids])] of the sitting in official order (`areas.group_heads`: the
    district, or the province past MOST_DISTRICT_GROUPS districts), without loading the sites: what a large
    roll-call's page lists before a group is opened. Two queries (three by province)."""
    rows, heads = _sitting_rows_and_heads(occurrence)
    groups = {}
    for endpoint_id, unit_id in rows:
        head = heads[unit_id]
        groups.setdefault(head.id, (head, []))[1].append(endpoint_id)
    return sorted(groups.values(), key=lambda g: (LEVEL_ORDER.get(g[0].level, 3), g[0].position, g[0].id))


def _sites_by_district(occurrence):
    """Return {district unit id: [site ids]} of the sitting (`district_groups`)."""
    return {head.id: ids for head, ids in district_groups(occurrence)}


def counts(occurrence):
    """Return (summary, per district) of the sitting's marks.

    summary: {present, late, absent, unmarked}; per district: {district unit id: the same keys}, the
    district as `areas.district_heads` reads it. Two small queries (the marks by unit, the units): the
    roll-call's answers carry it after each mark.
    """
    rows = db.session.execute(
        sa.select(Endpoint.unit_id, Attendance.status, sa.func.count())
        .select_from(Reservation)
        .join(Endpoint, Endpoint.id == Reservation.endpoint_id)
        .outerjoin(Attendance, sa.and_(Attendance.occurrence_id == Reservation.occurrence_id,
                                       Attendance.endpoint_id == Reservation.endpoint_id))
        .where(Reservation.occurrence_id == occurrence.id)
        .group_by(Endpoint.unit_id, Attendance.status)).all()
    units = db.session.scalars(sa.select(AdminUnit).where(AdminUnit.id.in_({u for u, _s, _n in rows}))
                               .options(selectinload(AdminUnit.parent))).all()
    heads = areas.group_heads(units)
    summary = {"present": 0, "late": 0, "absent": 0, "unmarked": 0}
    districts = {}
    for unit_id, status, n in rows:
        key = status or "unmarked"
        summary[key] += n
        districts.setdefault(heads[unit_id].id, {"present": 0, "late": 0, "absent": 0, "unmarked": 0})[key] += n
    return summary, districts


def mark_all_present(occurrence, user, district_id=None, now=None):
    """Mark present every site of the sitting not marked yet (of one district when district_id); flush.

    Returns the ids of the sites marked, in no order. A site already marked
    keeps its mark: "all present" comes first, the exceptions after. Raises
    NotAllowed, Conflict (cancelled, not begun, or another mark written at the
    same instant: nothing is kept then, and a second try marks the rest).
    """
    now = now or utcnow()
    require_mark(user, occurrence.meeting)
    require_open(occurrence, now)
    query = (sa.select(Reservation.endpoint_id)
             .outerjoin(Attendance, sa.and_(Attendance.occurrence_id == Reservation.occurrence_id,
                                            Attendance.endpoint_id == Reservation.endpoint_id))
             .where(Reservation.occurrence_id == occurrence.id, Attendance.id.is_(None)))
    ids = db.session.scalars(query).all()
    if district_id is not None:
        inside = set(_sites_by_district(occurrence).get(district_id, ()))
        ids = [i for i in ids if i in inside]
    try:
        with db.session.begin_nested():
            db.session.add_all([Attendance(occurrence_id=occurrence.id, endpoint_id=i, status="present", reason="",
                                           marked_by_id=user.id, marked_at=now) for i in ids])
    except sa.exc.IntegrityError:
        raise Conflict(N_("Một điểm cầu vừa được điểm danh cùng lúc: hãy thử lại.")) from None
    return ids


def mark(occurrence, endpoint_id, user, data, now=None):
    """Mark one site of a sitting present, late or absent; flush; return the Attendance.

    Raises NotAllowed (403), NotFound (the site is not in the sitting),
    ValidationError (bad status; absent without a reason), Conflict (the
    sitting is cancelled, or its set-up window has not begun: the roll is taken
    during or after the sitting).
    """
    now = now or utcnow()
    meeting = occurrence.meeting
    require_mark(user, meeting)
    status, reason = validate_mark(data)
    in_sitting = db.session.scalar(sa.select(Reservation.id).where(
        Reservation.occurrence_id == occurrence.id, Reservation.endpoint_id == endpoint_id))
    if in_sitting is None:
        raise NotFound("Điểm cầu không tham dự buổi họp này.")
    require_open(occurrence, now)
    row = db.session.scalar(sa.select(Attendance).where(
        Attendance.occurrence_id == occurrence.id, Attendance.endpoint_id == endpoint_id).with_for_update())
    if row is None:
        row = Attendance(occurrence_id=occurrence.id, endpoint_id=endpoint_id)
        db.session.add(row)
    row.status, row.reason, row.marked_by_id, row.marked_at = status, reason, user.id, now
    db.session.flush()
    return row


# -- the report --------------------------------------------------------------------------------

MAX_REPORT_DAYS = 400


def _bound(args, name, errors, end=False):
    """A report bound: a local day (YYYY-MM-DD; `to` includes it) or an instant with an offset."""
    raw = args.get(name)
    if not raw:
        return None
    try:
        if len(raw) == 10:
            day = query_date(raw) + (timedelta(days=1) if end else timedelta())
            return local_to_utc(datetime.combine(day, time.min))
        return parse_api_instant(raw)
    except ValueError:
        errors[name] = N_("Dùng ngày YYYY-MM-DD hoặc thời điểm ISO 8601 có múi giờ.")
        return None


def report_period(args):
    """Return (from, to) UTC instants of the report from args `from`, `to`; the last 30 days by default.

    Raises ValidationError naming the bad bound.
    """
    errors = {}
    window_from, window_to = _bound(args, "from", errors), _bound(args, "to", errors, end=True)
    if errors:
        raise ValidationError(errors)
    if window_to is None:
        window_to = local_to_utc(datetime.combine(to_local(utcnow()).date() + timedelta(days=1), time.min))
    window_from = window_from or window_to - timedelta(days=30)
    if window_to <= window_from:
        raise ValidationError({"to": N_("Phải sau «from».")})
    if window_to - window_from > timedelta(days=MAX_REPORT_DAYS):
        raise ValidationError({"to": say("Khoảng thời gian tối đa %(days)s ngày.", days=MAX_REPORT_DAYS)})
    return window_from, window_to



def report(window_from, window_to, unit_id=None, now=None):
    """Per district and per site, over [window_from, window_to): sittings booked, present, late, absent, unmarked.

    Booked counts the sittings of scheduled meetings, not cancelled, that
    started in the window and before now (the roll of a future sitting is not
    yet due). Returns {"districts": [...], "endpoints": [...], "total": {...}}.
    """
    now = now or utcnow()
    until = min(window_to, now)
    query = (sa.select(Reservation.endpoint_id, Attendance.status, sa.func.count())
             .join(Occurrence, Occurrence.id == Reservation.occurrence_id)
             .join(Meeting, Meeting.id == Occurrence.meeting_id)
             .outerjoin(Attendance, sa.and_(Attendance.occurrence_id == Reservation.occurrence_id,
                                            Attendance.endpoint_id == Reservation.endpoint_id))
             .where(Occurrence.starts_at >= window_from, Occurrence.starts_at < until,
                    Occurrence.status == "scheduled", Meeting.status == "scheduled")
             .group_by(Reservation.endpoint_id, Attendance.status))
    if unit_id is not None:
        query = query.join(Endpoint, Endpoint.id == Reservation.endpoint_id).where(
            Endpoint.unit_id.in_(descendant_ids_select(unit_id)))
    counts = defaultdict(lambda: {"booked": 0, "present": 0, "late": 0, "absent": 0, "unmarked": 0})
    for endpoint_id, status, n in db.session.execute(query).all():
        figures = counts[endpoint_id]
        figures["booked"] += n
        figures[status or "unmarked"] += n
    endpoints = db.session.scalars(sa.select(Endpoint).where(Endpoint.id.in_(list(counts)))
                                   .options(selectinload(Endpoint.unit).selectinload(AdminUnit.parent))).all()
    districts = {}
    rows = []
    for endpoint in endpoints:
        head = district_of(endpoint.unit)
        figures = counts[endpoint.id]
        rows.append({"endpoint_id": endpoint.id, "code": endpoint.code, "name": endpoint.name,
                     "district_id": head.id, "district": head.name, **figures})
        group = districts.setdefault(head.id, {"district_id": head.id, "district": head.name, "level": head.level,
                                               "position": head.position, "booked": 0, "present": 0, "late": 0,
                                               "absent": 0, "unmarked": 0})
        for key in ("booked", "present", "late", "absent", "unmarked"):
            group[key] += figures[key]
    order = sorted(districts.values(), key=lambda d: (LEVEL_ORDER.get(d["level"], 3), d["position"], d["district_id"]))
    rank = {d["district_id"]: n for n, d in enumerate(order)}
    by_id = {e.id: e for e in endpoints}
    rows.sort(key=lambda r: (rank[r["district_id"]], by_id[r["endpoint_id"]].name_sort_key, r["endpoint_id"]))
    total = {key: sum(d[key] for d in order) for key in ("booked", "present", "late", "absent", "unmarked")}
    for d in order:
        d.pop("level"), d.pop("position")
    return {"districts": order, "endpoints": rows, "total": total}


def report_xlsx(data, title):
    """Return the report as an Excel workbook's bytes: a sheet per district, a sheet per site."""
    book = Workbook()
    head = ["Đặt lịch", "Có mặt", "Đến muộn", "Vắng", "Chưa điểm danh"]
    keys = ["booked", "present", "late", "absent", "unmarked"]
    sheet = book.active
    sheet.title = "Theo huyện"
    sheet.append([title])
    sheet.append(["Huyện / đơn vị", *head])
    for d in data["districts"]:
        sheet.append([d["district"], *(d[k] for k in keys)])
    sheet.append(["Tổng", *(data["total"][k] for k in keys)])
    sites_sheet = book.create_sheet("Theo điểm cầu")
    sites_sheet.append([title])
    sites_sheet.append(["Mã", "Điểm cầu", "Huyện / đơn vị", *head])
    for r in data["endpoints"]:
        sites_sheet.append([r["code"], r["name"], r["district"], *(r[k] for k in keys)])
    for ws in (sheet, sites_sheet):
        ws["A1"].font = Font(bold=True)
        for cell in ws[2]:
            cell.font = Font(bold=True)
        ws.column_dimensions["A"].width = 30
        ws.column_dimensions["B"].width = 30
    out = BytesIO()
    book.save(out)
    return out.getvalue()


def users_by_id(ids):
    ids = {i for i in ids if i}
    return {u.id: u for u in db.session.scalars(sa.select(User).where(User.id.in_(ids)))} if ids else {}
