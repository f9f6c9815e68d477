"""The invite's text in Vietnamese, in the order of an official giấy mời (DOMAIN.md).

One list of (heading, text) sections feeds the calendar DESCRIPTION, the
text/plain part and the text/html part, so the three never disagree.
Room passwords and join links never appear here: the text travels widely.
"""

from dataclasses import dataclass, field
from datetime import timedelta

from flask_babel import force_locale

from vmeeting.booking.series import describe_series
from vmeeting.core.timefmt import format_date, format_time, to_local, weekday_vi
from vmeeting.registry.areas import site_level

#: technicians are on site at least this long before the start (DOMAIN.md)
TECHNICIAN_LEAD_MINUTES = 60
#: participants arrive this long before the start
PARTICIPANT_LEAD_MINUTES = 15
#: headings of the sites by level (registry.areas.SITE_LEVELS' order)
LEVELS = (("province", "Cấp tỉnh"), ("district", "Cấp huyện"), ("commune", "Cấp xã"))
NAMES_SHOWN = 6
#: who invites when the booking user is gone
NO_ORGANIZER = "Văn phòng tổ chức cuộc họp"


@dataclass
class Person:
    """Someone an invite goes to: a site's contact, a site's technician or an extra attendee."""

    email: str
    name: str = ""
    #: the sites this person sits at or looks after in this meeting
    sites: list = field(default_factory=list)
    is_technician: bool = False

    @property
    def label(self):
        return self.name or self.email


def organizer_label(meeting):
    """Who invites, as the invite names them: 'agency (person)', the person alone without an agency.

    The same words head the notice ("Cơ quan mời") and are the ORGANIZER's CN,
    whose address is the system mailbox (CONTRACT.md, Mail).
    """
    user = meeting.organizer
    if user is None:
        return NO_ORGANIZER
    agency = (user.agency or "").strip()
    return f"{agency} ({user.display_name})" if agency else user.display_name


def formal_date(instant, place):
    """'Lạng Sơn, ngày 05 tháng 02 năm 2026': a zero before days below 10 and months 1 and 2 only."""
    day = to_local(instant)
    month = f"{day.month:02d}" if day.month <= 2 else str(day.month)
    return f"{place}, ngày {day.day:02d} tháng {month} năm {day.year}"


def site_label(endpoint):
    """A site's name with its address, as LOCATION and the text show it."""
    return f"{endpoint.name}, {endpoint.address}" if endpoint.address else endpoint.name


def technician_arrival_at(meeting):
    """When technicians must be on site: an hour before, or the set-up window if longer."""
    return meeting.starts_at - timedelta(minutes=max(TECHNICIAN_LEAD_MINUTES, meeting.setup_minutes))


def _when(meeting, occurrences):
    text = (f"{weekday_vi(meeting.starts_at)}, từ {format_time(meeting.starts_at)} đến "
            f"{format_time(meeting.ends_at)} ngày {format_date(meeting.starts_at)}")
    if meeting.recurrence:
        live = [o for o in occurrences if o.status == "scheduled"]
        with force_locale("vi"):  # the invite is Vietnamese whoever booked it
            text += "; " + describe_series(meeting.recurrence, [o.starts_at for o in live])
        moved = [o for o in live if o.is_moved]
        for o in moved:
            text += (f"; buổi ngày {format_date(o.original_starts_at)} dời sang {weekday_vi(o.starts_at)} "
                     f"{format_time(o.starts_at)} ngày {format_date(o.starts_at)}")
        cancelled = [o for o in occurrences if o.status == "cancelled"]
        if cancelled:
            text += "; không họp các ngày " + ", ".join(
                format_date(o.original_starts_at) + (f" ({o.cancel_reason})" if o.cancel_reason else "")
                for o in cancelled)
    return text


def places_text(meeting, endpoints):
    """The 'Địa điểm' section: the chair, then the sites counted by level with the first few names.

    It walks every site, so a caller writing one notice per attendee builds it
    once and passes it to each `notice_sections` call.
    """
    return places_text_of(meeting, ((e.id, e.name, e.unit.level) for e in endpoints))


def places_text_of(meeting, sites):
    """`places_text` from (endpoint id, name, unit level) of each site, in order: a Core query's rows."""
    lines = [f"Điểm cầu chủ tọa: {site_label(meeting.chair)}"]
    by_level = {}
    for endpoint_id, name, level in sites:  # the chair apart, the others by areas.site_level, as the page counts
        if endpoint_id != meeting.chair_endpoint_id:
            by_level.setdefault(site_level(level), []).append(name)
    for level, heading in LEVELS:
        names = by_level.get(level, [])
        if names:
            shown = ", ".join(names[:NAMES_SHOWN])
            more = f" và {len(names) - NAMES_SHOWN} điểm cầu khác" if len(names) > NAMES_SHOWN else ""
            lines.append(f"{heading} ({len(names)} điểm cầu): {shown}{more}")
    return "\n".join(lines)


def _contact(meeting, person):
    for endpoint in [*person.sites, meeting.chair]:
        technician = endpoint.technician
        if technician is not None:
            parts = [technician.display_name, technician.phone, technician.email]
            return "Kỹ thuật viên " + ", ".join(p for p in parts if p) + f" (điểm cầu {endpoint.name})"
        if endpoint.contact_name or endpoint.contact_phone:
            parts = [endpoint.contact_name, endpoint.contact_phone]
            return ", ".join(p for p in parts if p) + f" (điểm cầu {endpoint.name})"
    return NO_ORGANIZER


def notice_sections(meeting, endpoints, occurrences, person=None, *, place="Lạng Sơn", rsvp_url=None,
                    attendee_count=0, issued_at=None, places=None, site_count=None, references=()):
    """Return the invite's [(heading, text)] for one person (or for a feed when person is None).

    places: `places_text(meeting, endpoints)`, and site_count: `len(endpoints)`, when the caller
    already has them (endpoints may then be None: the worker building a batch loads only its
    recipients' sites). references: [(heading, text)] that follow the title (booking.invite_texts: the issued
    giấy mời, "Theo Giấy mời số 12/GM-UBND ngày 05/02/2027").
    """
    sections = [
        ("Cơ quan mời", organizer_label(meeting)),
        ("", formal_date(issued_at or meeting.updated_at or meeting.created_at, place)),
        ("Về việc", meeting.title),
        *references,
    ]
    if meeting.is_cancelled and meeting.cancel_reason:
        sections.append(("Lý do hủy", meeting.cancel_reason))
    if person is not None:
        where = "; ".join(site_label(e) for e in person.sites) or f"điểm cầu chủ tọa ({meeting.chair.name})"
        role = "Kỹ thuật viên" if person.is_technician else "Đại biểu"
        sections.append(("Kính mời", f"{person.label} ({role.lower()}), dự họp tại: {where}"))
    sections += [
        ("Thời gian", _when(meeting, occurrences)),
        ("Địa điểm", places if places is not None else places_text(meeting, endpoints)),
    ]
    if meeting.description:
        sections.append(("Nội dung, chương trình", meeting.description))
    sections += [
        ("Yêu cầu kỹ thuật",
         f"Kỹ thuật viên có mặt tại điểm cầu trước {format_time(technician_arrival_at(meeting))} "
         f"(ít nhất {TECHNICIAN_LEAD_MINUTES} phút trước giờ họp) để bật thiết bị, kiểm tra hình ảnh, âm thanh, "
         f"đường truyền; kết nối thử với điểm cầu chủ tọa từ {format_time(meeting.test_call_at)}. "
         f"Đại biểu có mặt trước giờ họp {PARTICIPANT_LEAD_MINUTES} phút."
         + (" Thời gian trên áp dụng cho mỗi buổi họp." if meeting.recurrence else "")),
        ("Liên hệ kỹ thuật", _contact(meeting, person or _Nobody())),
        ("Nơi nhận", f"{len(endpoints) if site_count is None else site_count} điểm cầu dự họp "
                     "(đại biểu và kỹ thuật viên)"
                     + (f"; {attendee_count} người nhận" if attendee_count else "")),
    ]
    if rsvp_url:
        sections.append(("Xác nhận tham dự", rsvp_url))
    sections.append(("", "Thư mời này bổ sung cho giấy mời chính thức của cơ quan mời."))
    return sections


class _Nobody:
    sites = ()


def plain_text(sections):
    """Render sections as plain text: 'Heading: text' blocks."""
    return "\n\n".join(f"{heading}: {text}" if heading else text for heading, text in sections)


def feed_description(meeting):
    """A short text for a subscribed calendar: agenda, chair site and the test-call time."""
    sections = [("Điểm cầu chủ tọa", site_label(meeting.chair)),
                ("Kiểm tra kết nối", f"kỹ thuật viên có mặt trước {format_time(technician_arrival_at(meeting))}, "
                                     f"kết nối thử từ {format_time(meeting.test_call_at)} (mỗi buổi họp)")]
    if meeting.description:
        sections.append(("Nội dung, chương trình", meeting.description))
    return plain_text(sections)
