"""The approvals' tick: reminders of requests left unanswered, and the automatic refusal at the start.

Every minute, in the worker holding the lease (vmeeting.jobs):
- a request still pending APPROVAL_REMIND_BEFORE working days before its meeting's start (at the
  start's local hour; the working calendar of `working_time` decides which days work) reminds its
  unit's approvers; one working day later (half-way to the start when the setting is 1) the
  province office is reminded too. A request asked after that moment is not reminded (its request
  mail is the news). Each reminder has its outbox key (booking.approval_mail), so the tick may run
  any number of times, on any worker;
- a request still pending when its meeting starts is refused (booking.approvals.refuse_due), its
  booker told; a refused chair site cancels the meeting.
"""

from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from vmeeting.approvals import mail as approval_mail
from vmeeting.booking import approvals
from vmeeting.booking.approval_models import Approval
from vmeeting.booking.models import Meeting
from vmeeting.core.database import utcnow, writing
from vmeeting.core.extensions import db
from vmeeting.core.timefmt import local_to_utc, to_local
from vmeeting.working_time import service as working_time

#: how far ahead the tick looks: past the longest setting across a long holiday (Tết)
LOOKAHEAD = timedelta(days=30)


def _working_day_before(day, n):
    while n:
        day -= timedelta(days=1)
        n -= working_time.is_working_day(day)
    return day


def reminder_times(starts_at, working_days):
    """Return (unit stage, province stage) due instants (UTC) for a meeting starting at starts_at (UTC)."""
    local = to_local(starts_at)
    at = lambda n: local_to_utc(datetime.combine(_working_day_before(local.date(), n), local.time()))  # noqa: E731
    unit = at(working_days)
    province = at(working_days - 1) if working_days > 1 else unit + (starts_at - unit) / 2
    return unit, province


def queue_reminders(now=None):
    """Queue every approval reminder due at `now` and not queued before; return how many requests were reminded."""
    now = now or utcnow()
    days = current_app.config.get("APPROVAL_REMIND_BEFORE", 2)
    rows = db.session.scalars(sa.select(Approval).join(Meeting, Meeting.id == Approval.meeting_id).where(
        Approval.status == "pending", Meeting.status == "pending", Meeting.starts_at > now,
        Meeting.starts_at <= now + LOOKAHEAD).order_by(Approval.id)).all()
    reminded = 0
    for row in rows:
        unit_due, province_due = reminder_times(row.meeting.starts_at, days)
        for stage, due in (("unit", unit_due), ("province", province_due)):
            if due <= now and row.requested_at < due:
                approval_mail.remind(row.meeting, row, stage)
                reminded += 1
    return reminded


def approvals_tick():
    """The worker's tick: reminders, then the automatic refusals (each its own transaction)."""
    with writing():
        queue_reminders()
        db.session.commit()
    with writing():
        approvals.refuse_due()
