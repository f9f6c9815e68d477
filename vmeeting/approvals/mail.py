"""The approvals' mails, through the outbox: a request to its approvers, a decision to the booker, reminders.

Each is a plain mail written whole (outbox.enqueue_plain), as the readiness escalations are: a few
people, a few lines, no calendar part. Each piece of work has its outbox key, so it goes out once
however often it is asked for (a rerun tick, two workers):

- `approval-request:<approval>:<round>:<address>`: the approvers of the unit asked;
- `approval-decision:<approval>:<round>:<address>`: the booker, of that round's decision;
- `approval-remind:<approval>:<round>:<stage>:<address>`: stage `unit` (its approvers), then `province`
  (the province office), see vmeeting.approvals.jobs.

The addresses are the users' e-mail; a user without one is not told (the inbox still lists the request).
"""

from flask import current_app

from vmeeting.booking import scopes
from vmeeting.core.extensions import db
from vmeeting.core.timefmt import format_date, format_time, weekday_vi
from vmeeting.outbox import service as outbox
from vmeeting.registry.models import Endpoint

#: the outbox keys' first parts
REQUEST_KEY, DECISION_KEY, REMIND_KEY = "approval-request:", "approval-decision:", "approval-remind:"


def _when(meeting):
    return f"{weekday_vi(meeting.starts_at)} {format_time(meeting.starts_at)} ngày {format_date(meeting.starts_at)}"


def _link(path):
    return current_app.config.get("BASE_URL", "").rstrip("/") + path


def _site_lines(row):
    sites = [db.session.get(Endpoint, i) for i in row.endpoint_ids or ()]
    names = [site.name for site in sites if site is not None]
    shown = names[:20]
    more = len(names) - len(shown)
    return "\n".join(f"  - {name}" for name in shown) + (f"\n  … và {more} điểm cầu khác" if more > 0 else "")


def _request_text(meeting, row, opening):
    booker = meeting.organizer.display_name if meeting.organizer is not None else "(không rõ)"
    agency = f" — {meeting.organizer.agency}" if meeting.organizer is not None and meeting.organizer.agency else ""
    return (f"{opening}\n\n"
            f"Cuộc họp: {meeting.title}\n"
            f"Thời gian: {_when(meeting)}"
            + (f" (chuỗi họp: {meeting.recurrence})" if meeting.recurrence else "") + "\n"
            f"Người đặt: {booker}{agency}\n"
            f"Điểm cầu của {row.unit.name} ({len(row.endpoint_ids or ())}):\n{_site_lines(row)}\n\n"
            + (f"Nội dung:\n{meeting.description[:1500]}\n\n" if meeting.description else "")
            + f"Duyệt hoặc từ chối tại: {_link('/approvals')}\n"
            "Cuộc họp giữ các điểm cầu này cho đến khi được duyệt; giấy mời chỉ gửi đi khi mọi đơn vị đã duyệt.\n")


def _send(key, meeting, users, subject, text):
    for user in users:
        if not user.email:
            continue
        outbox.enqueue_plain(key=f"{key}{user.email.lower()}", meeting_id=meeting.id, recipient=user.email,
                             recipient_name=user.display_name, subject=subject, text=text,
                             sequence=meeting.sequence)


def on_approval(event, meeting, rows):
    """booking.approvals' listener: mail a request's approvers, or a decision's booker (in its transaction)."""
    if event == "requested":
        tell_approvers(meeting, rows)
    elif event == "decided":
        for row in rows:
            tell_booker(meeting, row)


def tell_approvers(meeting, rows):
    """Tell each asked unit's approvers of the request (once per request and round)."""
    for row in rows:
        subject = f"Chờ duyệt: {meeting.title} — {_when(meeting)}"
        opening = (f"{row.unit.name} được đề nghị duyệt việc dùng {len(row.endpoint_ids or ())} điểm cầu của mình"
                   + (" (lịch họp đã thay đổi, xin duyệt lại)." if row.round > 1 else "."))
        _send(f"{REQUEST_KEY}{row.id}:{row.round}:", meeting, scopes.approvers_of(row.unit_id), subject,
              _request_text(meeting, row, opening))


def tell_booker(meeting, row):
    """Tell the meeting's booker of one unit's decision (once per request and round)."""
    if meeting.organizer is None:
        return
    approved = row.status == "approved"
    who = row.decided_by.display_name if row.decided_by is not None else "hệ thống (tự động)"
    subject = f"{'Đã duyệt' if approved else 'Từ chối'}: {meeting.title} — {_when(meeting)}"
    if approved:
        outcome = f"{row.unit.name} đã duyệt {len(row.endpoint_ids or ())} điểm cầu của mình ({who})."
    elif meeting.is_cancelled:
        outcome = (f"{row.unit.name} từ chối ({who}); điểm cầu chủ tọa thuộc đơn vị này nên cuộc họp đã bị hủy.")
    else:
        outcome = (f"{row.unit.name} từ chối ({who}); {len(row.endpoint_ids or ())} điểm cầu của đơn vị này đã được "
                   "bỏ khỏi cuộc họp (mọi buổi).")
    text = (f"{outcome}\n" + (f"Lý do: {row.reason}\n" if row.reason else "")
            + f"\nCuộc họp: {meeting.title}\nThời gian: {_when(meeting)}\n"
            f"Điểm cầu:\n{_site_lines(row)}\n\n"
            + ("Mọi đơn vị đã trả lời: giấy mời được gửi đi.\n" if meeting.status == "scheduled" else "")
            + f"Xem cuộc họp: {_link(f'/meetings/{meeting.id}')}\n")
    _send(f"{DECISION_KEY}{row.id}:{row.round}:", meeting, [meeting.organizer], subject, text)


def remind(meeting, row, stage):
    """Remind of a request still unanswered: stage "unit" its approvers, "province" the province office."""
    users = scopes.approvers_of(row.unit_id) if stage == "unit" else scopes.province_office()
    subject = f"Nhắc duyệt: {meeting.title} — {_when(meeting)}"
    opening = (f"Đề nghị duyệt của {row.unit.name} vẫn chưa được trả lời"
               + ("; Văn phòng UBND tỉnh được báo để xử lý thay." if stage == "province" else ".")
               + " Nếu không được duyệt trước giờ họp, các điểm cầu này sẽ tự động bị từ chối.")
    _send(f"{REMIND_KEY}{row.id}:{row.round}:{stage}:", meeting, users, subject, _request_text(meeting, row, opening))
