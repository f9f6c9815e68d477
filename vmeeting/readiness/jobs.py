"""The worker's readiness ticks: probe rounds before each sitting, and the escalation mail.

Each asks the database what is due (a sitting starting soon without its
`ReadinessJob` marker), does it, and records the marker in the same commit, so
a rerun, a restart or a second worker finds the work done.
"""

import logging
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app

from vmeeting.booking.models import Meeting, Occurrence
from vmeeting.core.database import utcnow, write_intent
from vmeeting.core.extensions import db
from vmeeting.outbox import service as outbox
from vmeeting.readiness import escalation, service
from vmeeting.readiness.models import ReadinessJob

log = logging.getLogger(__name__)


def _upcoming(now, minutes):
    """Select (id, starts_at) of live sittings starting within `minutes` from now."""
    return (sa.select(Occurrence.id, Occurrence.starts_at).join(Occurrence.meeting)
            .where(Occurrence.starts_at > now, Occurrence.starts_at <= now + timedelta(minutes=minutes),
                   Occurrence.status == "scheduled", Meeting.status == "scheduled"))


def due_probe_work(now):
    """Return [(occurrence_id, minutes_before, starts_at)] of probe rounds due and not done.

    A worker that was down catches up with one round that settles every
    missed time at once, rather than probing several times in a row.
    """
    offsets = sorted(current_app.config["PROBE_MINUTES_BEFORE"])
    if not offsets:
        return []
    sittings = db.session.execute(_upcoming(now, max(offsets))).all()
    if not sittings:
        return []
    done = set(db.session.execute(
        sa.select(ReadinessJob.occurrence_id, ReadinessJob.minutes_before, ReadinessJob.for_starts_at)
        .where(ReadinessJob.kind == "probe", ReadinessJob.occurrence_id.in_([s.id for s in sittings]))
    ).all())
    return [(s.id, minutes, s.starts_at) for s in sittings for minutes in offsets
            if s.starts_at - timedelta(minutes=minutes) <= now and (s.id, minutes, s.starts_at) not in done]


def run_due_probes(now=None):
    """Probe, in one sweep, every sitting with a probe round due; return how many sittings were probed."""
    work = due_probe_work(now or utcnow())
    if not work:
        db.session.commit()
        return 0
    occurrence_ids = sorted({occurrence_id for occurrence_id, _m, _s in work})
    service.probe_sittings(occurrence_ids, done_jobs=work)
    return len(occurrence_ids)


def due_escalations(now, minutes):
    """Return the ids of live sittings starting within `minutes` whose escalation is not done; ends the read."""
    done = (sa.select(ReadinessJob.id)
            .where(ReadinessJob.occurrence_id == Occurrence.id, ReadinessJob.kind == "escalation",
                   ReadinessJob.minutes_before == minutes, ReadinessJob.for_starts_at == Occurrence.starts_at))
    due = db.session.execute(_upcoming(now, minutes).where(~done.exists())).all()
    db.session.commit()
    return [occurrence_id for occurrence_id, _starts_at in due]


def run_due_escalations(now=None):
    """Queue the escalation mail of every sitting whose time has come, once each; return how many sittings."""
    now = now or utcnow()
    minutes = current_app.config["ESCALATION_MINUTES_BEFORE"]
    count = 0
    for occurrence_id in due_escalations(now, minutes):
        token = write_intent.set(True)  # SQLite: hold the write lock from BEGIN, the marker decides who sends
        try:
            count += escalate(occurrence_id, minutes, now)
            db.session.commit()
        finally:
            write_intent.reset(token)
    return count


def escalate(occurrence_id, minutes, now):
    """Queue one sitting's escalation mail and its marker, if it is still due; return 1 if queued, else 0.

    The due list was read in an earlier transaction: the sitting may since have
    been cancelled or moved. Its meeting row is locked (PostgreSQL; SQLite holds
    the write lock) so a cancellation either came first and is seen here, or waits.
    """
    db.session.execute(sa.select(Meeting.id).join(Meeting.occurrences).where(Occurrence.id == occurrence_id)
                       .with_for_update(of=Meeting))
    occurrence = db.session.execute(sa.select(Occurrence).where(Occurrence.id == occurrence_id)
                                    .execution_options(populate_existing=True)).scalar_one_or_none()
    if occurrence is None or not _still_due(occurrence, minutes, now):
        return 0
    rows = service.sites(occurrence.id)
    mails = escalation.escalation_mails(occurrence, rows)
    detail = {"not_ready": len(escalation.not_ready_sites(rows)), "total": len(rows),
              "recipients": [m.recipient for m in mails]}
    if not service.mark_done(occurrence.id, "escalation", minutes, occurrence.starts_at, detail):
        db.session.rollback()  # another run got there first: it queued the mail
        return 0
    for mail in mails:
        _queue(occurrence.meeting, mail)
    log.info("readiness escalation for sitting %s: %d of %d sites not ready, %d mails queued",
             occurrence.id, detail["not_ready"], detail["total"], len(mails))
    return 1


def _still_due(occurrence, minutes, now):
    meeting = db.session.execute(sa.select(Meeting).where(Meeting.id == occurrence.meeting_id)
                                 .execution_options(populate_existing=True)).scalar_one()
    return (occurrence.status == "scheduled" and meeting.status == "scheduled"
            and now < occurrence.starts_at <= now + timedelta(minutes=minutes))


def _queue(meeting, mail):
    # The outbox writes the row here, in this transaction, and the workers deliver it with retries.
    outbox.enqueue_plain(key=mail.key, meeting_id=meeting.id, recipient=mail.recipient,
                         recipient_name=mail.recipient_name, subject=mail.subject, text=mail.text,
                         sequence=meeting.sequence)


def probe_tick():
    """Run the probe rounds that are due."""
    run_due_probes()


def escalation_tick():
    """Send the escalation mails that are due."""
    run_due_escalations()
