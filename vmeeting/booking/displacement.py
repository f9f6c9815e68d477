"""A higher-priority booking taking the busy sites of lower-priority sittings (issue 27): writes, notices, record.

booking.changes calls `displace` inside the booking's transaction, under the booking lock
(`conflicts.lock_sites`), when the person asked for it (BookingChoices.displace_lower_priority)
and the busy sittings are of a class strictly below the new meeting's (booking.priority); once
the new meeting's reservations are written it calls `tell_bookers`. Everything commits or rolls
back with the booking: a 409 after a displacement (a bridge still short of ports) undoes it.

What a displaced meeting loses, per sitting (each change bumps its SEQUENCE and is told to
booking's change_listeners, so invites mail it through the outbox as any change):

- a single meeting: the busy sites leave the meeting ("updated" with removed_endpoint_ids: the
  lost sites' people get a CANCEL, the others the updated REQUEST); when its chair site is taken,
  or every site, the meeting is cancelled ("cancelled": a CANCEL to everyone);
- a series: the busy sites leave that one sitting ("sitting_sites_removed": the lost sites' people
  get a CANCEL of that sitting, RECURRENCE-ID; the sittings' other people keep theirs), or, when
  its chair site is taken, that sitting is cancelled ("occurrence_cancelled"; the last one left
  cancels the meeting).

Its booker is told at once ("displaced", which invites mails through the outbox, exactly once),
naming what was lost, for which meeting, and the next free slots of its sites; the audit trail
records, under both meetings, who displaced what and why.

Lock order: the new booking holds its sites' locks, then takes each displaced meeting's row lock
(`hold_meeting`, in id order); an edit of a displaced meeting takes its row first, then its sites,
so the two may deadlock on PostgreSQL, which refuses one of them (409 `transaction_conflict`: the
person sends it again, core.errorpages); they never both write.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app

from vmeeting.audit import service as audit
from vmeeting.booking import priority as priorities
from vmeeting.booking.hooks import change_listeners
from vmeeting.booking.models import Meeting, Occurrence, Reservation, meeting_endpoints
from vmeeting.booking.queries import WRITTEN_SITES, endpoint_ids_of
from vmeeting.booking.slots import find_slots
from vmeeting.booking.validation import hold_meeting
from vmeeting.core.database import one_of, utcnow
from vmeeting.core.extensions import db
from vmeeting.core.timefmt import format_date, format_datetime, format_time, weekday_vi
from vmeeting.registry.models import Endpoint

#: the next free slots a displaced meeting's booker is offered, looked for this far ahead
SLOT_DAYS = 30
SLOTS_OFFERED = 3


@dataclass
class LostSitting:
    """One sitting of a displaced meeting and what it lost: some sites, or the whole sitting."""

    occurrence: Occurrence
    endpoint_ids: list
    whole: bool


@dataclass
class Displaced:
    """A meeting that gave up sites to a higher-priority booking, and what it lost."""

    meeting: Meeting
    #: its sites before (ids), for the slots offered to its booker
    site_ids: list
    sittings: list = field(default_factory=list)
    #: whether the whole meeting ended up cancelled
    cancelled: bool = False


def displace(new_meeting, victims, actor):
    """Take the victims' sites from their sittings for new_meeting; return [Displaced], in meeting id order.

    victims: conflicts (booking.conflicts.find_conflicts) that new_meeting's class may displace
    (priority.split_displaceable). The caller holds the sites' lock and writes new_meeting's
    reservations after this returns; it then calls `tell_bookers`. Flushes.
    """
    lost = defaultdict(set)
    for conflict in victims:
        lost[conflict["occurrence_id"]].add(conflict["endpoint_id"])
    by_meeting = defaultdict(list)
    for occurrence in db.session.scalars(sa.select(Occurrence).where(Occurrence.id.in_(list(lost)))):
        by_meeting[occurrence.meeting_id].append(occurrence)
    done = []
    for meeting_id in sorted(by_meeting):
        meeting = db.session.get(Meeting, meeting_id)
        hold_meeting(meeting)
        site_ids = endpoint_ids_of(meeting)
        record = Displaced(meeting=meeting, site_ids=site_ids)
        for occurrence in sorted(by_meeting[meeting_id], key=lambda o: o.starts_at):
            taken = lost[occurrence.id]
            whole = meeting.chair_endpoint_id in taken or set(site_ids) <= taken
            record.sittings.append(LostSitting(occurrence, sorted(taken), whole))
        _give_up(new_meeting, record, actor)
        done.append(record)
    _record_taker(new_meeting, done, actor)
    db.session.flush()
    return done


def _reason(new_meeting):
    """Why, as the cancel reason and the audit say it: the meeting of which class took the sites."""
    return (f"Nhường điểm cầu cho cuộc họp «{new_meeting.title}» "
            f"(hạng {priorities.label(new_meeting.priority)}) lúc {format_datetime(new_meeting.starts_at)}")


def _give_up(new_meeting, record, actor):
    """Write what one displaced meeting loses (see the module's docstring) and record it in its history."""
    meeting, reason = record.meeting, _reason(new_meeting)
    before_count = len(record.site_ids)
    if not meeting.recurrence:
        (sitting,) = record.sittings
        if sitting.whole:
            _cancel_meeting(meeting, reason)
            record.cancelled = True
        else:
            _drop_sites(meeting, sitting)
            meeting.sequence += 1
            db.session.flush()
            _announce("updated", meeting, removed_endpoint_ids=sitting.endpoint_ids)
    else:
        for sitting in record.sittings:
            occurrence = sitting.occurrence
            if sitting.whole:
                occurrence.status, occurrence.cancel_reason = "cancelled", reason[:500]
                db.session.execute(sa.delete(Reservation).where(Reservation.occurrence_id == occurrence.id))
                if not any(o.status == "scheduled" for o in meeting.occurrences if o is not occurrence):
                    _cancel_meeting(meeting, reason)
                    record.cancelled = True
                    break
                meeting.sequence += 1
                db.session.flush()
                _announce("occurrence_cancelled", meeting, occurrence=occurrence)
            else:
                _drop_reservations(occurrence, sitting.endpoint_ids)
                meeting.sequence += 1
                db.session.flush()
                _announce("sitting_sites_removed", meeting, occurrence=occurrence,
                          removed_endpoint_ids=sitting.endpoint_ids)
    changes = {"displaced_by": [None, f"«{new_meeting.title}» (#{new_meeting.id}, "
                                      f"{priorities.label(new_meeting.priority)})"]}
    if record.cancelled:
        changes["status"] = ["scheduled", "cancelled"]
    elif not meeting.recurrence:
        removed = len(record.sittings[0].endpoint_ids)
        changes["endpoints"] = [before_count, before_count - removed]
        changes["endpoints_removed"] = [None, removed]
    audit.record(actor, "displace", "meeting", meeting.id, changes, f"{reason}: {lost_text(record)}")


def lost_text(record):
    """What a displaced meeting lost, in words: per sitting, its time and the sites taken (or that it is cancelled)."""
    names = dict(db.session.execute(sa.select(Endpoint.id, Endpoint.name).where(Endpoint.id.in_(
        {i for s in record.sittings for i in s.endpoint_ids}))).all())
    parts = []
    for sitting in record.sittings:
        when = f"{format_time(sitting.occurrence.starts_at)} {format_date(sitting.occurrence.starts_at)}"
        if sitting.whole:
            parts.append(f"buổi {when} bị hủy (điểm cầu chủ tọa bị lấy)")
        else:
            sites = ", ".join(names.get(i, f"#{i}") for i in sitting.endpoint_ids)
            parts.append(f"buổi {when} bỏ {len(sitting.endpoint_ids)} điểm cầu ({sites})")
    return "; ".join(parts)


def _cancel_meeting(meeting, reason):
    """Cancel the whole displaced meeting: its chair site is taken (or its last sitting is)."""
    meeting.status, meeting.cancel_reason, meeting.cancelled_at = "cancelled", reason[:500], utcnow()
    meeting.sequence += 1
    occurrence_ids = [o.id for o in meeting.occurrences]
    db.session.execute(sa.delete(Reservation).where(Reservation.occurrence_id.in_(occurrence_ids)))
    db.session.flush()
    _announce("cancelled", meeting)


def _drop_reservations(occurrence, endpoint_ids):
    db.session.execute(sa.delete(Reservation).where(
        Reservation.occurrence_id == occurrence.id, one_of(Reservation.endpoint_id, endpoint_ids, db.session.get_bind())))


def _drop_sites(meeting, sitting):
    """Take a single meeting's lost sites off it: its reservations and its list of sites."""
    _drop_reservations(sitting.occurrence, sitting.endpoint_ids)
    db.session.execute(sa.delete(meeting_endpoints).where(
        meeting_endpoints.c.meeting_id == meeting.id,
        one_of(meeting_endpoints.c.endpoint_id, sitting.endpoint_ids, db.session.get_bind())))
    meeting.endpoint_count -= len(sitting.endpoint_ids)
    db.session.expire(meeting, ["endpoints"])
    db.session.info.get(WRITTEN_SITES, {}).pop(meeting.id, None)


def preview(busy):
    """Return the busy sittings (conflicts.busy_meetings) a displacement would take sites from, each with
    `is_series` and `cancels_sitting`: whether it would lose the whole sitting (its chair site is among
    the sites, or every site), for the confirmation a page shows before anything is written."""
    meetings = {row.id: row for row in db.session.execute(
        sa.select(Meeting.id, Meeting.chair_endpoint_id, Meeting.endpoint_count, Meeting.recurrence)
        .where(Meeting.id.in_({b["meeting_id"] for b in busy})))}
    shown = []
    for group in busy:
        row = meetings.get(group["meeting_id"])
        taken = {site["endpoint_id"] for site in group["sites"]}
        whole = row is not None and (row.chair_endpoint_id in taken or len(taken) >= row.endpoint_count)
        shown.append({**group, "cancels_sitting": whole, "is_series": bool(row is not None and row.recurrence)})
    return shown


def _announce(event, meeting, **details):
    for listener in change_listeners:
        listener(event, meeting, **details)


def _record_taker(new_meeting, done, actor):
    """Record under the new meeting which meetings it displaced (its history names them)."""
    if not done:
        return
    names = "; ".join(f"«{d.meeting.title}» (#{d.meeting.id}, {priorities.label(d.meeting.priority)}): "
                      f"{lost_text(d)}" for d in done)
    audit.record(actor, "displace", "meeting", new_meeting.id,
                 {"displaced": [None, [d.meeting.id for d in done]]},
                 f"Lấy điểm cầu của {len(done)} cuộc họp hạng thấp hơn: {names}")


# -- telling the bookers ------------------------------------------------------------------------


def tell_bookers(new_meeting, done, actor):
    """Tell each displaced meeting's booker at once: what was lost, for which meeting, and the next free slots.

    Called after new_meeting's reservations are written, so the slots offered are free of it too.
    Announced to booking's change_listeners as "displaced" (key, subject, text): invites mails it
    to the meeting's organizer through the outbox, once per key (booking sends no mail itself).
    """
    for record in done:
        subject, text = notice(new_meeting, record, actor, _slots(record))
        _announce("displaced", record.meeting, key=f"displaced:{record.meeting.uid}:{record.meeting.sequence}",
                  subject=subject, text=text)


def _slots(record):
    """The next free slots, in working hours, when every site the displaced meeting had is free (its own
    reservations aside), as long as its first lost sitting."""
    meeting, first = record.meeting, record.sittings[0].occurrence
    sites = db.session.execute(sa.select(Endpoint.id, Endpoint.bridge_id).where(
        one_of(Endpoint.id, record.site_ids, db.session.get_bind()))).all()
    now = utcnow()
    return find_slots(sites, first.ends_at - first.starts_at, now, now + timedelta(days=SLOT_DAYS),
                      limit=SLOTS_OFFERED, setup_minutes=meeting.setup_minutes, meeting_bridge_id=meeting.bridge_id,
                      ignore_meeting_id=meeting.id)


def notice(new_meeting, record, actor, slots):
    """Return (subject, text) of the mail to a displaced meeting's booker."""
    meeting = record.meeting
    url = f"{current_app.config['BASE_URL'].rstrip('/')}/meetings/{meeting.id}"
    what = "bị hủy" if record.cancelled else "bị lấy điểm cầu"
    subject = f"Cuộc họp {what} để nhường cho cuộc họp hạng ưu tiên cao hơn: {meeting.title}"
    taker = getattr(actor, "display_name", None) or "hệ thống"
    lines = [f"Cuộc họp «{meeting.title}» (hạng {priorities.label(meeting.priority)}) mà anh/chị đặt đã phải "
             f"nhường điểm cầu cho cuộc họp «{new_meeting.title}» (hạng {priorities.label(new_meeting.priority)}), "
             f"{weekday_vi(new_meeting.starts_at)} {format_datetime(new_meeting.starts_at)}, do {taker} đặt.", "",
             "Những gì thay đổi:"]
    lines += [f"- {part}" for part in lost_text(record).split("; ")]
    if record.cancelled:
        lines.append("- Cuộc họp đã bị hủy; mọi người dự đã nhận thư báo hủy.")
    else:
        lines.append("- Người dự ở các điểm cầu bị lấy đã nhận thư báo hủy; những người khác nhận lịch cập nhật.")
    lines += ["", "Giờ trống gần nhất (trong giờ làm việc) khi mọi điểm cầu của cuộc họp đều rảnh:"]
    lines += [f"- {weekday_vi(start)} {format_time(start)}–{format_time(end)} ngày {format_date(start)}"
              for start, end in slots] or ["- Không tìm thấy giờ trống trong 30 ngày tới."]
    lines += ["", f"Xem cuộc họp và đặt lại: {url}", "",
              "Thư này do hệ thống vmeeting gửi tự động, một lần cho mỗi lần nhường điểm cầu."]
    return subject, "\n".join(lines) + "\n"
