"""Reminders before each sitting, to every site's contacts and technician, through the outbox.

When they go is REMINDER_SCHEDULE (CONTRACT.md): a comma-separated list of
`-Nd@HH:MM` (the N-th working day before the sitting's day, at that local time;
the working calendar of `working_time` decides which days work) and `Nm` / `Nh`
(that long before the start). The worker's tick asks each minute which
reminders are due and queues them; each piece of work has its outbox key
`reminder:<sitting>:<start>:<rule>:<address>`, so a person gets one reminder
per rule and sitting however often the tick runs, whichever worker runs it,
across restarts. Every address gets one mail for all the sites it serves in
the sitting.

A reminder is not sent:
- for a sitting that is cancelled, or whose meeting is, or that has started;
- when its time came before the person was told of the sitting's current time
  (their invite was queued after it: a meeting booked at 16:00 for tomorrow
  morning gets no "-1d@15:00" reminder, its invite is the news);
- for an old time: a sitting moved gets reminders for its new start (the start
  is in the key), and the reminders of the old start that are still waiting
  are marked superseded in the move's own transaction (`on_booking_change`),
  as are those of a cancelled sitting and of a site taken off.
"""

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import selectinload

from vmeeting.booking.models import Meeting, Occurrence, Reservation
from vmeeting.core.database import utcnow
from vmeeting.core.extensions import db
from vmeeting.core.timefmt import format_date, format_time, local_to_utc, to_local, weekday_vi
from vmeeting.invites.recipients import people_of_sites
from vmeeting.outbox import service as outbox
from vmeeting.outbox.models import OutboxMail
from vmeeting.registry.models import Endpoint
from vmeeting.working_time import service as working_time

#: the outbox key's first part; the rest names the sitting, its start, the rule and the address
KEY_PREFIX = "reminder:"
#: how far ahead the tick looks for sittings: past the longest "-Nd" rule across a long holiday (Tết)
LOOKAHEAD_EXTRA = timedelta(days=12)
_RULE = re.compile(r"^(?:-(?P<days>[1-9]\d?)d@(?P<at>\d{1,2}:\d{2})|(?P<minutes>[1-9]\d{0,4})m|(?P<hours>[1-9]\d{0,2})h)$")


@dataclass(frozen=True)
class Rule:
    """One reminder time: `working_days` before at `at` (local), or `before` the start."""

    code: str
    working_days: int = 0
    at: time | None = None
    before: timedelta | None = None

    def due_at(self, starts_at, working_day_before):
        """When this rule's reminder of a sitting starting at `starts_at` (UTC) is due (UTC)."""
        if self.before is not None:
            return starts_at - self.before
        day = working_day_before(to_local(starts_at).date(), self.working_days)
        return local_to_utc(datetime.combine(day, self.at))

    @property
    def lookahead(self):
        """How far before a start this rule may be due at most."""
        return self.before if self.before is not None else timedelta(days=self.working_days) + LOOKAHEAD_EXTRA


def parse_schedule(text):
    """Parse REMINDER_SCHEDULE into a tuple of Rules (empty text: none); ValueError names the bad part.

    "-1d@15:00,60m" → the working day before at 15:00, and 60 minutes before.
    A rule's code (in each reminder's outbox key) is its canonical spelling, "-Nd@HH:MM" or "Nm":
    the same time written otherwise ("1h" for "60m", "-1d@9:00") is the same rule, its reminders
    already sent are not sent again, and naming it twice is an error.
    """
    rules = []
    for part in (text or "").replace(" ", "").split(","):
        if not part:
            continue
        match = _RULE.match(part)
        if match is None:
            raise ValueError(f"REMINDER_SCHEDULE: {part!r} is neither -Nd@HH:MM, Nm nor Nh")
        if match["days"]:
            hour, minute = (int(n) for n in match["at"].split(":"))
            if hour > 23 or minute > 59:
                raise ValueError(f"REMINDER_SCHEDULE: {part!r} names no time of day")
            days = int(match["days"])
            rules.append(Rule(f"-{days}d@{hour:02d}:{minute:02d}", working_days=days, at=time(hour, minute)))
        else:
            minutes = int(match["minutes"] or 0) + 60 * int(match["hours"] or 0)
            rules.append(Rule(f"{minutes}m", before=timedelta(minutes=minutes)))
    if len({rule.code for rule in rules}) != len(rules):
        raise ValueError(f"REMINDER_SCHEDULE: a time is named twice in {text!r}")
    return tuple(rules)


def schedule():
    """The current app's Rules."""
    return parse_schedule(current_app.config.get("REMINDER_SCHEDULE", ""))


def _working_day_finder():
    """working_day_before(day, n): the n-th working day before a local day, remembered for the tick."""
    known = {}

    def is_working(day):
        if day not in known:
            known[day] = working_time.is_working_day(day)
        return known[day]

    def working_day_before(day, n):
        while n:
            day -= timedelta(days=1)
            n -= is_working(day)
        return day

    return working_day_before


def reminder_key(occurrence, rule, email):
    """The outbox key of one reminder (see the module's docstring)."""
    return f"{KEY_PREFIX}{occurrence.id}:{occurrence.starts_at:%Y%m%dT%H%MZ}:{rule.code}:{email}"


def queue_due_reminders(now=None):
    """Queue every reminder due at `now` (UTC) and not queued before; commit; return how many were queued."""
    now = now or utcnow()
    rules = schedule()
    if not rules:
        return 0
    working_day_before = _working_day_finder()
    horizon = now + max(rule.lookahead for rule in rules)
    sittings = db.session.scalars(
        sa.select(Occurrence).join(Meeting)
        .where(Occurrence.status == "scheduled", Meeting.status == "scheduled",
               Occurrence.starts_at > now, Occurrence.starts_at <= horizon)
        .options(selectinload(Occurrence.meeting)).order_by(Occurrence.starts_at, Occurrence.id)).all()
    queued = 0
    for occurrence in sittings:
        due = [rule for rule in rules if rule.due_at(occurrence.starts_at, working_day_before) <= now]
        if due:
            queued += _queue_for(occurrence, due, working_day_before)
    db.session.commit()
    return queued


def _queue_for(occurrence, rules, working_day_before):
    endpoints = db.session.scalars(
        sa.select(Endpoint).join(Reservation, Reservation.endpoint_id == Endpoint.id)
        .where(Reservation.occurrence_id == occurrence.id)
        .options(selectinload(Endpoint.technician), selectinload(Endpoint.unit))
        .order_by(Endpoint.name_sort_key, Endpoint.code)).all()
    people = people_of_sites(endpoints)
    if not people:
        return 0
    told = dict(db.session.execute(
        sa.select(OutboxMail.recipient, sa.func.max(OutboxMail.created_at))
        .where(OutboxMail.meeting_id == occurrence.meeting_id, OutboxMail.method == "REQUEST")
        .group_by(OutboxMail.recipient)).all())
    # the latest rule due only: a reminder queued late (a worker down, a meeting booked between two
    # rules) does not come with an earlier one
    due_at, rule = max(((r.due_at(occurrence.starts_at, working_day_before), r) for r in rules),
                       key=lambda pair: pair[0])
    queued = 0
    for email, person in people.items():
        invited_at = told.get(email)
        if invited_at is not None and invited_at > due_at:
            continue
        key = reminder_key(occurrence, rule, email)
        if db.session.scalar(sa.select(OutboxMail.id).where(OutboxMail.key == key)) is not None:
            continue
        subject, text = reminder_text(occurrence, person)
        outbox.enqueue_plain(key=key, meeting_id=occurrence.meeting_id, recipient=email,
                             recipient_name=person.name, subject=subject, text=text,
                             sequence=occurrence.meeting.sequence)
        queued += 1
    return queued


def reminder_text(occurrence, person):
    """(subject, text) of one person's reminder of a sitting: when, the set-up window, their sites, the links."""
    meeting = occurrence.meeting
    base_url = current_app.config["BASE_URL"].rstrip("/")
    setup_from = occurrence.starts_at - timedelta(minutes=meeting.setup_minutes or 0)
    when = f"{format_time(occurrence.starts_at)} {weekday_vi(occurrence.starts_at)}, {format_date(occurrence.starts_at)}"
    subject = f"[Nhắc lịch] {meeting.title} – {when}"
    lines = [f"Cuộc họp trực tuyến «{meeting.title}» bắt đầu lúc {when}, "
             f"kết thúc lúc {format_time(occurrence.ends_at)}.",
             f"Các điểm cầu kết nối và gọi thử từ {format_time(setup_from)}; "
             f"người dự họp có mặt trước giờ họp 15 phút.", "",
             "Điểm cầu của anh/chị trong buổi họp:" if len(person.sites) > 1 else "Điểm cầu của anh/chị:"]
    for endpoint in person.sites:
        unit = endpoint.unit.name if endpoint.unit is not None else ""
        line = f"- {endpoint.name}" + (f" ({unit})" if unit and unit not in endpoint.name else "")
        if person.is_technician:
            line += f": xác nhận sẵn sàng tại {base_url}/readiness/{occurrence.id}/{endpoint.id}"
        lines.append(line)
    lines += ["", f"Chi tiết cuộc họp: {base_url}/meetings/{meeting.id}", "",
              "Thư này do hệ thống vmeeting gửi tự động để nhắc lịch; không cần trả lời."]
    return subject, "\n".join(lines) + "\n"


def supersede_reminders(occurrence_ids, keep_start=None, recipients=None):
    """Mark superseded the waiting reminders of these sittings: all of them, or (keep_start) those of another
    start than the sittings' current one, or only those to `recipients`. In the caller's transaction."""
    if not occurrence_ids:
        return
    pending = db.session.execute(
        sa.select(OutboxMail.id, OutboxMail.key, OutboxMail.recipient)
        .where(OutboxMail.status == "pending", OutboxMail.key.like(f"{KEY_PREFIX}%"),
               sa.or_(*(OutboxMail.key.like(f"{KEY_PREFIX}{i}:%") for i in occurrence_ids)))).all()
    stale = [row.id for row in pending
             if (keep_start is None or row.key.split(":")[2] != keep_start.get(int(row.key.split(":")[1])))
             and (recipients is None or row.recipient in recipients)]
    if stale:
        db.session.execute(sa.update(OutboxMail).where(OutboxMail.id.in_(stale))
                           .values(status="superseded", last_error=SUPERSEDED_NOTE)
                           .execution_options(synchronize_session=False))


#: the note of a reminder that no longer holds (shown on the outbox page)
SUPERSEDED_NOTE = "Buổi họp đã đổi giờ, bị hủy hoặc điểm cầu không còn trong cuộc họp."


def on_booking_change(event, meeting, **details):
    """Booking's change listener: waiting reminders of what changed no longer hold (see the docstring)."""
    occurrences = list(meeting.occurrences)
    if event in ("cancelled",):
        supersede_reminders([o.id for o in occurrences])
    elif event == "occurrence_cancelled":
        supersede_reminders([details["occurrence"].id])
    elif event in ("occurrence_moved", "updated"):
        supersede_reminders([o.id for o in occurrences],
                            keep_start={o.id: f"{o.starts_at:%Y%m%dT%H%MZ}" for o in occurrences
                                        if o.status == "scheduled"})
        removed = details.get("removed_endpoint_ids")
        if removed:
            _supersede_for_sites_gone(occurrences, removed)
    elif event == "sitting_sites_removed":  # a displacement took sites off one sitting (booking.displacement)
        _supersede_for_sites_gone([details["occurrence"]], details["removed_endpoint_ids"])


def _supersede_for_sites_gone(occurrences, removed):
    """Supersede the waiting reminders, at each sitting, of the people of removed sites who sit there no more."""
    for occurrence in occurrences:
        endpoints = db.session.scalars(
            sa.select(Endpoint).join(Reservation, Reservation.endpoint_id == Endpoint.id)
            .where(Reservation.occurrence_id == occurrence.id)
            .options(selectinload(Endpoint.technician))).all()
        still = set(people_of_sites(endpoints))
        gone = set(people_of_sites(db.session.scalars(
            sa.select(Endpoint).where(Endpoint.id.in_(removed))
            .options(selectinload(Endpoint.technician))).all())) - still
        supersede_reminders([occurrence.id], recipients=gone)
