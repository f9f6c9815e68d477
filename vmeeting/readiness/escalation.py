"""The escalation mail: shortly before the start, who is told which sites are not ready."""

from dataclasses import dataclass

from flask import current_app

from vmeeting.booking.service import site_warnings
from vmeeting.readiness.service import STATUS_LABELS, is_not_ready
from vmeeting.core.timefmt import format_datetime, format_time, weekday_vi


@dataclass(frozen=True)
class EscalationMail:
    """One plain-text mail to one person; `key` makes it go out once whatever reruns."""

    key: str
    recipient: str
    recipient_name: str
    subject: str
    text: str


def not_ready_sites(rows):
    """Return the (endpoint, readiness, confirmer) rows of sites that need attention, in board order."""
    return [row for row in rows if is_not_ready(row[1])]


def recipients(meeting, not_ready):
    """Return [(email, name)]: the organizer and the technicians of the sites not ready, each once."""
    people = {}
    organizer = meeting.organizer
    if organizer is not None and organizer.email:
        people.setdefault(organizer.email.lower(), organizer.display_name)
    for endpoint, _readiness, _confirmer in not_ready:
        technician = endpoint.technician
        if technician is not None and technician.email and technician.is_enabled:
            people.setdefault(technician.email.lower(), technician.display_name)
    return list(people.items())


def _site_line(endpoint, readiness):
    parts = [STATUS_LABELS[readiness.status if readiness else "pending"]]
    if readiness is not None and readiness.status == "issue" and readiness.note:
        parts[0] += f": {readiness.note}"
    if readiness is not None and readiness.is_reachable is False:
        parts.append(f"không kết nối được ({readiness.probe_error or 'không rõ lỗi'})")
    technician = endpoint.technician
    if technician is not None:
        contact = technician.display_name + (f", {technician.phone}" if technician.phone else "")
        parts.append(f"kỹ thuật viên {contact}")
    elif endpoint.contact_name or endpoint.contact_phone:
        parts.append(f"liên hệ {', '.join(p for p in (endpoint.contact_name, endpoint.contact_phone) if p)}")
    return f"- {endpoint.name}: " + "; ".join(parts) + "."


def mail_text(occurrence, not_ready, total, board_url, warnings=()):
    """Return (subject, text) of the escalation for a sitting; `warnings` ({message}) follow the sites not ready."""
    meeting = occurrence.meeting
    when = f"{format_time(occurrence.starts_at)} {weekday_vi(occurrence.starts_at)}, " \
           f"{format_datetime(occurrence.starts_at)[:10]}"
    subject = f"[Cảnh báo] {len(not_ready)}/{total} điểm cầu chưa sẵn sàng – {meeting.title} ({when})"
    lines = [f"Cuộc họp «{meeting.title}» bắt đầu lúc {when}.",
             f"{len(not_ready)} trong {total} điểm cầu chưa sẵn sàng:", ""]
    district = None
    for endpoint, readiness, _confirmer in not_ready:
        head = endpoint.unit.parent if endpoint.unit.level == "commune" and endpoint.unit.parent else endpoint.unit
        if head is not district:
            if district is not None:
                lines.append("")
            lines.append(head.name)
            district = head
        lines.append(_site_line(endpoint, readiness))
    if warnings:
        lines += ["", "Sự cố và mất kết nối đang ghi nhận ở các điểm cầu của buổi họp:"]
        lines += [f"- {w['message']}" for w in warnings]
    lines += ["", f"Theo dõi trực tiếp: {board_url}", "",
              "Thư này do hệ thống vmeeting gửi tự động, một lần cho mỗi buổi họp."]
    return subject, "\n".join(lines) + "\n"


def escalation_mails(occurrence, rows):
    """Return the EscalationMails for a sitting (none when every site is ready)."""
    not_ready = not_ready_sites(rows)
    if not not_ready:
        return []
    meeting = occurrence.meeting
    board_url = (f"{current_app.config['BASE_URL'].rstrip('/')}/meetings/{meeting.id}/readiness"
                 f"?occurrence_id={occurrence.id}")
    warnings = site_warnings([endpoint.id for endpoint, _readiness, _confirmer in rows])
    subject, text = mail_text(occurrence, not_ready, len(rows), board_url, warnings)
    stamp = occurrence.starts_at.strftime("%Y%m%dT%H%M%SZ")
    return [EscalationMail(f"readiness-escalation:{occurrence.id}:{stamp}:{email}", email, name, subject, text)
            for email, name in recipients(meeting, not_ready)]
