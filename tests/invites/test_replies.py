"""Answers given with the calendar's own buttons, read from a real IMAP server (Dovecot).

Each case puts a REPLY shaped like Outlook's, Gmail's or Thunderbird's into the
organizer mailbox, runs the reader the worker runs, and checks the answer on
record and the folder the mail was filed in.
"""

import email
import logging
from datetime import datetime, timedelta, timezone
from email.policy import default as default_policy
from types import SimpleNamespace

import icalendar
import pytest
import sqlalchemy as sa

from tests.booking.conftest import next_monday
from tests.invites.conftest import calendar_part
from tests.invites.conftest import ORGANIZER
from tests.invites.imap_server import Dovecot, dovecot_path
from tests.invites.reply_mails import SHAPES, outlook_reply
from vmeeting import jobs
from vmeeting.booking import service as booking
from vmeeting.core.database import utcnow
from vmeeting.core.extensions import db
from vmeeting.invites import replies, service
from vmeeting.outbox.delivery import deliver_outbox
from vmeeting.invites.models import InviteResponse

ATTENDEE = "xa0@langson.gov.vn"
PROCESSED, REJECTED, UNUSABLE = "vmeeting/processed", "vmeeting/rejected", "vmeeting/unusable"


@pytest.fixture(autouse=True)
def system_mailbox(app):
    """Invites go out from (and name as ORGANIZER) the system mailbox."""
    app.config["MAIL_FROM"] = ORGANIZER


@pytest.fixture
def scheduler(make_user):
    return make_user("scheduler", full_name="Nguyễn Thị Hoa", email="hoa@langson.gov.vn",
                     agency="Văn phòng UBND tỉnh Lạng Sơn")


@pytest.fixture
def meeting(book, invited, scheduler):
    return book([invited["hall"], *invited["communes"][:2]], next_monday(), title="Giao ban tuần — Lạng Sơn",
                actor=scheduler, attendees=["khach@example.com"])


def _reply(meeting, shape="outlook", partstat="ACCEPTED", attendee=ATTENDEE, **extra):
    """A reply as the attendee's calendar writes it: to the ORGANIZER address of their own invite."""
    fields = {"uid": meeting.uid, "sequence": meeting.sequence, "attendee": attendee, "name": "Văn phòng xã 0",
              "partstat": partstat, "organizer": service.reply_address(meeting.uid, attendee), "title": meeting.title,
              "starts_at": meeting.starts_at, "ends_at": meeting.ends_at, **extra}
    return SHAPES[shape](**fields)


def _answer(meeting, email=ATTENDEE):
    db.session.commit()  # a fresh look: the worker may have written from its own session
    return db.session.scalar(sa.select(InviteResponse).where(InviteResponse.meeting_id == meeting.id,
                                                             InviteResponse.email == email))


def _folders(mailbox):
    return {folder: mailbox.count(folder) for folder in ("INBOX", PROCESSED, REJECTED, UNUSABLE)}


# -- the invite names the system mailbox and the agency --------------------------------------


def test_invite_organizer_is_the_system_mailbox_named_for_the_agency(app, smtp, meeting, scheduler):
    deliver_outbox()
    message = smtp.to(ATTENDEE)[0]
    event = icalendar.Calendar.from_ical(calendar_part(message)).walk("VEVENT")[0]
    organizer = event["ORGANIZER"]
    # the system mailbox, with this recipient's token as its sub-address (invites.addresses)
    local, domain = ORGANIZER.split("@")
    assert str(organizer) == f"mailto:{service.reply_address(meeting.uid, ATTENDEE)}"
    assert str(organizer).endswith(f"@{domain}") and str(organizer).startswith(f"mailto:{local}+")
    assert event["X-MICROSOFT-DISALLOW-COUNTER"] == "TRUE"  # Outlook offers no "Propose new time"
    assert organizer.params["CN"] == "Văn phòng UBND tỉnh Lạng Sơn (Nguyễn Thị Hoa)"
    assert message["Reply-To"] == "hoa@langson.gov.vn"  # a person writing back reaches the clerk
    text = next(p for p in message.walk() if p.get_content_type() == "text/plain").get_content()
    assert "Cơ quan mời: Văn phòng UBND tỉnh Lạng Sơn (Nguyễn Thị Hoa)" in text


def test_without_an_agency_the_invite_names_the_person(app, smtp, book, invited, make_user):
    clerk = make_user("scheduler", full_name="Trần Văn Bình")
    book([invited["hall"], invited["communes"][0]], next_monday(), actor=clerk)
    deliver_outbox()
    event = icalendar.Calendar.from_ical(calendar_part(smtp.to(ATTENDEE)[0])).walk("VEVENT")[0]
    assert event["ORGANIZER"].params["CN"] == "Trần Văn Bình"
    assert str(event["ORGANIZER"]).startswith(f"mailto:{ORGANIZER.split('@')[0]}+")


# -- accepted, declined, tentative, from each calendar -------------------------------------


@pytest.mark.parametrize("shape", ["outlook", "gmail", "thunderbird", "apple"])
@pytest.mark.parametrize("partstat", ["ACCEPTED", "DECLINED", "TENTATIVE"])
def test_an_answer_from_the_calendar_counts(app, mailbox, meeting, shape, partstat):
    stamp = utcnow().replace(microsecond=0) - timedelta(minutes=2)
    mailbox.deliver(_reply(meeting, shape, partstat, stamp=stamp))
    assert replies.read_replies() == {"processed": 1, "rejected": 0, "unusable": 0}
    answer = _answer(meeting)
    assert (answer.partstat, answer.source, answer.sequence) == (partstat, "mail", meeting.sequence)
    assert answer.responded_at == stamp  # the REPLY's DTSTAMP: when the person answered
    assert _folders(mailbox) == {"INBOX": 0, PROCESSED: 1, REJECTED: 0, UNUSABLE: 0}


def test_the_answer_shows_on_the_meeting_page(app, client, login_as, mailbox, meeting):
    mailbox.deliver(_reply(meeting, "thunderbird", "TENTATIVE", comment="Xin đến muộn 15 phút"))
    replies.read_replies()
    login_as("scheduler")
    page = client.get(f"/meetings/{meeting.id}").get_data(as_text=True)
    assert "Chưa chắc chắn" in page and "qua lịch của người nhận" in page and "Xin đến muộn 15 phút" in page


def test_a_round_trip_from_the_invite_itself(app, smtp, mailbox, meeting):
    """Answer the very invite that went out: its UID, SEQUENCE and ORGANIZER, as a calendar does."""
    deliver_outbox()
    invite = icalendar.Calendar.from_ical(calendar_part(smtp.to(ATTENDEE)[0]))
    event = invite.walk("VEVENT")[0]
    reply = outlook_reply(uid=str(event["UID"]), sequence=int(event["SEQUENCE"]), attendee=ATTENDEE,
                          name="Văn phòng xã 0", partstat="DECLINED",
                          organizer=str(event["ORGANIZER"]).removeprefix("mailto:"), title=str(event["SUMMARY"]),
                          starts_at=event.decoded("DTSTART"), ends_at=event.decoded("DTEND"))
    mailbox.deliver(reply)
    replies.read_replies()
    assert _answer(meeting).partstat == "DECLINED"


# -- forged and stale replies change nothing -----------------------------------------------


def test_a_reply_from_someone_not_invited_changes_nothing(app, mailbox, meeting):
    mailbox.deliver(_reply(meeting, "gmail", attendee="nguoila@gmail.com"))
    assert replies.read_replies() == {"processed": 0, "rejected": 1, "unusable": 0}
    assert db.session.scalar(sa.select(sa.func.count()).select_from(InviteResponse)) == 0
    assert _folders(mailbox)[REJECTED] == 1


def test_a_reply_whose_sender_is_not_the_attendee_changes_nothing(app, mailbox, meeting):
    """Someone writes an invited person's address into ATTENDEE (and into From), but without their invite they
    do not know the address it names as ORGANIZER: a reply to the bare system mailbox proves nothing."""
    mailbox.deliver(_reply(meeting, "outlook", "DECLINED", sender="ke.gia.mao@example.com", organizer=ORGANIZER))
    mailbox.deliver(_reply(meeting, "gmail", "DECLINED", organizer=ORGANIZER))  # a From: forged as the attendee's
    assert replies.read_replies()["rejected"] == 2
    assert _answer(meeting) is None


def test_a_reply_to_an_unknown_meeting_changes_nothing(app, mailbox, meeting):
    mailbox.deliver(_reply(meeting, "thunderbird", uid="khong-co-cuoc-hop-nay@vmeeting"))
    assert replies.read_replies()["rejected"] == 1
    assert _answer(meeting) is None


def test_a_reply_to_an_older_sequence_changes_nothing(app, mailbox, meeting, invited):
    mailbox.deliver(_reply(meeting, "outlook", "ACCEPTED"))
    replies.read_replies()
    booking.update_meeting(meeting, {"title": "Giao ban tuần (đổi nội dung)"},
                           booking.resolve_sites(endpoint_ids=[invited["hall"].id,
                                                               *[c.id for c in invited["communes"][:2]]]))
    db.session.commit()
    assert meeting.sequence == 1
    mailbox.deliver(_reply(meeting, "gmail", "DECLINED", sequence=0))  # answers the superseded invite
    assert replies.read_replies()["rejected"] == 1
    answer = _answer(meeting)
    assert (answer.partstat, answer.sequence) == ("ACCEPTED", 0)
    mailbox.deliver(_reply(meeting, "gmail", "DECLINED", sequence=1))  # the current one counts
    replies.read_replies()
    assert (_answer(meeting).partstat, _answer(meeting).sequence) == ("DECLINED", 1)


def test_a_reply_with_a_sequence_never_sent_changes_nothing(app, mailbox, meeting):
    mailbox.deliver(_reply(meeting, "thunderbird", sequence=meeting.sequence + 5))
    assert replies.read_replies()["rejected"] == 1
    assert _answer(meeting) is None


def test_an_older_answer_does_not_overwrite_a_newer_one(app, mailbox, meeting):
    """The link clicked now wins over a REPLY written an hour ago and delivered late (RFC 5546 §2.1.5)."""
    service.record_answer(meeting, ATTENDEE, "DECLINED")
    db.session.commit()
    mailbox.deliver(_reply(meeting, "gmail", "ACCEPTED", stamp=utcnow().replace(microsecond=0) - timedelta(hours=1)))
    assert replies.read_replies() == {"processed": 1, "rejected": 0, "unusable": 0}
    answer = _answer(meeting)
    assert (answer.partstat, answer.source) == ("DECLINED", "link")


def test_a_reply_for_a_meeting_that_was_cancelled_changes_nothing(app, mailbox, meeting):
    booking.cancel_meeting(meeting)
    db.session.commit()
    mailbox.deliver(_reply(meeting, "outlook"))
    assert replies.read_replies()["rejected"] == 1
    assert _answer(meeting) is None


def test_a_reply_for_one_sitting_leaves_the_series_answer(app, mailbox, book, invited, scheduler):
    """Outlook's "decline this occurrence": an answer for that sitting, the series' answer stays."""
    series = book([invited["hall"], invited["communes"][0]], next_monday(), actor=scheduler,
                  recurrence="FREQ=WEEKLY;COUNT=4")
    mailbox.deliver(_reply(series, "outlook", "ACCEPTED"))
    replies.read_replies()
    second = sorted(series.occurrences, key=lambda o: o.starts_at)[1]
    mailbox.deliver(_reply(series, "outlook", "DECLINED", recurrence_id=second.original_starts_at))
    assert replies.read_replies()["processed"] == 1
    assert _answer(series).partstat == "ACCEPTED"
    sitting = db.session.scalar(sa.select(InviteResponse).where(InviteResponse.occurrence_id == second.id))
    assert (sitting.email, sitting.partstat, sitting.source) == (ATTENDEE, "DECLINED", "mail")


def test_a_mail_without_a_reply_is_filed_as_unusable(app, mailbox, meeting):
    bounce = (f"From: Mail Delivery System <MAILER-DAEMON@langson.gov.vn>\r\nTo: {ORGANIZER}\r\n"
              "Subject: Undelivered Mail Returned to Sender\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
              "The mail system: <xa9@langson.gov.vn>: host said: 550 5.1.1 User unknown\r\n")
    counter = (f"From: <{ATTENDEE}>\r\nTo: {ORGANIZER}\r\nSubject: New time proposed\r\n"
               "Content-Type: text/calendar; method=COUNTER; charset=utf-8\r\n\r\n"
               f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//x//y//EN\r\nMETHOD:COUNTER\r\nBEGIN:VEVENT\r\n"
               f"UID:{meeting.uid}\r\nDTSTAMP:20261130T000000Z\r\nATTENDEE;PARTSTAT=ACCEPTED:mailto:{ATTENDEE}\r\n"
               "END:VEVENT\r\nEND:VCALENDAR\r\n")
    broken = (f"From: <{ATTENDEE}>\r\nTo: {ORGANIZER}\r\nSubject: Accepted\r\nContent-Type: multipart/mixed; "
              'boundary="b"\r\n\r\n--b\r\nContent-Type: text/calendar; method=REPLY; charset=x-no-such-charset\r\n'
              "Content-Transfer-Encoding: base64\r\n\r\n!!not base64 at all\r\n--b\r\n"
              'Content-Type: application/octet-stream; name="invite.ics"\r\n\r\n'
              "BEGIN:VCALENDAR\r\nMETHOD:REPLY\r\nBEGIN:VEVENT\r\nATTENDEE;PARTSTAT=ACCEPTED:mailto:x@y\r\n--b--\r\n")
    mailbox.deliver(bounce)
    mailbox.deliver(counter)  # a new time proposed: refused (not taken), see test_reply_rules
    mailbox.deliver(broken)  # a calendar cut short, in a charset no one knows
    mailbox.deliver(_reply(meeting, "gmail"))  # and a good one behind them still counts
    assert replies.read_replies() == {"processed": 1, "rejected": 1, "unusable": 2}
    assert _folders(mailbox) == {"INBOX": 0, PROCESSED: 1, REJECTED: 1, UNUSABLE: 2}


# -- idempotent: read twice, crash, restart ------------------------------------------------


def test_the_same_reply_read_twice_changes_nothing_more(app, mailbox, meeting):
    message = _reply(meeting, "gmail", "TENTATIVE")
    mailbox.deliver(message)
    replies.read_replies()
    first = _answer(meeting)
    recorded = (first.partstat, first.responded_at, first.id)
    mailbox.deliver(message)  # the mail server delivered it again
    assert replies.read_replies() == {"processed": 1, "rejected": 0, "unusable": 0}
    again = _answer(meeting)
    assert (again.partstat, again.responded_at, again.id) == recorded
    assert _folders(mailbox)[PROCESSED] == 2


def test_a_crash_before_the_mail_was_filed_loses_nothing(app, mailbox, meeting):
    """The answer commits before the mail moves: a worker killed in between reads it again next time."""
    message = _reply(meeting, "outlook", "DECLINED")
    mailbox.deliver(message)
    where, outcomes = replies.judge(email.message_from_bytes(message, policy=default_policy))
    assert (where, [o.status for o in outcomes]) == ("processed", ["applied"])
    stamp = _answer(meeting).responded_at
    assert _folders(mailbox)["INBOX"] == 1  # the "crash": never filed
    assert replies.read_replies() == {"processed": 1, "rejected": 0, "unusable": 0}
    assert (_answer(meeting).partstat, _answer(meeting).responded_at) == ("DECLINED", stamp)
    assert _folders(mailbox) == {"INBOX": 0, PROCESSED: 1, REJECTED: 0, UNUSABLE: 0}


def test_later_answers_replace_earlier_ones(app, mailbox, meeting):
    now = utcnow().replace(microsecond=0)
    mailbox.deliver(_reply(meeting, "thunderbird", "ACCEPTED", stamp=now - timedelta(minutes=10)))
    mailbox.deliver(_reply(meeting, "thunderbird", "DECLINED", stamp=now - timedelta(minutes=5)))
    assert replies.read_replies()["processed"] == 2
    assert _answer(meeting).partstat == "DECLINED"


# -- the worker, the connection --------------------------------------------------------------


def test_the_worker_tick_reads_the_mailbox_under_the_lease(app, mailbox, meeting):
    ticks = jobs.ticks(app)
    assert ticks["invites.read_replies"].seconds <= 60
    mailbox.deliver(_reply(meeting, "gmail", "ACCEPTED"))
    assert jobs.run_tick(app, "worker-a", ticks["invites.read_replies"])
    assert _answer(meeting).partstat == "ACCEPTED"
    mailbox.deliver(_reply(meeting, "gmail", "DECLINED"))
    assert not jobs.run_tick(app, "worker-b", ticks["invites.read_replies"])  # a second worker: nothing
    assert _folders(mailbox)["INBOX"] == 1 and _answer(meeting).partstat == "ACCEPTED"


def test_without_imap_url_nothing_is_read(app, meeting):
    assert app.config["IMAP_URL"] is None
    assert replies.read_replies() is None


@pytest.mark.parametrize("scheme", ["imaps", "imap+starttls"])
def test_tls_connections(app, mailbox, meeting, monkeypatch, scheme):
    # the throwaway certificate is trusted the way an operator trusts a private CA: SSL_CERT_FILE
    monkeypatch.setenv("SSL_CERT_FILE", str(mailbox.server.cert_file))
    port = mailbox.server.tls_port if scheme == "imaps" else mailbox.server.port
    app.config["IMAP_URL"] = f"{scheme}://{mailbox.user}:{mailbox.password}@127.0.0.1:{port}/INBOX"
    mailbox.deliver(_reply(meeting, "outlook", "TENTATIVE"))
    assert replies.read_replies()["processed"] == 1
    assert _answer(meeting).partstat == "TENTATIVE"


def test_an_untrusted_certificate_is_refused(app, mailbox, meeting, caplog):
    app.config["IMAP_URL"] = f"imaps://{mailbox.user}:{mailbox.password}@127.0.0.1:{mailbox.server.tls_port}/"
    mailbox.deliver(_reply(meeting, "outlook"))
    with caplog.at_level(logging.WARNING, logger="vmeeting.invites.replies"):
        assert replies.read_replies() is None
    assert "cannot read replies" in caplog.text
    assert _answer(meeting) is None and _folders(mailbox)["INBOX"] == 1


def test_a_wrong_password_or_a_server_down_waits_for_the_next_tick(app, meeting, caplog):
    # a Dovecot of its own: a failed sign-in slows every later one from the same address for a while
    server = Dovecot(dovecot_path()).start()
    try:
        user, password = server.add_user()
        server.append(user, password, _reply(meeting, "outlook"))
        app.config["IMAP_URL"] = f"imap://{user}:sai-mat-khau@127.0.0.1:{server.port}/INBOX"
        with caplog.at_level(logging.WARNING, logger="vmeeting.invites.replies"):
            assert replies.read_replies() is None
            app.config["IMAP_URL"] = "imap://u:p@127.0.0.1:1/INBOX"
            assert replies.read_replies() is None
            assert caplog.text.count("cannot read replies") == 2
        app.config["IMAP_URL"] = "pop3://u:p@127.0.0.1/INBOX"
        with caplog.at_level(logging.WARNING, logger="vmeeting.invites.replies"):
            assert replies.read_replies() is None
        assert "IMAP_URL must look like" in caplog.text
        assert server.count(user, password, "INBOX") == 1
    finally:
        server.stop()


def test_parse_imap_url():
    s = replies.parse_imap_url("imaps://hop%40langson.gov.vn:m%E1%BA%ADt%2Fkh%E1%BA%A9u@mail.langson.gov.vn/")
    assert (s.host, s.port, s.security, s.username, s.password, s.folder) == (
        "mail.langson.gov.vn", 993, "tls", "hop@langson.gov.vn", "mật/khẩu", "INBOX")
    s = replies.parse_imap_url("imap+starttls://u:p@mail:1143/Tr%E1%BA%A3%20l%E1%BB%9Di")
    assert (s.port, s.security, s.folder) == (1143, "starttls", "Trả lời")
    assert replies.parse_imap_url("imap://u:p@mail").security is None
    for bad in ("smtp://u:p@mail", "imaps://mail", "imap://", ""):
        with pytest.raises(ValueError):
            replies.parse_imap_url(bad)


def test_replies_in_reads_each_shape_without_a_server():
    """The parsing alone, for a quick look when a shape changes: charset and transfer encoding decoded."""
    meeting_uid = "uid-1@vmeeting"
    start = datetime(2026, 12, 7, 1, tzinfo=timezone.utc)
    for shape, builder in SHAPES.items():
        raw = builder(uid=meeting_uid, sequence=2, attendee="XA0@langson.gov.vn", name="Xã Hòa Bình",
                      partstat="TENTATIVE", organizer=ORGANIZER, title="Giao ban — tháng 12",
                      starts_at=start, ends_at=start + timedelta(hours=1))
        found = replies.replies_in(email.message_from_bytes(raw))
        assert [(r.uid, r.attendee, r.partstat, r.sequence) for r in found] == [
            (meeting_uid, "xa0@langson.gov.vn", "TENTATIVE", 2)], shape
    assert replies.replies_in(email.message_from_bytes(b"Subject: x\r\n\r\nhello")) == []
