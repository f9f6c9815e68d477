"""Invite rules: who is invited, what each change sends, the outbox, answers (RSVP link and iTIP REPLY).

`on_booking_change` is registered in booking's `change_listeners` and runs
inside the booking's transaction: the outbox rows commit or roll back with the
booking. These functions flush; the caller commits.
"""

from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy.orm import selectinload

from vmeeting.booking import service as booking
from vmeeting.booking.models import Meeting, Occurrence, meeting_endpoints
from vmeeting.database import utcnow
from vmeeting.errors import ValidationError
from vmeeting.extensions import db
from vmeeting.invites import ical, mail
from vmeeting.invites.models import PARTSTATS, InviteResponse, OutboxMail
from vmeeting.invites.notice import Person, notice_sections, places_text, plain_text, site_label
from vmeeting.registry.models import Endpoint
from vmeeting.timefmt import format_date, format_time, weekday_vi

#: delays before the 2nd, 3rd… attempt; after the last one the mail is marked failed
RETRY_DELAYS = [timedelta(minutes=m) for m in (1, 2, 5, 10, 20, 40, 60, 120, 240)]
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1
RSVP_SALT = "invites.rsvp"
SUBJECT_PREFIX = {"booked": "Mời họp", "updated": "Cập nhật lịch họp", "CANCEL": "Hủy lịch họp",
                  "sitting": "Hủy buổi họp"}


# -- who is invited ------------------------------------------------------------------------


def _sites_select(endpoint_ids=None, meeting=None):
    query = sa.select(Endpoint).options(selectinload(Endpoint.technician), selectinload(Endpoint.unit))
    if meeting is not None:
        query = query.join(meeting_endpoints, meeting_endpoints.c.endpoint_id == Endpoint.id).where(
            meeting_endpoints.c.meeting_id == meeting.id)
    else:
        query = query.where(Endpoint.id.in_(endpoint_ids))
    return query.order_by(Endpoint.name_sort_key, Endpoint.code)


def people_of_sites(endpoints):
    """Return {email: Person} for the contacts and technicians of the sites, one entry per address."""
    people = {}

    def add(email, name, endpoint, is_technician):
        email = (email or "").strip().lower()
        if not email:
            return
        person = people.setdefault(email, Person(email=email, name=name or ""))
        person.name = person.name or name or ""
        person.is_technician = person.is_technician or is_technician
        if endpoint not in person.sites:
            person.sites.append(endpoint)

    for endpoint in endpoints:
        for email in endpoint.contact_emails or []:
            add(email, endpoint.contact_name, endpoint, False)
        if endpoint.technician is not None and endpoint.technician.is_enabled:
            add(endpoint.technician.email, endpoint.technician.display_name, endpoint, True)
    return people


def invitees(meeting, endpoints=None):
    """Return ({email: Person} of everyone the meeting invites, its sites with technicians and units loaded)."""
    endpoints = endpoints if endpoints is not None else db.session.scalars(_sites_select(meeting=meeting)).all()
    people = people_of_sites(endpoints)
    for email in meeting.attendees or []:
        people.setdefault(email.strip().lower(), Person(email=email.strip().lower()))
    return people, endpoints


def answers_of(meeting):
    """Return {email: PARTSTAT} of the answers given to the meeting."""
    rows = db.session.execute(sa.select(InviteResponse.email, InviteResponse.partstat)
                              .where(InviteResponse.meeting_id == meeting.id))
    return dict(rows.all())


def province_name(meeting):
    """The place written before the date of the invite: the chair's province, without 'Tỉnh'."""
    unit = meeting.chair.unit
    seen = 0
    while unit.parent is not None and seen < 5:
        unit, seen = unit.parent, seen + 1
    for prefix in ("Tỉnh ", "Thành phố "):
        if unit.name.startswith(prefix):
            return unit.name[len(prefix):]
    return unit.name


# -- what each change sends ----------------------------------------------------------------


def on_booking_change(event, meeting, **details):
    """Queue the mails a booking change calls for (a booking.service change listener)."""
    people, endpoints = invitees(meeting)
    if event == "cancelled":
        queue_mails(meeting, "CANCEL", people, people, endpoints)
        return
    if event == "occurrence_cancelled":
        queue_sitting_cancel(meeting, details["occurrence"], people, endpoints)
        return
    kind = "booked" if event == "booked" else "updated"
    queue_mails(meeting, "REQUEST", people, people, endpoints, kind=kind)
    removed_ids = details.get("removed_endpoint_ids") or []
    if removed_ids:
        removed = db.session.scalars(_sites_select(endpoint_ids=removed_ids)).all()
        gone = {email: p for email, p in people_of_sites(removed).items() if email not in people}
        queue_mails(meeting, "CANCEL", gone, gone, endpoints)


def queue_sitting_cancel(meeting, occurrence, people, endpoints):
    """Tell everyone invited that one sitting of a series is cancelled; the series stays.

    Those who have the series get a CANCEL naming that sitting (RECURRENCE-ID,
    RFC 5546 §3.2.5), which supersedes nothing: each such CANCEL is news of its
    own. Those whose series invite has not gone out yet get that invite afresh
    instead, with the sitting left out (EXDATE): a CANCEL of one sitting of a
    series they do not have would tell their calendar nothing.
    """
    awaiting = set(db.session.scalars(sa.select(OutboxMail.recipient).where(
        OutboxMail.meeting_id == meeting.id, OutboxMail.status == "pending", OutboxMail.method == "REQUEST",
        OutboxMail.recipient.in_(list(people)))))
    queue_mails(meeting, "REQUEST", {e: p for e, p in people.items() if e in awaiting}, people, endpoints)
    queue_mails(meeting, "CANCEL", {e: p for e, p in people.items() if e not in awaiting}, people, endpoints,
                sitting=occurrence)


def subject_for(meeting, method, kind, sitting=None):
    """Return the mail subject: what happened, the title, and when (the sitting's time for a sitting)."""
    prefix = SUBJECT_PREFIX["sitting" if sitting is not None else "CANCEL" if method == "CANCEL" else kind]
    at = sitting.starts_at if sitting is not None else meeting.starts_at
    return f"{prefix}: {meeting.title} — {weekday_vi(at)} {format_time(at)} ngày {format_date(at)}"


def sitting_cancelled_text(sitting):
    """The lines that open the notice of a cancelled sitting: which one, and that the others stay."""
    return (f"Không họp buổi {weekday_vi(sitting.starts_at)} {format_time(sitting.starts_at)} ngày "
            f"{format_date(sitting.starts_at)}; các buổi khác của cuộc họp giữ nguyên.")


def queue_mails(meeting, method, recipients, listed, endpoints, *, kind="updated", sitting=None):
    """Write one outbox row per recipient for the meeting's current SEQUENCE; a row already queued stays.

    sitting: with CANCEL, the one cancelled sitting of a series (an Occurrence).
    listed: everyone the meeting invites (counted in the notice). Each
    calendar names only its own recipient as ATTENDEE: iTIP allows it, it keeps
    hundreds of officials' addresses out of each other's mail, and it keeps a
    province-wide booking linear in its attendees. Older pending mails to the
    same people are superseded by a REQUEST or a whole-meeting CANCEL, which
    carry everything those said: calendars keep only the highest SEQUENCE anyway.
    """
    if not recipients:
        return []
    keys = {email: f"{meeting.uid}/{meeting.sequence}/{method}/{email}" for email in recipients}
    existing = set(db.session.scalars(sa.select(OutboxMail.key).where(OutboxMail.key.in_(keys.values()))))
    if sitting is None:
        db.session.execute(
            sa.update(OutboxMail)
            .where(OutboxMail.meeting_id == meeting.id, OutboxMail.status == "pending",
                   OutboxMail.method.is_not(None), OutboxMail.sequence < meeting.sequence,
                   OutboxMail.recipient.in_(list(recipients)))
            .values(status="superseded", last_error="Đã có thư mới hơn cho người này.")
        )
    occurrences = list(meeting.occurrences)
    answers = answers_of(meeting) if method == "REQUEST" else {}
    place = province_name(meeting)
    places = places_text(meeting, endpoints)  # the same for every recipient: walk the sites once
    subject = subject_for(meeting, method, kind, sitting)
    base_url = current_app.config["BASE_URL"].rstrip("/")
    stamp = utcnow()
    rows = []
    for email, person in recipients.items():
        if keys[email] in existing:
            continue
        rsvp_url = f"{base_url}/rsvp/{rsvp_token(meeting, email)}" if method == "REQUEST" else None
        sections = notice_sections(meeting, endpoints, occurrences, person, place=place, rsvp_url=rsvp_url,
                                   attendee_count=len(listed), issued_at=stamp, places=places)
        if sitting is not None:
            sections = [("Hủy buổi họp", sitting_cancelled_text(sitting)), *sections]
        description = plain_text(sections)
        if sitting is not None:
            calendar = ical.sitting_cancel_calendar(meeting, sitting, person, [person], description=description,
                                                    stamp=stamp)
        else:
            calendar = ical.invite_calendar(meeting, occurrences, method, person, [person],
                                            description=description, answers=answers, stamp=stamp)
        organizer_email = meeting.organizer.email if meeting.organizer is not None else None
        message = mail.build_message(key=keys[email], recipient=email, recipient_name=person.name, subject=subject,
                                     sections=sections, calendar=calendar, method=method, reply_to=organizer_email)
        rows.append(OutboxMail(key=keys[email], meeting_id=meeting.id, recipient=email,
                               recipient_name=person.name[:200], method=method, sequence=meeting.sequence,
                               subject=subject[:400], message=message, next_attempt_at=stamp))
    db.session.add_all(rows)
    db.session.flush()
    return rows


def queue_plain_mail(key, meeting_id, recipient, recipient_name, subject, text, html=None, reply_to=None):
    """Queue one mail without a calendar part, once per key; return its outbox row (the earlier one if queued).

    Written in the caller's transaction, delivered by the outbox tick with the
    same retries as an invite. A new invite to the same person never supersedes
    it. The key names the piece of work (e.g. `readiness-escalation:…`); a
    second call with it, from a rerun or a retry, queues nothing.
    """
    existing = db.session.scalar(sa.select(OutboxMail).where(OutboxMail.key == key))
    if existing is not None:
        return existing
    recipient = recipient.strip().lower()
    sequence = db.session.scalar(sa.select(Meeting.sequence).where(Meeting.id == meeting_id)) if meeting_id else 0
    message = mail.build_plain_message(key=key, recipient=recipient, recipient_name=recipient_name,
                                       subject=subject, text=text, html=html, reply_to=reply_to)
    row = OutboxMail(key=key, meeting_id=meeting_id, recipient=recipient, recipient_name=(recipient_name or "")[:200],
                     method=None, sequence=sequence or 0, subject=subject[:400], message=message,
                     next_attempt_at=utcnow())
    db.session.add(row)
    db.session.flush()
    return row


# -- the outbox ----------------------------------------------------------------------------


def due_mails_select(now, limit=200):
    """Select the pending mails whose attempt is due, oldest first."""
    return (sa.select(OutboxMail).where(OutboxMail.status == "pending", OutboxMail.next_attempt_at <= now)
            .order_by(OutboxMail.next_attempt_at, OutboxMail.id).limit(limit))


def mark_sent(mail_row, now=None):
    """Record that the server accepted the mail: it is never sent again."""
    mail_row.status = "sent"
    mail_row.sent_at = now or utcnow()
    mail_row.attempt_count += 1
    mail_row.last_error = ""


def mark_attempt_failed(mail_row, error, *, permanent=False, now=None):
    """Record a failed attempt: retry later with a growing delay, or fail for good."""
    now = now or utcnow()
    mail_row.attempt_count += 1
    mail_row.last_error = str(error)[:2000] or error.__class__.__name__
    if permanent or mail_row.attempt_count >= MAX_ATTEMPTS:
        mail_row.status = "failed"
    else:
        mail_row.next_attempt_at = now + RETRY_DELAYS[mail_row.attempt_count - 1]


def retry_now(mail_row):
    """Put a failed mail back in the queue, due now (an administrator's choice)."""
    if mail_row.status != "failed":
        raise ValidationError({"mail": "Chỉ gửi lại được thư đã thất bại."})
    mail_row.status = "pending"
    mail_row.next_attempt_at = utcnow()
    mail_row.attempt_count = 0


def outbox_select(status=None, meeting_id=None):
    """Select outbox mails for the outbox page, newest first."""
    query = sa.select(OutboxMail).order_by(OutboxMail.created_at.desc(), OutboxMail.id.desc())
    if status:
        query = query.where(OutboxMail.status == status)
    if meeting_id:
        query = query.where(OutboxMail.meeting_id == meeting_id)
    return query


def outbox_counts():
    """Return {status: count} over the whole outbox."""
    rows = db.session.execute(sa.select(OutboxMail.status, sa.func.count()).group_by(OutboxMail.status))
    return dict(rows.all())


def failed_mails(meeting):
    """Return the meeting's mails that failed for good, for its organizer to see."""
    return db.session.scalars(sa.select(OutboxMail).where(OutboxMail.meeting_id == meeting.id,
                                                          OutboxMail.status == "failed")
                              .order_by(OutboxMail.recipient)).all()


# -- RSVP ----------------------------------------------------------------------------------


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
        return "Cuộc họp đã bị hủy."
    last_end = db.session.scalar(sa.select(sa.func.max(Occurrence.ends_at)).where(
        Occurrence.meeting_id == meeting.id, Occurrence.status == "scheduled"))
    if last_end is None or last_end <= utcnow():
        return "Cuộc họp đã kết thúc."
    if email not in invitees(meeting)[0]:
        return "Địa chỉ này không còn trong danh sách mời của cuộc họp."
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
        raise ValidationError({"partstat": "Chọn tham dự, chưa chắc chắn hoặc không tham dự."})
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
        return ReplyOutcome("rejected", "Không có cuộc họp với UID này.")
    if not attendee or attendee != sender:
        return ReplyOutcome("rejected", f"Người gửi {sender or '(không rõ)'} không phải người trả lời "
                                        f"{attendee or '(không rõ)'}.", meeting.id)
    if sequence != meeting.sequence:
        return ReplyOutcome("rejected", f"Trả lời cho phiên bản {sequence}, thư mời hiện tại là phiên bản "
                                        f"{meeting.sequence}.", meeting.id)
    if recurrence_id is not None:
        return ReplyOutcome("rejected", "Trả lời cho một buổi của chuỗi họp: chỉ ghi nhận trả lời cho cả cuộc họp.",
                            meeting.id)
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


def download_calendar(meeting):
    """Return the meeting's .ics for a download: PUBLISH, every sitting, no personal links."""
    _people, endpoints = invitees(meeting)
    occurrences = list(meeting.occurrences)
    sections = notice_sections(meeting, endpoints, occurrences, place=province_name(meeting))
    return ical.publish_calendar(meeting, occurrences, location=site_label(meeting.chair),
                                 description=plain_text(sections))


if on_booking_change not in booking.change_listeners:
    booking.change_listeners.append(on_booking_change)
