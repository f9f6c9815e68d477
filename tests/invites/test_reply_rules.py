"""What a calendar's answer must prove, and what it may say (issue 24, item 4), against a real Dovecot.

Mails shaped as Outlook, Gmail, Thunderbird and Apple Calendar send them
(tests/invites/reply_mails.py) go into the organizer mailbox; the reader the
worker runs judges them.
"""

import re
from datetime import timedelta

import icalendar
import pytest
import sqlalchemy as sa

from tests.booking.conftest import next_monday
from tests.invites.conftest import ORGANIZER, calendar_part
from tests.invites.reply_mails import SHAPES, apple_reply, outlook_counter, thunderbird_reply
from vmeeting.booking import service as booking
from vmeeting.core.database import utcnow
from vmeeting.core.extensions import db
from vmeeting.invites import feeds, replies, service
from vmeeting.invites.models import InviteResponse, RefusedReply
from vmeeting.outbox.delivery import deliver_outbox
from vmeeting.outbox.models import OutboxMail

ATTENDEE = "xa0@langson.gov.vn"
OTHER = "xa1@langson.gov.vn"
DELEGATE = "phochutich.xa0@langson.gov.vn"


@pytest.fixture(autouse=True)
def system_mailbox(app):
    app.config["MAIL_FROM"] = ORGANIZER


@pytest.fixture
def scheduler(make_user):
    return make_user("scheduler", full_name="Nguyễn Thị Hoa", email="hoa@langson.gov.vn",
                     agency="Văn phòng UBND tỉnh Lạng Sơn")


@pytest.fixture
def series(book, invited, scheduler):
    return book([invited["hall"], *invited["communes"][:2]], next_monday(), title="Giao ban tuần",
                actor=scheduler, recurrence="FREQ=WEEKLY;COUNT=4")


@pytest.fixture
def meeting(book, invited, scheduler):
    return book([invited["hall"], *invited["communes"][:2]], next_monday(), title="Họp chuyên đề", actor=scheduler)


def _sittings(meeting):
    return sorted(meeting.occurrences, key=lambda o: o.original_starts_at)


def _reply(meeting, shape="outlook", partstat="ACCEPTED", attendee=ATTENDEE, sequence=None, **extra):
    fields = {"uid": meeting.uid, "sequence": meeting.sequence if sequence is None else sequence,
              "attendee": attendee, "name": "Văn phòng xã", "partstat": partstat,
              "organizer": service.reply_address(meeting.uid, attendee), "title": meeting.title,
              "starts_at": meeting.starts_at, "ends_at": meeting.ends_at, **extra}
    return SHAPES[shape](**fields)


def _answers(meeting, email=ATTENDEE):
    """{occurrence id or None: partstat} of one person's answers."""
    db.session.commit()
    rows = db.session.execute(sa.select(InviteResponse.occurrence_id, InviteResponse.partstat).where(
        InviteResponse.meeting_id == meeting.id, InviteResponse.email == email))
    return dict(rows.all())


def _refusals(meeting=None):
    db.session.commit()
    query = sa.select(RefusedReply).order_by(RefusedReply.id)
    if meeting is not None:
        query = query.where(RefusedReply.meeting_id == meeting.id)
    return db.session.scalars(query).all()


# -- staleness: what that attendee was last sent --------------------------------------------


@pytest.mark.parametrize("shape", ["outlook", "gmail", "apple"])
def test_answers_to_the_series_count_after_one_sitting_is_cancelled(app, smtp, mailbox, series, shape):
    """The sitting's CANCEL raised the meeting's SEQUENCE to 1; the attendees' series stays at 0 (RFC 5546 §3.2.5)."""
    deliver_outbox()  # the series went out at SEQUENCE 0
    booking.cancel_occurrence(_sittings(series)[1])
    db.session.commit()
    deliver_outbox()  # the CANCEL of that one sitting, at SEQUENCE 1
    assert series.sequence == 1
    mailbox.deliver(_reply(series, shape, "ACCEPTED", sequence=0))
    assert replies.read_replies() == {"processed": 1, "rejected": 0, "unusable": 0}
    assert _answers(series) == {None: "ACCEPTED"}
    # SEQUENCE 1 was never sent for the series to this person: an answer to it proves nothing
    mailbox.deliver(_reply(series, shape, "DECLINED", sequence=1))
    assert replies.read_replies()["rejected"] == 1
    assert _answers(series) == {None: "ACCEPTED"}


def test_whose_series_invite_was_resent_answer_the_new_one(app, mailbox, series):
    """Someone whose series invite had not gone out gets it afresh at the new SEQUENCE: that is the one they answer."""
    booking.cancel_occurrence(_sittings(series)[1])
    db.session.commit()
    mailbox.deliver(_reply(series, "thunderbird", "DECLINED", sequence=0))
    mailbox.deliver(_reply(series, "gmail", "ACCEPTED", sequence=1, attendee=OTHER))
    assert replies.read_replies() == {"processed": 1, "rejected": 1, "unusable": 0}
    assert _answers(series) == {} and _answers(series, OTHER) == {None: "ACCEPTED"}


# -- answers per sitting --------------------------------------------------------------------


@pytest.mark.parametrize("shape", ["outlook", "gmail", "thunderbird"])
def test_decline_this_occurrence_counts_for_that_sitting(app, client, login_as, mailbox, series, scheduler, shape):
    first, second = _sittings(series)[:2]
    mailbox.deliver(_reply(series, shape, "ACCEPTED", stamp=utcnow().replace(microsecond=0) - timedelta(minutes=5)))
    mailbox.deliver(_reply(series, shape, "DECLINED", recurrence_id=second.original_starts_at))
    assert replies.read_replies() == {"processed": 2, "rejected": 0, "unusable": 0}
    assert _answers(series) == {None: "ACCEPTED", second.id: "DECLINED"}
    login_as("viewer")
    page = client.get(f"/meetings/{series.id}").get_data(as_text=True)
    assert 'data-testid="invite-sitting-answers"' in page and "Không tham dự" in page


def test_apple_mixed_reply_keeps_the_series_and_the_sitting(app, mailbox, series, api_headers):
    """Apple: the series accepted and the third sitting declined, in one VCALENDAR."""
    third = _sittings(series)[2]
    mailbox.deliver(_reply(series, "apple", "ACCEPTED", rrule="FREQ=WEEKLY;COUNT=4",
                           sittings=[(third.original_starts_at, "DECLINED")]))
    assert replies.read_replies() == {"processed": 1, "rejected": 0, "unusable": 0}
    assert _answers(series) == {None: "ACCEPTED", third.id: "DECLINED"}
    answer = next(a for a in _api_answers(app, series, api_headers)["answers"] if a["email"] == ATTENDEE)
    assert answer["answer"]["partstat"] == "ACCEPTED" and answer["answer"]["source"] == "mail"
    assert [(s["occurrence_id"], s["partstat"]) for s in answer["sittings"]] == [(third.id, "DECLINED")]


def test_a_later_answer_to_the_whole_series_replaces_older_sitting_answers(app, mailbox, series):
    second = _sittings(series)[1]
    now = utcnow().replace(microsecond=0)
    mailbox.deliver(_reply(series, "outlook", "DECLINED", recurrence_id=second.original_starts_at,
                           stamp=now - timedelta(minutes=10)))
    mailbox.deliver(_reply(series, "outlook", "ACCEPTED", stamp=now - timedelta(minutes=1)))
    replies.read_replies()
    assert _answers(series) == {None: "ACCEPTED"}


def test_an_answer_for_a_cancelled_sitting_is_refused(app, mailbox, series):
    second = _sittings(series)[1]
    booking.cancel_occurrence(second)
    db.session.commit()
    mailbox.deliver(_reply(series, "outlook", "ACCEPTED", recurrence_id=second.original_starts_at))
    assert replies.read_replies()["rejected"] == 1
    assert "Buổi họp này đã bị hủy." in [r.reason for r in _refusals(series)]


def _api_answers(app, meeting, api_headers, role="viewer", user=None):
    with app.test_client() as api:
        response = api.get(f"/api/v1/meetings/{meeting.id}/answers", headers=api_headers(role, user=user))
        assert response.status_code == 200
        return response.get_json()


# -- COUNTER: proposals are not taken ---------------------------------------------------------


def test_a_proposed_new_time_is_refused_and_listed_for_the_booker(app, smtp, mailbox, meeting):
    deliver_outbox()
    invite = icalendar.Calendar.from_ical(calendar_part(smtp.to(ATTENDEE)[0])).walk("VEVENT")[0]
    assert invite["X-MICROSOFT-DISALLOW-COUNTER"] == "TRUE"
    later = meeting.starts_at + timedelta(hours=5)
    mailbox.deliver(outlook_counter(uid=meeting.uid, sequence=meeting.sequence, attendee=ATTENDEE, name="Xã 0",
                                    organizer=service.reply_address(meeting.uid, ATTENDEE), title=meeting.title,
                                    starts_at=meeting.starts_at, ends_at=meeting.ends_at, proposed_start=later,
                                    proposed_end=later + timedelta(hours=1)))
    assert replies.read_replies() == {"processed": 0, "rejected": 1, "unusable": 0}
    [refused] = _refusals(meeting)
    assert (refused.method, refused.attendee, refused.reason) == ("COUNTER", ATTENDEE, replies.itip.COUNTER_REFUSED)
    assert _answers(meeting) == {}


# -- delegation, the answer's note, REFRESH ---------------------------------------------------


def _delegation(meeting, **extra):
    lines = [f'ATTENDEE;CN=Xã 0;PARTSTAT=DELEGATED;DELEGATED-TO="mailto:{DELEGATE}";ROLE=REQ-PARTICIPANT:'
             f"mailto:{ATTENDEE}",
             f'ATTENDEE;PARTSTAT=NEEDS-ACTION;DELEGATED-FROM="mailto:{ATTENDEE}";RSVP=TRUE:mailto:{DELEGATE}']
    return _reply(meeting, "thunderbird", "DELEGATED", attendee_lines=lines, **extra)


def _delegate_answer(meeting, partstat="ACCEPTED", token_of=ATTENDEE):
    """The delegate answers the invite handed on to them: its ORGANIZER still carries the delegator's token."""
    lines = [f'ATTENDEE;CN=Phó chủ tịch;PARTSTAT={partstat};DELEGATED-FROM="mailto:{ATTENDEE}";'
             f"ROLE=REQ-PARTICIPANT:mailto:{DELEGATE}"]
    return _reply(meeting, "thunderbird", partstat, attendee=DELEGATE, attendee_lines=lines,
                  organizer=service.reply_address(meeting.uid, token_of))


def test_delegated_then_the_delegate_answers(app, client, login_as, mailbox, meeting):
    """RFC 5546 §3.2.2.3: the invited person hands the invite on; the delegate's own REPLY counts for them."""
    mailbox.deliver(_delegate_answer(meeting))  # before any delegation: refused
    assert replies.read_replies()["rejected"] == 1
    mailbox.deliver(_delegation(meeting))
    mailbox.deliver(_delegate_answer(meeting, "TENTATIVE"))
    assert replies.read_replies() == {"processed": 2, "rejected": 0, "unusable": 0}
    answer = db.session.scalar(sa.select(InviteResponse).where(InviteResponse.email == ATTENDEE))
    assert (answer.partstat, answer.delegated_to) == ("DELEGATED", DELEGATE)
    delegate = db.session.scalar(sa.select(InviteResponse).where(InviteResponse.email == DELEGATE))
    assert (delegate.partstat, delegate.delegated_from) == ("TENTATIVE", ATTENDEE)
    login_as("viewer")
    page = client.get(f"/meetings/{meeting.id}").get_data(as_text=True)
    assert "Ủy quyền" in page and DELEGATE in page and "Người được ủy quyền" in page


def test_a_delegate_answer_with_another_persons_token_is_refused(app, mailbox, meeting):
    mailbox.deliver(_delegation(meeting))
    replies.read_replies()
    mailbox.deliver(_delegate_answer(meeting, token_of=OTHER))
    assert replies.read_replies()["rejected"] == 1
    assert _answers(meeting, DELEGATE) == {}


def test_an_invitee_cannot_answer_for_another_invitee_by_delegating_to_them(app, mailbox, meeting):
    """xa0 "delegated" to xa1, invited in their own right, then answered as xa1's delegate with xa0's own
    token: the answer used to overwrite xa1's own (any invitee could decline for any colleague)."""
    mailbox.deliver(_reply(meeting, "outlook", "ACCEPTED", attendee=OTHER))
    assert replies.read_replies()["processed"] == 1
    handed = [f'ATTENDEE;PARTSTAT=DELEGATED;DELEGATED-TO="mailto:{OTHER}";ROLE=REQ-PARTICIPANT:mailto:{ATTENDEE}',
              f'ATTENDEE;PARTSTAT=NEEDS-ACTION;DELEGATED-FROM="mailto:{ATTENDEE}";RSVP=TRUE:mailto:{OTHER}']
    mailbox.deliver(_reply(meeting, "thunderbird", "DELEGATED", attendee_lines=handed))
    forged = [f'ATTENDEE;PARTSTAT=DECLINED;DELEGATED-FROM="mailto:{ATTENDEE}";ROLE=REQ-PARTICIPANT:mailto:{OTHER}']
    mailbox.deliver(_reply(meeting, "thunderbird", "DECLINED", attendee=OTHER, attendee_lines=forged,
                           organizer=service.reply_address(meeting.uid, ATTENDEE)))
    assert replies.read_replies() == {"processed": 1, "rejected": 1, "unusable": 0}
    assert _answers(meeting, OTHER) == {None: "ACCEPTED"}
    [refusal] = [r for r in _refusals(meeting) if r.attendee == OTHER]
    assert "được mời riêng" in refusal.reason


def _nested(depth):
    """A mail of 200 kB whose MIME parts nest `depth` deep (Python's parser recurses once a level)."""
    head = "".join(f'Content-Type: multipart/mixed; boundary="b{i}"\r\n\r\n--b{i}\r\n' for i in range(depth))
    tail = "".join(f"\r\n--b{i}--" for i in reversed(range(depth)))
    return (f"From: {ATTENDEE}\r\nTo: {ORGANIZER}\r\nSubject: Accepted\r\nMessage-ID: <nested@x.vn>\r\n"
            f"MIME-Version: 1.0\r\n{head}Content-Type: text/calendar; method=REPLY\r\n\r\n"
            f"BEGIN:VCALENDAR\r\nEND:VCALENDAR{tail}\r\n").encode()


@pytest.mark.parametrize("shape", ["long delegate", "nested parts"])
def test_a_reply_that_cannot_be_read_or_stored_does_not_stop_the_reader(app, mailbox, meeting, shape):
    """An invitee's own reply with a DELEGATED-TO of 300 characters (the column holds 254) raised out of the
    reader on PostgreSQL, and a mail of MIME parts nested 3,000 deep (under the size limit) raised RecursionError
    while parsed, on both: the mail stayed first in the folder and every tick stopped there, so no answer behind
    it was ever read."""
    if shape == "long delegate":
        lines = [f'ATTENDEE;PARTSTAT=DELEGATED;DELEGATED-TO="mailto:{"a" * 300}@langson.gov.vn";'
                 f"ROLE=REQ-PARTICIPANT:mailto:{ATTENDEE}"]
        mailbox.deliver(_reply(meeting, "thunderbird", "DELEGATED", attendee_lines=lines))
    else:
        mailbox.deliver(_nested(3000))
    mailbox.deliver(_reply(meeting, "outlook", "ACCEPTED", attendee=OTHER))
    counts = replies.read_replies()
    assert counts["processed"] == 1 and sum(counts.values()) == 2
    assert _answers(meeting, OTHER) == {None: "ACCEPTED"} and _answers(meeting) == {}
    assert replies.read_replies() == {"processed": 0, "rejected": 0, "unusable": 0}
    assert len(_refusals()) == 1


def test_googles_answer_note_is_kept_and_shown(app, client, login_as, mailbox, meeting):
    mailbox.deliver(_reply(meeting, "gmail", "DECLINED", comment="Bận họp HĐND xã, cử phó chủ tịch dự thay"))
    replies.read_replies()
    answer = db.session.scalar(sa.select(InviteResponse).where(InviteResponse.email == ATTENDEE))
    assert answer.comment == "Bận họp HĐND xã, cử phó chủ tịch dự thay"
    login_as("viewer")
    assert "Bận họp HĐND xã, cử phó chủ tịch dự thay" in client.get(f"/meetings/{meeting.id}").get_data(as_text=True)


def test_a_refresh_is_answered_with_the_current_invite(app, smtp, mailbox, meeting, invited):
    deliver_outbox()
    booking.update_meeting(meeting, {"title": "Họp chuyên đề (bổ sung nội dung)"})
    db.session.commit()
    deliver_outbox()
    before = len(smtp.to(ATTENDEE))
    refresh = _reply(meeting, "thunderbird", "NEEDS-ACTION", method="REFRESH")
    mailbox.deliver(refresh)
    mailbox.deliver(refresh)  # the same mail delivered twice: one invite
    assert replies.read_replies() == {"processed": 2, "rejected": 0, "unusable": 0}
    rows = db.session.scalars(sa.select(OutboxMail).where(OutboxMail.key.contains("/refresh-"))).all()
    assert [(r.recipient, r.method, r.sequence) for r in rows] == [(ATTENDEE, "REQUEST", meeting.sequence)]
    deliver_outbox()
    [again] = smtp.to(ATTENDEE)[before:]
    event = icalendar.Calendar.from_ical(calendar_part(again)).walk("VEVENT")[0]
    assert (int(event["SEQUENCE"]), str(event["SUMMARY"])) == (meeting.sequence, "Họp chuyên đề (bổ sung nội dung)")
    assert str(event["ORGANIZER"]) == f"mailto:{service.reply_address(meeting.uid, ATTENDEE)}"


# -- authenticity ---------------------------------------------------------------------------


def test_a_forged_from_is_refused_and_the_real_answer_counts(app, mailbox, meeting):
    """The issue's case: `From: xa0@…` DECLINED, written by someone else, without xa0's invite."""
    mailbox.deliver(_reply(meeting, "gmail", "DECLINED", organizer=ORGANIZER))  # no token: the bare mailbox
    mailbox.deliver(_reply(meeting, "outlook", "DECLINED", organizer=service.reply_address(meeting.uid, OTHER),
                           sender=ATTENDEE))  # xa1's invite, answering as xa0
    assert replies.read_replies() == {"processed": 0, "rejected": 2, "unusable": 0}
    assert _answers(meeting) == {}
    reasons = [str(r.reason_sentence) for r in _refusals(meeting)]
    assert any("không chứng minh được" in r for r in reasons) and any(ATTENDEE in r for r in reasons)
    # the attendee's own calendar, sending from a shared mailbox of the office: its token proves it
    mailbox.deliver(_reply(meeting, "outlook", "ACCEPTED", sender="vanthu.xa0@langson.gov.vn"))
    assert replies.read_replies()["processed"] == 1
    assert _answers(meeting) == {None: "ACCEPTED"}


def test_the_token_survives_a_calendar_that_writes_the_address_in_capitals(app, mailbox, meeting):
    mailbox.deliver(_reply(meeting, "outlook", "TENTATIVE",
                           organizer=service.reply_address(meeting.uid, ATTENDEE).upper()))
    assert replies.read_replies()["processed"] == 1


def test_a_from_with_two_addresses_is_refused(app, mailbox, meeting):
    mailbox.deliver(_reply(meeting, "gmail", "DECLINED", sender=f"{ATTENDEE}>, <ke.gian@example.com"))
    assert replies.read_replies() == {"processed": 0, "rejected": 1, "unusable": 0}
    assert _answers(meeting) == {}
    assert [r.reason for r in _refusals(meeting)] == [replies.SEVERAL_SENDERS]


def _with_attachment(raw, size):
    """The mail with a base64 attachment of about size bytes before its closing boundary (a scanned PDF)."""
    boundary = re.search(rb'boundary="([^"]+)"', raw).group(1)
    closing = b"--" + boundary + b"--"
    part = (b"--" + boundary + b'\r\nContent-Type: application/pdf; name="cong-van.pdf"\r\n'
            b'Content-Disposition: attachment; filename="cong-van.pdf"\r\nContent-Transfer-Encoding: base64\r\n\r\n'
            + b"\r\n".join([b"JVBERi0xLjQK" * 6 + b"QUFB"] * (size // 78)) + b"\r\n")
    return raw.replace(closing, part + closing)


def test_a_mail_over_the_size_limit_is_refused_unread(app, mailbox, meeting, monkeypatch):
    app.config["REPLY_MAX_BYTES"] = 1_000_000
    judged = []
    monkeypatch.setattr(replies, "judge", lambda message, _judge=replies.judge: judged.append(1) or _judge(message))
    mailbox.deliver(_with_attachment(_reply(meeting, "gmail", "DECLINED"), 3_200_000))  # the 3.2 MB
    mailbox.deliver(_reply(meeting, "outlook", "ACCEPTED"))
    assert replies.read_replies() == {"processed": 1, "rejected": 1, "unusable": 0}
    assert len(judged) == 1  # only the small one was fetched whole and parsed
    assert _answers(meeting) == {None: "ACCEPTED"}
    [refused] = [r for r in _refusals() if r.reason_params]
    assert refused.reason_params["limit"] == 1_000_000 and refused.reason_params["size"] > 3_000_000


# -- the refused replies, for the booker and admins -------------------------------------------


def test_refused_replies_are_listed_for_the_booker_and_admins_only(app, client, login, mailbox, meeting, scheduler,
                                                                   make_user, browser, api_headers):
    mailbox.deliver(_reply(meeting, "gmail", "DECLINED", organizer=ORGANIZER))
    bounce = (f"From: MAILER-DAEMON@langson.gov.vn\r\nTo: {ORGANIZER}\r\nSubject: Undelivered Mail\r\n"
              "Content-Type: text/plain\r\n\r\nUser unknown\r\n")
    mailbox.deliver(bounce)
    replies.read_replies()
    booker = browser(scheduler).get(f"/meetings/{meeting.id}").get_data(as_text=True)
    assert 'data-testid="invite-refused"' in booker and "không chứng minh được" in booker
    other = browser(make_user("scheduler")).get(f"/meetings/{meeting.id}").get_data(as_text=True)
    assert 'data-testid="invite-refused"' not in other
    admin = browser(make_user("admin"))
    assert 'data-testid="invite-refused"' in admin.get(f"/meetings/{meeting.id}").get_data(as_text=True)
    listing = admin.get("/invites/refused-replies").get_data(as_text=True)
    assert "Undelivered Mail" in listing and "Bị từ chối" in listing and "Không dùng được" in listing
    assert browser(scheduler).get("/invites/refused-replies").status_code == 403
    assert "refused_replies" not in _api_answers(app, meeting, api_headers, "scheduler")
    assert len(_api_answers(app, meeting, api_headers, user=scheduler)["refused_replies"]) == 1


def test_reading_the_same_refused_mail_twice_lists_it_once(app, mailbox, meeting):
    mail = _reply(meeting, "outlook", "DECLINED", organizer=ORGANIZER)
    mailbox.deliver(mail)
    mailbox.deliver(mail)
    assert replies.read_replies()["rejected"] == 2
    assert len(_refusals(meeting)) == 1


# -- the feed's validator ---------------------------------------------------------------------


def test_a_feed_changes_its_validator_when_the_bookers_agency_changes(app, client, meeting, invited, scheduler):
    feed, token = feeds.create_feed("endpoint", invited["communes"][0].id, None)
    db.session.commit()
    first = client.get(f"/calendar/{token}.ics")
    assert "Văn phòng UBND tỉnh Lạng Sơn (Nguyễn Thị Hoa)" in first.get_data(as_text=True)
    etag, since = first.headers["ETag"], first.headers["Last-Modified"]
    assert client.get(f"/calendar/{token}.ics", headers={"If-None-Match": etag}).status_code == 304
    db.session.rollback()  # the test's read began before the feed recorded its ETag (a writer of its own)
    scheduler.agency = "Sở Thông tin và Truyền thông"
    db.session.commit()
    changed = client.get(f"/calendar/{token}.ics", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag
    assert "Sở Thông tin và Truyền thông (Nguyễn Thị Hoa)" in changed.get_data(as_text=True)
    # a client that keeps only the date: the feed changed after it
    assert client.get(f"/calendar/{token}.ics", headers={"If-Modified-Since": since}).status_code == 200
    assert client.get(f"/calendar/{token}.ics",
                      headers={"If-None-Match": changed.headers["ETag"]}).status_code == 304
