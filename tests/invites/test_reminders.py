"""Reminders before each sitting (invites.reminders): counted at a real SMTP server (aiosmtpd).

One per person, rule and sitting; none for a cancelled sitting nor for the old time of a moved one;
none twice across a worker's restart; none whose time came before the person's invite. On both
databases, through the worker's own tick function.
"""

from datetime import datetime, time, timedelta

import pytest
import sqlalchemy as sa

from tests.booking.conftest import VN, next_monday
from tests.conftest import _make_app, deliver_outbox
from vmeeting.booking import service as booking
from vmeeting.core.database import utcnow, writing
from vmeeting.core.extensions import db
from vmeeting.core.timefmt import local_to_utc
from vmeeting.invites import reminders
from vmeeting.jobs import ticks
from vmeeting.outbox.models import OutboxMail
from vmeeting.working_time import service as working_time

SUBJECT = "[Nhắc lịch]"


def reminded(smtp):
    """{address: number of reminders received}."""
    counts = {}
    for rcpt, message in smtp.messages:
        if message["Subject"].startswith(SUBJECT):
            counts[rcpt] = counts.get(rcpt, 0) + 1
    return counts


def told_long_ago(meeting):
    """As if the meeting was booked (and its invites queued) a month ago."""
    with writing():
        db.session.execute(sa.update(OutboxMail).where(OutboxMail.meeting_id == meeting.id)
                           .values(created_at=utcnow() - timedelta(days=30)))
        db.session.commit()


def day_before_at_15(starts_at):
    """The working day before the start's day, at 15:00 local, as UTC."""
    day = starts_at.astimezone(VN).date() - timedelta(days=1)
    while not working_time.is_working_day(day):
        day -= timedelta(days=1)
    return local_to_utc(datetime.combine(day, time(15, 0)))


@pytest.fixture
def meeting(app, invited, book, smtp):
    """The hall (two contacts and the technician) and two communes (a contact each; the technician has the
    first too), next Monday 08:00–09:00, booked a month ago; the invites delivered."""
    app.config["REMINDER_SCHEDULE"] = "-1d@15:00,60m"
    booked = book([invited["hall"], *invited["communes"][:2]], next_monday(8))
    deliver_outbox()
    told_long_ago(booked)
    smtp.messages.clear()
    return booked


PEOPLE = {"vanphong@langson.gov.vn", "lanhdao@langson.gov.vn", "ktv.chilang@example.vn", "xa0@langson.gov.vn",
          "xa1@langson.gov.vn"}


def test_the_tick_is_registered_and_the_schedule_is_checked_at_start(app):
    assert ticks(app)["invites.reminders"].func is reminders.queue_due_reminders
    assert [r.code for r in reminders.parse_schedule("-1d@15:00, 60m,2h")] == ["-1d@15:00", "60m", "120m"]
    # one time written two ways is one rule (its key): renaming it sends nothing again, naming it twice is refused
    assert [r.code for r in reminders.parse_schedule("-1d@9:00,1h")] == ["-1d@09:00", "60m"]
    assert reminders.parse_schedule("") == ()
    for bad in ("-1d", "15:00", "-1d@25:00", "0m", "60m,60m", "60m,1h", "-1w@08:00"):
        with pytest.raises(ValueError, match="REMINDER_SCHEDULE"):
            reminders.parse_schedule(bad)
    with pytest.raises(ValueError, match="REMINDER_SCHEDULE"):
        _make_app(app.config["SQLALCHEMY_DATABASE_URI"], REMINDER_SCHEDULE="tomorrow")


def test_each_person_gets_one_reminder_per_time_and_sitting_however_often_the_tick_runs(meeting, smtp,
                                                                                        database_url):
    starts_at = meeting.occurrences[0].starts_at
    day_before = day_before_at_15(starts_at)
    assert reminders.queue_due_reminders(now=day_before - timedelta(minutes=1)) == 0  # not yet
    assert reminders.queue_due_reminders(now=day_before + timedelta(minutes=1)) == len(PEOPLE)
    assert reminders.queue_due_reminders(now=day_before + timedelta(minutes=2)) == 0
    # a restarted (or second) worker: another app, the same database
    other = _make_app(database_url, REMINDER_SCHEDULE="-1d@15:00,60m")
    with other.app_context():
        assert reminders.queue_due_reminders(now=day_before + timedelta(minutes=3)) == 0
        db.session.remove()
    deliver_outbox()
    assert reminded(smtp) == {person: 1 for person in PEOPLE}

    assert reminders.queue_due_reminders(now=starts_at - timedelta(minutes=59)) == len(PEOPLE)
    assert reminders.queue_due_reminders(now=starts_at - timedelta(minutes=30)) == 0
    deliver_outbox()
    assert reminded(smtp) == {person: 2 for person in PEOPLE}
    assert reminders.queue_due_reminders(now=starts_at + timedelta(minutes=1)) == 0  # begun: never


def test_a_reminder_names_the_time_the_setup_window_and_each_site_with_the_technicians_link(meeting, smtp, app):
    occurrence = meeting.occurrences[0]
    reminders.queue_due_reminders(now=occurrence.starts_at - timedelta(minutes=59))
    deliver_outbox()
    (technician,) = smtp.to("ktv.chilang@example.vn")
    text = technician.get_body(("plain",)).get_content()
    assert technician["Subject"] == f"{SUBJECT} Giao ban – 08:00 Thứ Hai, " \
                                    f"{occurrence.starts_at.astimezone(VN):%d/%m/%Y}"
    assert "kết nối và gọi thử từ 07:30" in text  # the default set-up window: 30 minutes
    base = app.config["BASE_URL"].rstrip("/")
    links = [line for line in text.splitlines() if f"{base}/readiness/{occurrence.id}/" in line]
    assert len(links) == 2  # the hall and the first commune
    (contact,) = smtp.to("xa1@langson.gov.vn")
    contact_text = contact.get_body(("plain",)).get_content()
    assert "/readiness/" not in contact_text and f"{base}/meetings/{meeting.id}" in contact_text


def test_a_cancelled_sitting_gets_no_reminder_and_its_waiting_ones_are_withdrawn(meeting, smtp):
    starts_at = meeting.occurrences[0].starts_at
    assert reminders.queue_due_reminders(now=day_before_at_15(starts_at) + timedelta(minutes=1)) == len(PEOPLE)
    with writing():
        booking.cancel_meeting(meeting)
        db.session.commit()
    deliver_outbox()
    assert reminded(smtp) == {}
    superseded = db.session.scalars(sa.select(OutboxMail.status).where(OutboxMail.key.like("reminder:%"))).all()
    assert superseded == ["superseded"] * len(PEOPLE)
    assert reminders.queue_due_reminders(now=starts_at - timedelta(minutes=59)) == 0


def test_a_moved_sitting_is_reminded_at_its_new_time_only(meeting, smtp):
    occurrence = meeting.occurrences[0]
    old_start = occurrence.starts_at
    assert reminders.queue_due_reminders(now=old_start - timedelta(minutes=59)) == len(PEOPLE)
    new_start = old_start + timedelta(days=1, hours=2)  # Tuesday 10:00
    with writing():
        booking.move_occurrence(occurrence, new_start, new_start + timedelta(hours=1))
        db.session.commit()
    told_long_ago(meeting)  # the move's own update mails: as if long ago, to see the reminders alone
    deliver_outbox()
    assert reminded(smtp) == {}, "the reminder of the old time was withdrawn before it went"
    smtp.messages.clear()
    assert reminders.queue_due_reminders(now=new_start - timedelta(minutes=59)) == len(PEOPLE)
    deliver_outbox()
    assert reminded(smtp) == {person: 1 for person in PEOPLE}
    assert all("10:00 Thứ Ba" in m["Subject"] for _r, m in smtp.messages)


def test_no_reminder_whose_time_came_before_the_persons_invite(app, invited, book, smtp):
    """A meeting booked after the day-before reminder's time: its invite is the news; the 60m one still goes."""
    app.config["REMINDER_SCHEDULE"] = "-1d@15:00,60m"
    meeting = book([invited["hall"]], next_monday(8))
    starts_at = meeting.occurrences[0].starts_at
    day_before = day_before_at_15(starts_at)
    with writing():  # the invites were queued an hour after the day-before reminder's time
        db.session.execute(sa.update(OutboxMail).where(OutboxMail.meeting_id == meeting.id)
                           .values(created_at=day_before + timedelta(hours=1)))
        db.session.commit()
    assert reminders.queue_due_reminders(now=day_before + timedelta(hours=2)) == 0
    assert reminders.queue_due_reminders(now=starts_at - timedelta(minutes=59)) == 3  # two contacts, technician


def test_a_worker_down_at_both_times_sends_the_latest_reminder_only(meeting, smtp):
    starts_at = meeting.occurrences[0].starts_at
    assert reminders.queue_due_reminders(now=starts_at - timedelta(minutes=30)) == len(PEOPLE)
    deliver_outbox()
    assert reminded(smtp) == {person: 1 for person in PEOPLE}
    assert all("60m" in key for key in db.session.scalars(
        sa.select(OutboxMail.key).where(OutboxMail.key.like("reminder:%"))))


def test_a_site_taken_off_withdraws_its_peoples_waiting_reminders(meeting, smtp, invited):
    starts_at = meeting.occurrences[0].starts_at
    assert reminders.queue_due_reminders(now=starts_at - timedelta(minutes=59)) == len(PEOPLE)
    with writing():
        booking.update_meeting(meeting, {}, booking.resolve_sites(
            endpoint_ids=[invited["hall"].id, invited["communes"][0].id]))
        db.session.commit()
    waiting = dict(db.session.execute(sa.select(OutboxMail.recipient, OutboxMail.status)
                                      .where(OutboxMail.key.like("reminder:%"))).all())
    assert waiting.pop("xa1@langson.gov.vn") == "superseded"
    assert set(waiting.values()) == {"pending"}
