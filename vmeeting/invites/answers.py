"""The answers to an invite: the signed RSVP link, and the rules every answer passes (link or REPLY).

An answer counts only from someone the meeting still invites (or their
delegate), to a meeting (or sitting) neither cancelled nor over, and the most
recent answer wins (RFC 5546). What a REPLY read from the mailbox must prove
first is invites.itip's. These functions flush; the caller commits.
"""

import re
from dataclasses import dataclass, field

import sqlalchemy as sa
from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy.orm import selectinload

from vmeeting.booking.models import Meeting, Occurrence
from vmeeting.core.database import utcnow
from vmeeting.core.errors import ValidationError
from vmeeting.core.extensions import db
from vmeeting.invites.models import PARTSTATS, REPLY_PARTSTATS, InviteResponse
from vmeeting.invites.notice import Person
from vmeeting.invites.recipients import invitees
from vmeeting.core.text import N_, say

RSVP_SALT = "invites.rsvp"
#: an RSVP token after its path; in a calendar a long line may be folded inside it (CRLF and a space)
RSVP_TOKEN = re.compile(r"(/rsvp/)(?:[A-Za-z0-9_.\-]|\r?\n[ \t])+")


def answers_of(meeting):
    """Return {email: PARTSTAT} of the answers given to the whole meeting (not to one sitting)."""
    rows = db.session.execute(sa.select(InviteResponse.email, InviteResponse.partstat)
                              .where(InviteResponse.meeting_id == meeting.id, InviteResponse.occurrence_id.is_(None)))
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


def answer_refusal(meeting, email, occurrence=None, *, delegated_from=""):
    """Return why this person can no longer answer the meeting's invite, in Vietnamese, or None if they can.

    An answer counts only from someone the meeting still invites (a site taken
    off got a CANCEL), or their delegate (delegated_from: the invited address
    that handed the invite on, RFC 5546 §3.2.2.3), to a meeting neither
    cancelled nor over; an answer for one sitting (occurrence), to a sitting
    of this meeting neither cancelled nor over.
    """
    if meeting.is_cancelled:
        return N_("Cuộc họp đã bị hủy.")
    if occurrence is not None:
        if occurrence.meeting_id != meeting.id:
            return N_("Không có buổi họp này trong cuộc họp.")
        if occurrence.status == "cancelled":
            return N_("Buổi họp này đã bị hủy.")
        if occurrence.ends_at <= utcnow():
            return N_("Buổi họp này đã kết thúc.")
    last_end = db.session.scalar(sa.select(sa.func.max(Occurrence.ends_at)).where(
        Occurrence.meeting_id == meeting.id, Occurrence.status == "scheduled"))
    if last_end is None or last_end <= utcnow():
        return N_("Cuộc họp đã kết thúc.")
    invited = invitees(meeting)[0]
    if (delegated_from or email) not in invited:
        return N_("Địa chỉ này không còn trong danh sách mời của cuộc họp.")
    if delegated_from and email in invited:
        # someone invited in their own right answers with their own invite: otherwise any invitee could
        # "delegate" to a colleague and then answer in the colleague's name with their own token
        return say("%(attendee)s được mời riêng: chỉ câu trả lời từ thư mời gửi chính họ được tính.",
                   attendee=email)
    return None


def record_answer(meeting, email, partstat, comment="", *, answered_at=None, source="link", occurrence=None,
                  delegated_to="", delegated_from=""):
    """Store (or change) an attendee's answer; return it, or None when nothing changed; raise ValidationError.

    answered_at: when the person answered (a REPLY's DTSTAMP), aware UTC;
    now by default, and never later than now (a skewed clock cannot block the
    next answer). The most recent answer wins (RFC 5546 §2.1.5): one given
    before the answer on record, or the very same answer again, changes
    nothing, so reading a REPLY twice is harmless. source: "link" or "mail".
    occurrence: the sitting answered (a REPLY with RECURRENCE-ID), None for
    the whole meeting; a whole-meeting answer replaces that person's answers
    to single sittings given before it (it answers every sitting).
    partstat DELEGATED (REPLY only) names delegated_to; a delegate's answer
    names delegated_from (RFC 5546 §3.2.2.3). A refused answer
    (answer_refusal) raises ValidationError naming `partstat`.
    """
    allowed = REPLY_PARTSTATS if source == "mail" else PARTSTATS
    if partstat not in allowed or (partstat == "DELEGATED") != bool(delegated_to):
        raise ValidationError({"partstat": N_("Chọn tham dự, chưa chắc chắn hoặc không tham dự.")})
    refusal = answer_refusal(meeting, email, occurrence, delegated_from=delegated_from)
    if refusal:
        raise ValidationError({"partstat": refusal})
    now = utcnow()
    answered_at = min(answered_at or now, now)
    comment = (comment or "").strip()[:500]
    occurrence_id = occurrence.id if occurrence is not None else None
    answer = db.session.scalar(sa.select(InviteResponse).where(
        InviteResponse.meeting_id == meeting.id, InviteResponse.email == email,
        InviteResponse.occurrence_id.is_(None) if occurrence_id is None else
        InviteResponse.occurrence_id == occurrence_id))
    if answer is None:
        answer = InviteResponse(meeting_id=meeting.id, email=email, occurrence_id=occurrence_id)
        db.session.add(answer)
    elif answered_at < answer.responded_at or (
            answer.partstat, answer.comment, answer.sequence, answer.delegated_to, answer.delegated_from) == (
            partstat, comment, meeting.sequence, delegated_to, delegated_from):
        return None
    answer.partstat, answer.comment, answer.source = partstat, comment, source
    answer.delegated_to, answer.delegated_from = delegated_to, delegated_from
    answer.sequence, answer.responded_at = meeting.sequence, answered_at
    if occurrence_id is None:  # the whole meeting answered: older answers to single sittings are over
        db.session.execute(sa.delete(InviteResponse).where(
            InviteResponse.meeting_id == meeting.id, InviteResponse.email == email,
            InviteResponse.occurrence_id.is_not(None), InviteResponse.responded_at < answered_at))
    db.session.flush()
    return answer


@dataclass
class AnswerRow:
    """One person's line in the meeting's table of answers.

    answer: their whole-meeting InviteResponse or None; sittings: their
    answers to single sittings, in the sittings' order; delegate: True for
    someone answering as a delegate (not invited themselves).
    """

    person: object
    answer: object = None
    sittings: list = field(default_factory=list)
    delegate: bool = False


def answer_rows(meeting):
    """Return [AnswerRow] for everyone invited, answered first, each delegate right after who handed the invite on."""
    people, _endpoints = invitees(meeting)
    rows = {email: AnswerRow(person) for email, person in people.items()}
    delegates = {}
    answers = db.session.scalars(sa.select(InviteResponse).where(InviteResponse.meeting_id == meeting.id)
                                 .options(selectinload(InviteResponse.occurrence))).all()
    for answer in answers:
        row = rows.get(answer.email)
        if row is None:
            if not answer.delegated_from:
                continue  # someone no longer invited
            row = delegates.setdefault(answer.email, AnswerRow(Person(email=answer.email), delegate=True))
        if answer.occurrence_id is None:
            row.answer = answer
        else:
            row.sittings.append(answer)
    ordered = sorted(rows.values(), key=lambda r: (r.answer is None and not r.sittings, r.person.label.casefold()))
    result = []
    for row in ordered:
        row.sittings.sort(key=lambda a: a.occurrence.original_starts_at)
        result.append(row)
        for delegate in delegates.values():
            source = delegate.answer or (delegate.sittings[0] if delegate.sittings else None)
            if source is not None and source.delegated_from == row.person.email:
                delegate.sittings.sort(key=lambda a: a.occurrence.original_starts_at)
                result.append(delegate)
    return result
