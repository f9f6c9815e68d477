"""Incidents of sites: opened by hand, by a technician's report or by the sweep; resolved; reported.

A technician opens and resolves incidents only of the sites assigned to them;
admins and schedulers of any site. The sweep opens one automatic incident when
a site goes down from `up` and resolves it when the site answers again.
"""

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import selectinload
from werkzeug.exceptions import Forbidden

from vmeeting.auth.models import User
from vmeeting.core.database import utcnow
from vmeeting.core.errors import Conflict, ValidationError
from vmeeting.core.extensions import db
from vmeeting.core.text import N_, clean, say
from vmeeting.network.models import INCIDENT_SOURCES, SEVERITIES, Incident
from vmeeting.registry.models import AdminUnit, Endpoint
from vmeeting.registry.service import descendant_ids_select

#: the words for severities and sources: Vietnamese in mail, through the catalogue on the pages
SEVERITY_LABELS = {"minor": N_("Nhẹ"), "major": N_("Nặng"), "critical": N_("Nghiêm trọng")}
SOURCE_LABELS = {"manual": N_("Báo thủ công"), "network": N_("Giám sát mạng"), "readiness": N_("Kiểm tra trước họp")}
#: roles that may open and resolve incidents of any site; technicians only for the sites assigned to them
INCIDENT_ANY_ROLES = frozenset({"admin", "scheduler"})
TITLE_MAX = 200
TEXT_MAX = 4000
DOWN_INCIDENT_TITLE = "Mất kết nối mạng"
READINESS_INCIDENT_TITLE = "Sự cố khi kiểm tra trước họp"


# -- opened and closed by the sweep ------------------------------------------------------------


def open_network_incident(endpoint, event, now):
    """Open the site's automatic incident when `event` took it down, unless one is open; the sweep's transaction."""
    exists = db.session.scalar(sa.select(Incident.id).where(
        Incident.endpoint_id == endpoint.id, Incident.status == "open", Incident.source == "network"))
    if exists is None:
        db.session.add(Incident(endpoint_id=endpoint.id, title=DOWN_INCIDENT_TITLE, severity="major",
                                status="open", source="network", opened_at=now,
                                note=f"Điểm cầu không trả lời {current_app.config['NETWORK_DOWN_AFTER']} lần "
                                     f"kiểm tra liên tiếp. Lỗi: {event.error or 'không rõ'}."))


def resolve_network_incidents(endpoint_id, now):
    """Resolve the site's open automatic incidents: it answers again; in the sweep's transaction."""
    db.session.execute(sa.update(Incident).where(
        Incident.endpoint_id == endpoint_id, Incident.status == "open", Incident.source == "network"
    ).values(status="resolved", resolved_at=now, resolution="Điểm cầu đã kết nối trở lại (tự động)."))


# -- reported by a technician ------------------------------------------------------------------


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


# -- opened and resolved by hand ---------------------------------------------------------------


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
