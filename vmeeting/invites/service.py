"""Invite rules: who is invited, what each change sends and how it reads, answers (RSVP link and iTIP REPLY).

`on_booking_change` is registered in booking's `change_listeners` and runs
inside the booking's transaction: the outbox rows commit or roll back with the
booking. They are compact; `build_invites`, registered as the outbox's
"invite" builder, turns them into mails in the worker. These functions
flush; the caller commits.
"""

import re
import threading
from dataclasses import dataclass, field

import cachetools
import sqlalchemy as sa
from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy.orm import selectinload

from vmeeting.auth.models import User
from vmeeting.booking.models import Meeting, Occurrence, meeting_endpoints
from vmeeting.core.database import utcnow
from vmeeting.core.errors import ValidationError
from vmeeting.core.extensions import db
from vmeeting.invites import ical, mail
from vmeeting.invites.models import PARTSTATS, InviteResponse
from vmeeting.invites.notice import Person, notice_sections, places_text_of, plain_text, site_label
from vmeeting.outbox import service as outbox
from vmeeting.outbox.models import OutboxMail
from vmeeting.registry.models import AdminUnit, Endpoint
from vmeeting.core.text import N_, say
from vmeeting.core.timefmt import format_date, format_time, weekday_vi

RSVP_SALT = "invites.rsvp"
SUBJECT_PREFIX = {"booked": "Mời họp", "updated": "Cập nhật lịch họp", "CANCEL": "Hủy lịch họp",
                  "sitting": "Hủy buổi họp"}
#: the outbox builder name of invite rows
INVITE_BUILDER = "invite"
#: the outbox expander name of a national booking's change record (`on_booking_change`)
BOOKING_EXPANDER = "invite-booking"
#: an RSVP token after its path; in a calendar a long line may be folded inside it (CRLF and a space)
RSVP_TOKEN = re.compile(r"(/rsvp/)(?:[A-Za-z0-9_.\-]|\r?\n[ \t])+")


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


@dataclass
class Invitee:
    """Whom one change writes to, as the booking's transaction reads it: columns, not ORM objects."""

    email: str
    name: str = ""
    #: ids of the sites this person sits at or looks after in this meeting, in the sites' order
    site_ids: list = field(default_factory=list)
    is_technician: bool = False


def _invitees_of_sites(*, meeting_id=None, endpoint_ids=None):
    """Return {email: Invitee} of the contacts and enabled technicians of the meeting's sites (or of endpoint_ids).

    One Core select of the few columns needed, whatever the number of sites:
    the booking's transaction pays for this, not for loading every endpoint.
    """
    query = (sa.select(Endpoint.id, Endpoint.contact_emails, Endpoint.contact_name, User.email, User.full_name,
                       User.username, User.is_enabled)
             .outerjoin(User, User.id == Endpoint.technician_id)
             .order_by(Endpoint.name_sort_key, Endpoint.code))
    if meeting_id is not None:
        query = query.join(meeting_endpoints, meeting_endpoints.c.endpoint_id == Endpoint.id).where(
            meeting_endpoints.c.meeting_id == meeting_id)
    else:
        query = query.where(Endpoint.id.in_(list(endpoint_ids)))
    people = {}

    def add(address, name, endpoint_id, is_technician):
        address = (address or "").strip().lower()
        if not address:
            return
        person = people.get(address)
        if person is None:
            person = people[address] = Invitee(email=address, name=name or "")
        person.name = person.name or name or ""
        person.is_technician = person.is_technician or is_technician
        if endpoint_id not in person.site_ids:
            person.site_ids.append(endpoint_id)

    # on the session's connection, as Core: the ORM's row processing would cost more than the query
    for endpoint_id, contacts, contact_name, tech_email, tech_full_name, tech_username, tech_enabled in \
            db.session.connection().execute(query):
        for address in contacts or []:
            add(address, contact_name, endpoint_id, False)
        if tech_email is not None and tech_enabled:
            add(tech_email, tech_full_name or tech_username, endpoint_id, True)
    return people


def _invitees(meeting):
    """Return {email: Invitee} of everyone the meeting invites: its sites' people, then its extra attendees."""
    people = _invitees_of_sites(meeting_id=meeting.id)
    for address in meeting.attendees or []:
        address = address.strip().lower()
        people.setdefault(address, Invitee(email=address))
    return people


def on_booking_change(event, meeting, **details):
    """Queue the mails a booking change calls for (a booking.service change listener).

    Runs in the booking's transaction and writes only what it decides: one
    compact outbox row per recipient (`_queue`), in one INSERT, and older
    pending mails superseded in one UPDATE. The workers build the messages
    (`build_invites`).
    """
    if event == "booked" and meeting.endpoint_count >= current_app.config["OUTBOX_FANOUT_SITES"]:
        # a national booking: one record now, the ~10,000 invite rows written by a worker (`expand_booking`)
        outbox.enqueue_change(key=f"{meeting.uid}/{meeting.sequence}/booked", meeting_id=meeting.id,
                              sequence=meeting.sequence, subject=subject_for(meeting, "REQUEST", "booked"),
                              payload={"kind": "booked", "sites": meeting.endpoint_count}, expander=BOOKING_EXPANDER)
        return
    if event != "booked":  # a booking's record not expanded yet: its rows first, then this change's
        outbox.expand_pending(meeting.id)
    people = _invitees(meeting)
    if event == "cancelled":
        _queue(meeting, "CANCEL", people, kind="cancelled", attendee_count=len(people))
        outbox.supersede(meeting.id, meeting.sequence)
        return
    if event == "occurrence_cancelled":
        _queue_sitting_cancel(meeting, details["occurrence"], people)
        return
    kind = "booked" if event == "booked" else "updated"
    _queue(meeting, "REQUEST", people, kind=kind, attendee_count=len(people))
    removed_ids = details.get("removed_endpoint_ids") or []
    if removed_ids:
        gone = {email: p for email, p in _invitees_of_sites(endpoint_ids=removed_ids).items() if email not in people}
        _queue(meeting, "CANCEL", gone, kind="removed", attendee_count=len(gone))
    if event != "booked":  # a new meeting has nothing older to supersede
        outbox.supersede(meeting.id, meeting.sequence)


def expand_booking(record):
    """Write the invite rows of a booking's change record (the outbox's "invite-booking" expander).

    The rows are those `on_booking_change` writes for a smaller booking: one
    REQUEST per person the meeting invites, at the record's SEQUENCE. A later
    change of the meeting expands the record before it writes its own mails
    (the meeting then already has its new SEQUENCE and sites); that change
    supersedes these rows as it would have had they been written at booking.
    """
    meeting = db.session.get(Meeting, record.meeting_id)
    if meeting is None:
        return
    people = _invitees(meeting)
    _queue(meeting, "REQUEST", people, kind=(record.payload or {}).get("kind", "booked"), attendee_count=len(people),
           sequence=record.sequence)


def _queue_sitting_cancel(meeting, occurrence, people):
    """Tell everyone invited that one sitting of a series is cancelled; the series stays.

    Those who have the series get a CANCEL naming that sitting (RECURRENCE-ID,
    RFC 5546 §3.2.5), which supersedes nothing: each such CANCEL is news of its
    own. Those whose series invite has not gone out yet get that invite afresh
    instead, with the sitting left out (EXDATE): a CANCEL of one sitting of a
    series they do not have would tell their calendar nothing.
    """
    awaiting = outbox.pending_recipients(meeting.id, "REQUEST")
    _queue(meeting, "REQUEST", {e: p for e, p in people.items() if e in awaiting}, kind="updated",
           attendee_count=len(people))
    _queue(meeting, "CANCEL", {e: p for e, p in people.items() if e not in awaiting}, kind="sitting",
           attendee_count=len(people), sitting=occurrence)
    outbox.supersede(meeting.id, meeting.sequence, methods=("REQUEST",))


def subject_for(meeting, method, kind, sitting=None):
    """Return the mail subject: what happened, the title, and when (the sitting's time for a sitting)."""
    prefix = SUBJECT_PREFIX["sitting" if sitting is not None else "CANCEL" if method == "CANCEL" else kind]
    at = sitting.starts_at if sitting is not None else meeting.starts_at
    return f"{prefix}: {meeting.title} — {weekday_vi(at)} {format_time(at)} ngày {format_date(at)}"


def sitting_cancelled_text(sitting):
    """The lines that open the notice of a cancelled sitting: which one, and that the others stay."""
    return (f"Không họp buổi {weekday_vi(sitting.starts_at)} {format_time(sitting.starts_at)} ngày "
            f"{format_date(sitting.starts_at)}; các buổi khác của cuộc họp giữ nguyên.")


def _queue(meeting, method, recipients, *, kind, attendee_count, sitting=None, sequence=None):
    """Write one compact outbox row per recipient for the meeting's current SEQUENCE; a row already queued stays.

    kind: booked or updated (a REQUEST), cancelled (the whole meeting),
    removed (a CANCEL to a site taken off), sitting (a CANCEL of the one
    sitting `sitting`). attendee_count: how many people the notice says
    receive it. The payload holds what the builder cannot read from the
    meeting: the recipient's own sites (for a site taken off, no longer the
    meeting's), whether they are a technician, the cancelled sitting.
    """
    if not recipients:
        return
    sequence = meeting.sequence if sequence is None else sequence
    subject = subject_for(meeting, method, kind, sitting)
    base = {"meeting_id": meeting.id, "method": method, "sequence": sequence, "subject": subject}
    outbox.enqueue([{**base, "key": f"{meeting.uid}/{sequence}/{method}/{email}", "recipient": email,
                     "recipient_name": person.name,
                     "payload": {"kind": kind, "sites": person.site_ids, "technician": person.is_technician,
                                 "attendees": attendee_count,
                                 **({"occurrence_id": sitting.id} if sitting is not None else {})}}
                    for email, person in recipients.items()], builder=INVITE_BUILDER)


# -- building the invites: in the worker, once per message ---------------------------------------


def build_invites(rows, *, skip_superseded=True):
    """Build the invite mails of compact outbox rows; return {row id: message, or None when superseded}.

    The outbox's builder for "invite" rows. The rows of one (meeting,
    SEQUENCE) share their context, loaded once: the meeting and its sittings,
    its sites with technicians and units, the places text, the answers. A row
    whose meeting has moved on, to a recipient who has a newer mail that
    carries everything (a REQUEST or a whole CANCEL), is superseded: None.
    """
    groups = {}
    for row in rows:
        groups.setdefault((row.meeting_id, row.sequence), []).append(row)
    messages = {}
    for (meeting_id, sequence), group in groups.items():
        messages.update(_build_group(db.session.get(Meeting, meeting_id), sequence, group, skip_superseded))
    return messages


def _superseding_recipients(meeting_id, sequence):
    """Return the addresses with a newer calendar mail of the meeting that carries everything (not one sitting)."""
    rows = db.session.execute(sa.select(OutboxMail.recipient, OutboxMail.payload).where(
        OutboxMail.meeting_id == meeting_id, OutboxMail.sequence > sequence, OutboxMail.method.is_not(None)))
    return {recipient for recipient, payload in rows if (payload or {}).get("kind") != "sitting"}


SITE_TEXTS_KEPT = 32
#: {(meeting id, SEQUENCE, updated_at): (places text, number of sites)}: what every mail of a change says
#: about all the meeting's sites, worked out once per process rather than once per batch of a drain
_site_texts = cachetools.LRUCache(maxsize=SITE_TEXTS_KEPT)
_site_texts_lock = threading.Lock()


def _site_text(meeting):
    """Return (the 'Địa điểm' text, the number of sites) of the meeting as it stands; remembered per version."""
    key = (meeting.id, meeting.sequence, meeting.updated_at)
    with _site_texts_lock:
        found = _site_texts.get(key)
    if found is not None:
        return found
    rows = db.session.connection().execute(
        sa.select(Endpoint.id, Endpoint.name, AdminUnit.level).join(AdminUnit, AdminUnit.id == Endpoint.unit_id)
        .join(meeting_endpoints, meeting_endpoints.c.endpoint_id == Endpoint.id)
        .where(meeting_endpoints.c.meeting_id == meeting.id).order_by(Endpoint.name_sort_key, Endpoint.code)).all()
    found = (places_text_of(meeting, rows), len(rows))
    with _site_texts_lock:
        _site_texts[key] = found
    return found


def _build_group(meeting, sequence, rows, skip_superseded):
    messages = {}
    if skip_superseded and meeting.sequence > sequence:
        newer = _superseding_recipients(meeting.id, sequence)
        messages = {row.id: None for row in rows if row.recipient in newer}
        rows = [row for row in rows if row.id not in messages]
    if not rows:
        return messages
    places, site_count = _site_text(meeting)  # the same for every recipient of every batch
    # only this batch's recipients' own sites (those taken off the meeting too, for their CANCEL)
    wanted = {i for row in rows for i in (row.payload or {}).get("sites", [])}
    sites = {e.id: e for e in db.session.scalars(_sites_select(endpoint_ids=wanted))} if wanted else {}
    occurrences = list(meeting.occurrences)
    answers = dict(db.session.execute(sa.select(InviteResponse.email, InviteResponse.partstat).where(
        InviteResponse.meeting_id == meeting.id, InviteResponse.email.in_([row.recipient for row in rows]))).all())
    place = province_name(meeting)
    base_url = current_app.config["BASE_URL"].rstrip("/")
    organizer_email = meeting.organizer.email if meeting.organizer is not None else None
    stamp = utcnow()
    for row in rows:
        payload = row.payload or {}
        person = Person(email=row.recipient, name=row.recipient_name,
                        sites=[sites[i] for i in payload.get("sites", []) if i in sites],
                        is_technician=bool(payload.get("technician")))
        sitting = db.session.get(Occurrence, payload["occurrence_id"]) if payload.get("occurrence_id") else None
        rsvp_url = f"{base_url}/rsvp/{rsvp_token(meeting, row.recipient)}" if row.method == "REQUEST" else None
        sections = notice_sections(meeting, None, occurrences, person, place=place, rsvp_url=rsvp_url,
                                   attendee_count=payload.get("attendees", 0), issued_at=stamp, places=places,
                                   site_count=site_count)
        if sitting is not None:
            sections = [("Hủy buổi họp", sitting_cancelled_text(sitting)), *sections]
        description = plain_text(sections)
        if sitting is not None:
            calendar = ical.sitting_cancel_calendar(meeting, sitting, person, [person], description=description,
                                                    stamp=stamp, sequence=row.sequence)
        else:
            calendar = ical.invite_calendar(meeting, occurrences, row.method, person, [person],
                                            description=description, answers=answers if row.method == "REQUEST" else {},
                                            stamp=stamp, sequence=row.sequence)
        messages[row.id] = mail.build_message(key=row.key, recipient=row.recipient, recipient_name=row.recipient_name,
                                              subject=row.subject, sections=sections, calendar=calendar,
                                              method=row.method, reply_to=organizer_email)
    return messages


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


def download_calendar(meeting):
    """Return the meeting's .ics for a download: PUBLISH, every sitting, no personal links."""
    _people, endpoints = invitees(meeting)
    occurrences = list(meeting.occurrences)
    sections = notice_sections(meeting, endpoints, occurrences, place=province_name(meeting))
    return ical.publish_calendar(meeting, occurrences, location=site_label(meeting.chair),
                                 description=plain_text(sections))

