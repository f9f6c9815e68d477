"""The readiness report: how often each site and district was ready for its sittings, and who fails most."""

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import selectinload

from vmeeting.booking import service as booking
from vmeeting.booking.models import Meeting, Occurrence, Reservation
from vmeeting.core.database import utcnow
from vmeeting.core.extensions import db
from vmeeting.readiness.models import Readiness
from vmeeting.readiness.service import LEVEL_ORDER, VERDICT_LABELS, district_of, sites, verdict
from vmeeting.registry.models import AdminUnit, Endpoint
from vmeeting.core.spreadsheet import Sheet, csv_bytes, xlsx_bytes
from vmeeting.core.timefmt import to_local

FAILING_SHOWN = 10
CSV_COLUMNS = ("code", "name", "district", "sittings", "ready", "issue", "unreachable", "pending", "ready_rate")
DISTRICT_CSV_COLUMNS = ("district", "endpoints", "sittings", "ready", "issue", "unreachable", "pending", "ready_rate")
CSV_KINDS = ("endpoint", "district")


def _count(condition):
    return sa.func.coalesce(sa.func.sum(sa.case((condition, 1), else_=0)), 0)


def _rate(ready, sittings):
    return round(100.0 * ready / sittings, 1) if sittings else None


def readiness_report(period_from, period_to, now=None):
    """Return {districts, endpoints, failing, sittings} for the sittings that started in the period.

    A site counts as ready for a sitting when it was confirmed ready and its
    last probe did not fail; a sitting not yet started is not counted.
    """
    until = min(period_to, now or utcnow())
    is_ready = sa.and_(Readiness.status == "ready", sa.or_(Readiness.is_reachable.is_(None),
                                                           Readiness.is_reachable.is_(True)))
    rows = db.session.execute(
        sa.select(Reservation.endpoint_id, sa.func.count(), _count(is_ready), _count(Readiness.status == "issue"),
                  _count(Readiness.is_reachable.is_(False)),
                  _count(sa.or_(Readiness.id.is_(None), Readiness.status == "pending")))
        .join(Occurrence, Occurrence.id == Reservation.occurrence_id)
        .join(Meeting, Meeting.id == Occurrence.meeting_id)
        .outerjoin(Readiness, sa.and_(Readiness.occurrence_id == Reservation.occurrence_id,
                                      Readiness.endpoint_id == Reservation.endpoint_id))
        .where(Occurrence.starts_at >= period_from, Occurrence.starts_at < until,
               Occurrence.status == "scheduled", Meeting.status == "scheduled")
        .group_by(Reservation.endpoint_id)
    ).all()
    endpoints = {e.id: e for e in db.session.scalars(
        sa.select(Endpoint).where(Endpoint.id.in_([r[0] for r in rows]))
        .options(selectinload(Endpoint.unit).selectinload(AdminUnit.parent)))}
    per_endpoint, per_district = [], {}
    for endpoint_id, sittings, ready, issue, unreachable, pending in rows:
        endpoint = endpoints[endpoint_id]
        head = district_of(endpoint.unit)
        line = {"endpoint": endpoint, "district": head, "sittings": sittings, "ready": ready, "issue": issue,
                "unreachable": unreachable, "pending": pending, "failures": sittings - ready,
                "ready_rate": _rate(ready, sittings)}
        per_endpoint.append(line)
        total = per_district.setdefault(head.id, {"district": head, "endpoints": 0, "sittings": 0, "ready": 0,
                                                  "issue": 0, "unreachable": 0, "pending": 0})
        total["endpoints"] += 1
        for name in ("sittings", "ready", "issue", "unreachable", "pending"):
            total[name] += line[name]
    for total in per_district.values():
        total["ready_rate"] = _rate(total["ready"], total["sittings"])
    per_endpoint.sort(key=lambda l: (LEVEL_ORDER[l["district"].level], l["district"].position, l["district"].id,
                                     l["endpoint"].name_sort_key))
    districts = sorted(per_district.values(), key=lambda d: (LEVEL_ORDER[d["district"].level],
                                                             d["district"].position, d["district"].id))
    failing = sorted((l for l in per_endpoint if l["failures"]),
                     key=lambda l: (-l["failures"], l["ready_rate"], l["endpoint"].code))[:FAILING_SHOWN]
    return {"districts": districts, "endpoints": per_endpoint, "failing": failing,
            "sittings": sum(d["sittings"] for d in districts)}


def report_csv(report, by="endpoint"):
    """Return the report per endpoint (or per district) as CSV bytes (spreadsheet.csv_bytes: BOM, no formulas)."""
    if by == "district":
        return csv_bytes(DISTRICT_CSV_COLUMNS, (
            [total["district"].name, total["endpoints"], total["sittings"], total["ready"], total["issue"],
             total["unreachable"], total["pending"], _rate_text(total["ready_rate"])]
            for total in report["districts"]))
    return csv_bytes(CSV_COLUMNS, (
        [line["endpoint"].code, line["endpoint"].name, line["district"].name, line["sittings"], line["ready"],
         line["issue"], line["unreachable"], line["pending"], _rate_text(line["ready_rate"])]
        for line in report["endpoints"]))


def _rate_text(rate):
    return "" if rate is None else f"{rate:.1f}"


# -- one sitting's sites as a workbook ---------------------------------------------------------


def verdict_labels():
    """The verdicts' names in the page's language (service.VERDICT_LABELS)."""
    return {name: _(label) for name, label in VERDICT_LABELS.items()}


def sites_xlsx(occurrence):
    """Return a sitting's sites as an .xlsx's bytes: by district, with technician, phone and readiness verdict.

    One row a site, in the board's order (service.sites); the verdict is the
    board's (service.verdict), the note the technician's. Cells are text or
    numbers, never formulas (spreadsheet.xlsx_bytes).
    """
    meeting = occurrence.meeting
    start, end = to_local(occurrence.starts_at), to_local(occurrence.ends_at)
    labels = verdict_labels()
    rows = []
    found = sites(occurrence.id)
    conditions = booking.site_conditions([endpoint.id for endpoint, _r, _c in found])
    for number, (endpoint, readiness, _confirmer) in enumerate(found, start=1):
        technician = endpoint.technician.display_name if endpoint.technician else endpoint.contact_name
        # an empty cell, not an empty text, where nothing is known
        rows.append([number, district_of(endpoint.unit).name, endpoint.name, endpoint.code, technician or None,
                     endpoint.contact_phone or None, labels[verdict(readiness, conditions.get(endpoint.id))],
                     (readiness.note if readiness else None) or None])
    caption = f"{meeting.title} · {start:%d/%m/%Y %H:%M}–{end:%H:%M}"
    header = ["#", _("Huyện / đơn vị"), _("Điểm cầu"), _("Mã"), _("Kỹ thuật viên"), _("Điện thoại"),
              _("Sẵn sàng"), _("Ghi chú")]
    return xlsx_bytes([Sheet(_("Điểm cầu"), header, rows, caption=caption, widths=(5, 24, 36, 12, 24, 14, 16, 30))])
