"""The answers to an invite: the signed RSVP link, the rules an answer passes, iTIP REPLYs read from the mailbox.

An answer counts only from someone the meeting still invites, to a meeting
neither cancelled nor over, and the most recent answer wins (RFC 5546). These
functions flush; the caller commits.
"""

import re
from dataclasses import dataclass

import sqlalchemy as sa
from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer

from vmeeting.booking.models import Meeting, Occurrence
from vmeeting.core.database import utcnow
from vmeeting.core.errors import ValidationError
from vmeeting.core.extensions import db
from vmeeting.invites.models import PARTSTATS, InviteResponse
from vmeeting.invites.recipients import invitees
from vmeeting.core.text import N_, say

RSVP_SALT = "invites.rsvp"
#: an RSVP token after its path; in a calendar a long line may be folded inside it (CRLF and a space)
RSVP_TOKEN = re.compile(r"(/rsvp/)(?:[A-Za-z0-9_.\-]|\r?\n[ \t])+")


def answers_of(meeting):
    """Return {email: PARTSTAT} of the answers given to the meeting."""
    rows = db.session.execute(sa.select(InviteResponse.email, InviteResponse.partstat)
                              .where(InviteResponse.meeting_id == meeting.id))
    return dict(rows.all())


def _serializer():
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=RSVP_SALT)


def rsvp_token(meeting, email):
    """Return the signed token of one attendee's answer link."""
    return _serializer().dumps({"m": meeting.id, "u": meeting.uid, "e": email})


def read_rsvp_token(token):
    """Return (meeting, email) of a signed answer link, or None when it is forged, altered or stale."""
    try:
        data = _serializer().loads(token)
    except BadSignature:
        return None
    if not isinstance(data, dict):
        return None
    meeting = db.session.get(Meeting, data.get("m")) if isinstance(data.get("m"), int) else None
    if meeting is None or meeting.uid != data.get("u"):
        return None
    return meeting, data.get("e")


def answer_refusal(meeting, email):
    """Return why this person can no longer answer the meeting's invite, in Vietnamese, or None if they can.

    An answer counts only from someone the meeting still invites (a site taken
    off got a CANCEL), to a meeting neither cancelled nor over.
    """
    if meeting.is_cancelled:
        return N_("Cuộc họp đã bị hủy.")
    last_end = db.session.scalar(sa.select(sa.func.max(Occurrence.ends_at)).where(
        Occurrence.meeting_id == meeting.id, Occurrence.status == "scheduled"))
    if last_end is None or last_end <= utcnow():
        return N_("Cuộc họp đã kết thúc.")
    if email not in invitees(meeting)[0]:
        return N_("Địa chỉ này không còn trong danh sách mời của cuộc họp.")
    return None


def record_answer(meeting, email, partstat, comment="", *, answered_at=None, source="link"):
    """Store (or change) an attendee's answer; return it, or None when nothing changed; raise ValidationError.

    answered_at: when the person answered (a REPLY's DTSTAMP), aware UTC;
    now by default, and never later than now (a skewed clock cannot block the
    next answer). The most recent answer wins (RFC 5546 §2.1.5): one given
    before the answer on record, or the very same answer again, changes
    nothing, so reading a REPLY twice is harmless. source: "link" or "mail".
    A refused answer (answer_refusal) raises ValidationError naming `partstat`.
    """
    if partstat not in PARTSTATS:
        raise ValidationError({"partstat": N_("Chọn tham dự, chưa chắc chắn hoặc không tham dự.")})
    refusal = answer_refusal(meeting, email)
    if refusal:
        raise ValidationError({"partstat": refusal})
    now = utcnow()
    answered_at = min(answered_at or now, now)
    comment = (comment or "").strip()[:500]
    answer = db.session.scalar(sa.select(InviteResponse).where(InviteResponse.meeting_id == meeting.id,
                                                               InviteResponse.email == email))
    if answer is None:
        answer = InviteResponse(meeting_id=meeting.id, email=email)
        db.session.add(answer)
    elif answered_at < answer.responded_at or (answer.partstat, answer.comment, answer.sequence) == (
            partstat, comment, meeting.sequence):
        return None
    answer.partstat, answer.comment, answer.source = partstat, comment, source
    answer.sequence, answer.responded_at = meeting.sequence, answered_at
    db.session.flush()
    return answer


@dataclass(frozen=True)
class ReplyOutcome:
    """What one iTIP REPLY did: `applied`, `unchanged` (that answer or a later one is on record) or `rejected`."""

    status: str
    reason: str = ""
    meeting_id: int | None = None

    @property
    def is_rejected(self):
        return self.status == "rejected"


def apply_reply(*, uid, attendee, sender, partstat, sequence, stamp=None, recurrence_id=None, comment=""):
    """Count an iTIP REPLY read from the organizer mailbox as the attendee's answer; return a ReplyOutcome.

    The rules of RFC 5546 §3.2.3 as the organizer applies them, then the RSVP
    link's own (`record_answer`): the UID names a meeting; the mail's sender
    (From, lower-case) is the ATTENDEE who answers, since anyone can write
    any ATTENDEE into a calendar; the SEQUENCE is the meeting's current one
    (an answer to an older version changes nothing, a newer one was never
    sent); the answer is for the whole meeting. A REPLY for one sitting of a
    series (RECURRENCE-ID) changes nothing: the meeting keeps one answer per
    person, as the link does, and one sitting declined must not read as the
    series declined. PARTSTAT: ACCEPTED, TENTATIVE or DECLINED. stamp: the
    REPLY's DTSTAMP, aware UTC. Flushes; the caller commits.
    """
    meeting = db.session.scalar(sa.select(Meeting).where(Meeting.uid == uid)) if uid else None
    attendee, sender = (attendee or "").strip().lower(), (sender or "").strip().lower()
    if meeting is None:
        return ReplyOutcome("rejected", N_("Không có cuộc họp với UID này."))
    if not attendee or attendee != sender:
        unknown = say("(không rõ)")
        return ReplyOutcome("rejected", say("Người gửi %(sender)s không phải người trả lời %(attendee)s.",
                                            sender=sender or unknown, attendee=attendee or unknown), meeting.id)
    if sequence != meeting.sequence:
        return ReplyOutcome("rejected", say("Trả lời cho phiên bản %(sequence)s, thư mời hiện tại là phiên bản "
                                            "%(current)s.", sequence=sequence, current=meeting.sequence), meeting.id)
    if recurrence_id is not None:
        return ReplyOutcome("rejected", N_("Trả lời cho một buổi của chuỗi họp: chỉ ghi nhận trả lời cho cả "
                                           "cuộc họp."), meeting.id)
    try:
        answer = record_answer(meeting, attendee, partstat, comment, answered_at=stamp, source="mail")
    except ValidationError as exc:
        return ReplyOutcome("rejected", next(iter(exc.fields.values())), meeting.id)
    return ReplyOutcome("unchanged" if answer is None else "applied", meeting_id=meeting.id)


def answer_rows(meeting):
    """Return [(Person, InviteResponse or None)] for everyone invited, answered first."""
    people, _endpoints = invitees(meeting)
    answers = {a.email: a for a in db.session.scalars(
        sa.select(InviteResponse).where(InviteResponse.meeting_id == meeting.id))}
    rows = [(person, answers.get(email)) for email, person in people.items()]
    return sorted(rows, key=lambda r: (r[1] is None, r[0].label.casefold()))
