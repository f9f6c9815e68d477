"""The organizer's rules for the iTIP messages read from its mailbox: REPLY, REFRESH, COUNTER (RFC 5546 §3.2).

What a message must prove before the answer rules (invites.answers) see it:

- **who sent it.** Every invite names as ORGANIZER its own address for its
  recipient, `MAIL_FROM`'s local part plus a token (sub-addressing,
  `vmeeting+<token>@domain`, RFC 5233): an HMAC of the meeting's UID and the
  recipient's address under SECRET_KEY. A calendar sends its answer there, so
  the answer carries the token, and only someone who received that invite
  knows it. A message counts for the ATTENDEE it names only when it carries
  that ATTENDEE's token (or, for a delegate, the token of the invited person
  who handed the invite on and whose DELEGATED answer names the delegate,
  RFC 5546 §3.2.2.3). The mail's From proves nothing (anyone writes any
  From) and is no longer compared; a From naming two or more addresses is
  refused outright (invites.replies).
- **which version it answers.** A REPLY is judged against the SEQUENCE that
  attendee was last sent for that component (the whole meeting, or the
  sitting its RECURRENCE-ID names), as the outbox rows to them record it, not
  against the meeting's counter (RFC 5546 §3.2.5): a CANCEL of one sitting
  raises the meeting's SEQUENCE, but the attendees' copy of the series keeps
  the SEQUENCE they were sent, and their answers to it count.

These functions flush; the caller commits.
"""

from dataclasses import dataclass
from datetime import date, datetime, time

import sqlalchemy as sa
from flask import current_app

from vmeeting.booking.models import Meeting, Occurrence
from vmeeting.core.errors import ValidationError
from vmeeting.core.extensions import db
from vmeeting.core.text import N_, say
from vmeeting.core.timefmt import local_zone
from vmeeting.invites import queue
from vmeeting.invites.addresses import reply_token, tokens_in  # noqa: F401 (tokens_in: replies' interface)
from vmeeting.invites.answers import record_answer
from vmeeting.invites.models import InviteResponse
from vmeeting.outbox.models import OutboxMail

#: outbox rows that reached, or will reach, their recipient
DELIVERED_STATUSES = ("pending", "sent")
#: the longest mail address (RFC 5321 §4.5.3.1.3 as corrected by erratum 1690), the answers' columns' size
MAX_ADDRESS = 254


# -- what each attendee was last sent ------------------------------------------------------


def last_sent_sequence(meeting, email, occurrence=None):
    """Return the SEQUENCE of the last calendar mail to email for the whole meeting, or for one sitting.

    From the outbox rows to that person that went out or will (pending,
    sent): for the meeting, the highest of those that carry the series (a
    REQUEST, a whole CANCEL); for a sitting, the same or a CANCEL of that
    sitting, whichever is higher. Someone with no row at all (invited before
    the outbox kept rows, or a national booking's rows not written yet) is
    judged against the meeting's SEQUENCE.
    """
    rows = db.session.execute(sa.select(OutboxMail.sequence, OutboxMail.payload).where(
        OutboxMail.meeting_id == meeting.id, OutboxMail.recipient == email, OutboxMail.method.is_not(None),
        OutboxMail.status.in_(DELIVERED_STATUSES))).all()
    if not rows:
        return meeting.sequence
    whole = [seq for seq, payload in rows if (payload or {}).get("kind") != "sitting"]
    own = [seq for seq, payload in rows if occurrence is not None and (payload or {}).get("kind") == "sitting"
           and (payload or {}).get("occurrence_id") == occurrence.id]
    found = whole + own
    return max(found) if found else meeting.sequence


def sitting_of(meeting, recurrence_id):
    """Return the meeting's Occurrence whose original start is the RECURRENCE-ID, or None.

    recurrence_id: an aware datetime, a naive one (floating: the configured
    zone), or a date (the sitting that day, local time).
    """
    if isinstance(recurrence_id, datetime):
        instant = recurrence_id if recurrence_id.tzinfo else recurrence_id.replace(tzinfo=local_zone())
        return db.session.scalar(sa.select(Occurrence).where(Occurrence.meeting_id == meeting.id,
                                                             Occurrence.original_starts_at == instant))
    if isinstance(recurrence_id, date):
        start = datetime.combine(recurrence_id, time(), tzinfo=local_zone())
        end = datetime.combine(recurrence_id, time.max, tzinfo=local_zone())
        return db.session.scalar(sa.select(Occurrence).where(
            Occurrence.meeting_id == meeting.id, Occurrence.original_starts_at.between(start, end)))
    return None


# -- judging one message -------------------------------------------------------------------


@dataclass(frozen=True)
class ReplyOutcome:
    """What one iTIP message did: `applied`, `unchanged` (that answer or a later one is on record) or `rejected`.

    reason: a `text.say` Sentence or N_ literal (Vietnamese), for a rejected one.
    """

    status: str
    reason: str = ""
    meeting_id: int | None = None
    attendee: str = ""
    method: str = "REPLY"

    @property
    def is_rejected(self):
        return self.status == "rejected"


def _rejected(reason, meeting=None, item=None):
    return ReplyOutcome("rejected", reason, meeting.id if meeting is not None else None,
                        getattr(item, "attendee", ""), getattr(item, "method", "REPLY"))


def _proof_refusal(meeting, item, tokens):
    """Return why the message does not prove it came from the invite of whom it answers for, or None."""
    owner = item.delegated_from or item.attendee
    if not tokens:
        return N_("Thư không gửi đến địa chỉ riêng ghi trong thư mời (ORGANIZER): không chứng minh được "
                  "người gửi là người được mời.")
    if reply_token(meeting.uid, owner) not in tokens:
        return say("Thư không mang mã của thư mời gửi %(attendee)s: không nhận trả lời thay người khác.",
                   attendee=owner)
    return None


def _delegation_refusal(meeting, item, occurrence):
    """For a delegate's answer: None when the invited person handed this invite on to them (DELEGATED-TO)."""
    handed = db.session.scalar(sa.select(InviteResponse).where(
        InviteResponse.meeting_id == meeting.id, InviteResponse.email == item.delegated_from,
        InviteResponse.partstat == "DELEGATED", InviteResponse.delegated_to == item.attendee,
        InviteResponse.occurrence_id.in_([occurrence.id]) | InviteResponse.occurrence_id.is_(None)
        if occurrence is not None else InviteResponse.occurrence_id.is_(None)))
    if handed is None:
        return say("%(delegator)s chưa ủy quyền cho %(attendee)s dự họp.", delegator=item.delegated_from,
                   attendee=item.attendee)
    return None


def _target(item, tokens):
    """Return (meeting, occurrence, None) the message is for, or (meeting or None, None, a rejected ReplyOutcome)."""
    meeting = db.session.scalar(sa.select(Meeting).where(Meeting.uid == item.uid)) if item.uid else None
    if meeting is None:
        return None, None, _rejected(N_("Không có cuộc họp với UID này."), None, item)
    if not item.attendee:
        return meeting, None, _rejected(N_("Thư không nêu người trả lời (ATTENDEE)."), meeting, item)
    refusal = _proof_refusal(meeting, item, tokens)
    if refusal:
        return meeting, None, _rejected(refusal, meeting, item)
    occurrence = None
    if item.recurrence_id is not None:
        occurrence = sitting_of(meeting, item.recurrence_id)
        if occurrence is None:
            return meeting, None, _rejected(N_("Không có buổi họp nào của cuộc họp bắt đầu vào thời điểm "
                                               "RECURRENCE-ID."), meeting, item)
    return meeting, occurrence, None


def apply_reply(item, tokens):
    """Count an iTIP REPLY (RFC 5546 §3.2.3) as the attendee's answer; return a ReplyOutcome.

    item: a `replies.ItipItem` of method REPLY (uid, attendee, partstat,
    sequence, stamp aware UTC, recurrence_id, comment, delegated_to,
    delegated_from); tokens: those the mail's addresses carry (`tokens_in`).
    The checks, in order: the UID names a meeting; the token proves the
    sender (module docstring); a RECURRENCE-ID names one of its sittings; the
    SEQUENCE is the one that attendee was last sent for that component; a
    delegate's answer follows a delegation on record; then `record_answer`'s
    own rules (invited, not cancelled, not over, the newest answer wins).
    """
    meeting, occurrence, rejected = _target(item, tokens)
    if rejected:
        return rejected
    owner = item.delegated_from or item.attendee
    sent = last_sent_sequence(meeting, owner, occurrence)
    if item.sequence != sent:
        return _rejected(say("Trả lời cho phiên bản %(sequence)s, thư mời gửi người này gần nhất là phiên bản "
                             "%(current)s.", sequence=item.sequence, current=sent), meeting, item)
    if item.delegated_from:
        refusal = _delegation_refusal(meeting, item, occurrence)
        if refusal:
            return _rejected(refusal, meeting, item)
    if item.partstat == "DELEGATED" and not item.delegated_to:
        return _rejected(N_("Trả lời ủy quyền (DELEGATED) không nêu người được ủy quyền (DELEGATED-TO)."),
                         meeting, item)
    if len(item.delegated_to) > MAX_ADDRESS or (item.delegated_to and "@" not in item.delegated_to):
        # an address the answers' column cannot hold (RFC 5321 §4.5.3.1.3: 254 at most) is no one's
        return _rejected(N_("Người được ủy quyền (DELEGATED-TO) không phải một địa chỉ thư."), meeting, item)
    try:
        answer = record_answer(meeting, item.attendee, item.partstat, item.comment, answered_at=item.stamp,
                               source="mail", occurrence=occurrence, delegated_to=item.delegated_to,
                               delegated_from=item.delegated_from)
    except ValidationError as exc:
        return _rejected(next(iter(exc.fields.values())), meeting, item)
    return ReplyOutcome("unchanged" if answer is None else "applied", meeting_id=meeting.id, attendee=item.attendee)


def apply_refresh(item, tokens, marker):
    """Answer an iTIP REFRESH (RFC 5546 §3.2.6): queue the current invite to that attendee; return a ReplyOutcome.

    The same proof of sender as a REPLY (it is sent to the invited address in
    any case, never to the mail's sender). marker: a few characters naming
    the mail, so reading it twice queues one invite.
    """
    meeting, _occurrence, rejected = _target(item, tokens)
    if rejected:
        return rejected
    if meeting.is_cancelled:
        return _rejected(N_("Cuộc họp đã bị hủy."), meeting, item)
    if not queue.queue_refresh(meeting, item.attendee, marker):
        return _rejected(N_("Địa chỉ này không còn trong danh sách mời của cuộc họp."), meeting, item)
    return ReplyOutcome("applied", meeting_id=meeting.id, attendee=item.attendee, method="REFRESH")


#: why a COUNTER changes nothing (README, Mail: proposals are not taken)
COUNTER_REFUSED = N_("Đề xuất thời gian khác (COUNTER) không được nhận: thư mời ghi rõ không nhận đề xuất "
                     "(X-MICROSOFT-DISALLOW-COUNTER); xin liên hệ người đặt lịch.")


def refuse_counter(item):
    """Return the rejected outcome of a COUNTER (RFC 5546 §3.2.7): proposals are not taken, the booker reads it."""
    meeting = db.session.scalar(sa.select(Meeting).where(Meeting.uid == item.uid)) if item.uid else None
    return _rejected(COUNTER_REFUSED, meeting, item)
