"""The worker's readiness work: probe rounds at their times, the escalation mail once."""

from datetime import timedelta

import sqlalchemy as sa

from tests.readiness.conftest import ALL_CHECKS
from vmeeting.booking import service as booking
from vmeeting.core.extensions import db
from vmeeting.outbox.delivery import deliver_outbox
from vmeeting.outbox.models import OutboxMail
from vmeeting.jobs import ticks as app_ticks
from vmeeting.readiness import escalation, jobs, service
from vmeeting.readiness.models import ReadinessEvent, ReadinessJob


def probe_rounds():
    return db.session.scalar(sa.select(sa.func.count()).where(ReadinessEvent.kind == "probe"))


def test_ticks_are_registered(app):
    ticks = app_ticks(app)
    assert ticks["readiness.probes"].func is jobs.probe_tick
    assert ticks["readiness.escalations"].func is jobs.escalation_tick


def test_probe_rounds_run_once_at_each_time(sitting, app):
    app.config.update(PROBE_TIMEOUT_SECONDS=0.5, PROBE_MINUTES_BEFORE=(60, 30, 10))
    start = sitting.occurrence.starts_at
    assert jobs.run_due_probes(start - timedelta(minutes=61)) == 0
    assert jobs.run_due_probes(start - timedelta(minutes=60)) == 1
    assert probe_rounds() == 5
    assert jobs.run_due_probes(start - timedelta(minutes=45)) == 0  # done for 60, 30 not yet due
    # a worker that was down from T-30 to T-5 catches up with a single round
    assert jobs.run_due_probes(start - timedelta(minutes=5)) == 1
    assert jobs.run_due_probes(start - timedelta(minutes=4)) == 0
    assert probe_rounds() == 10
    marks = db.session.execute(sa.select(ReadinessJob.minutes_before).where(ReadinessJob.kind == "probe")).scalars()
    assert sorted(marks) == [10, 30, 60]
    assert jobs.run_due_probes(start + timedelta(minutes=1)) == 0  # started: no more rounds


def test_a_moved_sitting_is_probed_again_at_its_new_time(sitting, app):
    app.config.update(PROBE_TIMEOUT_SECONDS=0.5, PROBE_MINUTES_BEFORE=(60,))
    start = sitting.occurrence.starts_at
    assert jobs.run_due_probes(start - timedelta(minutes=60)) == 1
    occurrence = db.session.get(type(sitting.occurrence), sitting.occurrence.id)
    booking.move_occurrence(occurrence, start + timedelta(hours=2), occurrence.ends_at + timedelta(hours=2),
                            choices=booking.BookingChoices(allow_non_working_time=True))
    db.session.commit()
    assert jobs.run_due_probes(start + timedelta(minutes=60)) == 1


def test_escalation_is_sent_once_to_organizer_and_technicians_concerned(sitting, app):
    app.config.update(ESCALATION_MINUTES_BEFORE=15)
    service.confirm(sitting.occurrence, sitting.communes[0], sitting.tech_a, {"status": "ready", "checks": ALL_CHECKS})
    service.confirm(sitting.occurrence, sitting.communes[1], sitting.tech_a, {"status": "ready", "checks": ALL_CHECKS})
    service.confirm(sitting.occurrence, sitting.communes[2], sitting.tech_b, {"status": "issue", "note": "Mất tiếng"})
    db.session.commit()
    start = sitting.occurrence.starts_at
    assert jobs.run_due_escalations(start - timedelta(minutes=16)) == 0
    assert jobs.run_due_escalations(start - timedelta(minutes=15)) == 1
    assert jobs.run_due_escalations(start - timedelta(minutes=15)) == 0  # the job runs twice
    assert jobs.run_due_escalations(start - timedelta(minutes=3)) == 0
    [job] = db.session.scalars(sa.select(ReadinessJob).where(ReadinessJob.kind == "escalation")).all()
    assert job.detail["not_ready"] == 3 and job.detail["total"] == 5
    # tech_a's sites are ready: only the organizer and tech_b hear about it
    assert sorted(job.detail["recipients"]) == ["ktv.b@langson.gov.vn", "van.phong@langson.gov.vn"]


def escalations_to(smtp, address):
    return [m for m in smtp.to(address) if m["Subject"].startswith("[Cảnh báo]")]


def test_escalation_goes_out_once_through_the_outbox_as_a_plain_mail(sitting, app, smtp):
    app.config.update(ESCALATION_MINUTES_BEFORE=15)
    for site in sitting.communes[:2]:
        service.confirm(sitting.occurrence, site, sitting.tech_a, {"status": "ready", "checks": ALL_CHECKS})
    service.confirm(sitting.occurrence, sitting.communes[2], sitting.tech_b, {"status": "issue", "note": "Mất tiếng"})
    db.session.commit()
    start = sitting.occurrence.starts_at
    assert jobs.run_due_escalations(start - timedelta(minutes=15)) == 1
    assert jobs.run_due_escalations(start - timedelta(minutes=14)) == 0
    deliver_outbox()
    # the worker restarts and every tick runs again: nothing more goes out
    assert jobs.run_due_escalations(start - timedelta(minutes=10)) == 0
    deliver_outbox()
    to_organizer = escalations_to(smtp, "van.phong@langson.gov.vn")
    assert len(to_organizer) == 1 and len(escalations_to(smtp, "ktv.b@langson.gov.vn")) == 1
    assert escalations_to(smtp, "ktv.a@langson.gov.vn") == []  # both of tech_a's sites are ready
    message = to_organizer[0]
    assert [part.get_content_type() for part in message.walk()] == ["text/plain"]  # no calendar
    body = message.get_content()
    assert "3 trong 5 điểm cầu chưa sẵn sàng" in body and "UBND xã Mai Sao: Có sự cố: Mất tiếng" in body
    assert "UBND xã Hòa Bình" not in body  # ready sites are not listed
    rows = db.session.scalars(sa.select(OutboxMail).where(OutboxMail.method.is_(None))).all()
    assert len(rows) == 2 and {r.status for r in rows} == {"sent"}


def test_escalation_text_lists_the_sites_not_ready(sitting):
    service.confirm(sitting.occurrence, sitting.communes[2], sitting.tech_b, {"status": "issue", "note": "Mất tiếng"})
    db.session.commit()
    mails = escalation.escalation_mails(sitting.occurrence, service.sites(sitting.occurrence.id))
    assert len({m.key for m in mails}) == len(mails) == 3
    text = mails[0].text
    assert mails[0].subject.startswith("[Cảnh báo] 5/5 điểm cầu chưa sẵn sàng – Giao ban trực tuyến")
    assert "UBND xã Mai Sao: Có sự cố: Mất tiếng; kỹ thuật viên Trần Thị Bình." in text
    assert "Huyện Chi Lăng" in text and f"/meetings/{sitting.meeting.id}/readiness?occurrence_id=" in text


def test_no_escalation_when_every_site_is_ready(sitting, make_user):
    admin = make_user("admin")
    for endpoint in [sitting.hall, *sitting.communes]:
        service.confirm(sitting.occurrence, endpoint, admin, {"status": "ready", "checks": ALL_CHECKS})
    db.session.commit()
    assert jobs.run_due_escalations(sitting.occurrence.starts_at - timedelta(minutes=10)) == 1
    job = db.session.scalar(sa.select(ReadinessJob))
    assert job.detail == {"not_ready": 0, "total": 5, "recipients": []}


def test_a_probe_round_with_a_bad_address_is_recorded_and_marked_done(sitting, app, sip_peers):
    """An address the resolver chokes on once killed the sweep: nothing recorded, no marker, retried forever."""
    app.config.update(PROBE_TIMEOUT_SECONDS=0.5, PROBE_MINUTES_BEFORE=(60,))
    sitting.communes[0].sip_uri = sip_peers[0].uri
    sitting.communes[1].sip_uri = "sip:room@ubnd..langson.gov.vn"  # as an old import left it
    sitting.communes[2].sip_uri = "sip:phònghọp@127.0.0.1"
    db.session.commit()
    start = sitting.occurrence.starts_at
    assert jobs.run_due_probes(start - timedelta(minutes=60)) == 1
    assert jobs.run_due_probes(start - timedelta(minutes=59)) == 0
    assert probe_rounds() == 5
    rows = {r.endpoint_id: r for r in db.session.scalars(sa.select(service.Readiness))}
    assert rows[sitting.communes[0].id].is_reachable is True
    assert rows[sitting.communes[1].id].is_reachable is False and rows[sitting.communes[1].id].probe_error


def escalation_marks():
    return db.session.scalar(sa.select(sa.func.count()).where(ReadinessJob.kind == "escalation"))


def plain_mails():
    return db.session.scalar(sa.select(sa.func.count()).where(OutboxMail.method.is_(None)))


def test_no_escalation_for_a_meeting_cancelled_after_the_due_list_was_read(sitting, app):
    app.config.update(ESCALATION_MINUTES_BEFORE=15)
    now = sitting.occurrence.starts_at - timedelta(minutes=15)
    assert jobs.due_escalations(now, 15) == [sitting.occurrence.id]
    booking.cancel_meeting(db.session.get(type(sitting.meeting), sitting.meeting.id))  # in the gap
    db.session.commit()
    assert jobs.escalate(sitting.occurrence.id, 15, now) == 0
    db.session.commit()
    assert escalation_marks() == 0 and plain_mails() == 0


def test_no_escalation_for_a_sitting_cancelled_after_the_due_list_was_read(sitting, app):
    app.config.update(ESCALATION_MINUTES_BEFORE=15)
    now = sitting.occurrence.starts_at - timedelta(minutes=15)
    assert jobs.due_escalations(now, 15) == [sitting.occurrence.id]
    booking.cancel_occurrence(db.session.get(type(sitting.occurrence), sitting.occurrence.id))  # in the gap
    db.session.commit()
    assert jobs.escalate(sitting.occurrence.id, 15, now) == 0
    db.session.commit()
    assert escalation_marks() == 0 and plain_mails() == 0


def test_a_sitting_moved_later_in_the_gap_escalates_at_its_new_time(sitting, app):
    app.config.update(ESCALATION_MINUTES_BEFORE=15)
    start = sitting.occurrence.starts_at
    now = start - timedelta(minutes=15)
    assert jobs.due_escalations(now, 15) == [sitting.occurrence.id]
    occurrence = db.session.get(type(sitting.occurrence), sitting.occurrence.id)
    booking.move_occurrence(occurrence, start + timedelta(hours=2), occurrence.ends_at + timedelta(hours=2),
                            choices=booking.BookingChoices(allow_non_working_time=True))
    db.session.commit()
    assert jobs.escalate(sitting.occurrence.id, 15, now) == 0  # not now: two hours early
    db.session.commit()
    assert escalation_marks() == 0
    assert jobs.run_due_escalations(start + timedelta(hours=2) - timedelta(minutes=15)) == 1
