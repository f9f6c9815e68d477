"""What a booking change writes to the outbox: one compact row per recipient, in the booking's transaction.

`on_booking_change` is connected to booking's `change_listeners` (invites'
init_app) and runs inside the booking's transaction: the outbox rows commit
or roll back with the booking. A national booking writes one change record
instead, which a worker expands (`expand_booking`, the outbox's
"invite-booking" expander). The rows name the "invite" builder
(invites.build), which turns them into mails in the worker. These functions
flush; the caller commits.
"""

from dataclasses import dataclass, field

import sqlalchemy as sa
from flask import current_app

from vmeeting.auth.models import User
from vmeeting.booking import hooks as booking_hooks
from vmeeting.booking.models import Meeting, meeting_endpoints
from vmeeting.core.extensions import db
from vmeeting.outbox import service as outbox
from vmeeting.registry.models import Endpoint
from vmeeting.core.timefmt import format_date, format_time, weekday_vi

SUBJECT_PREFIX = {"booked": "Mời họp", "updated": "Cập nhật lịch họp", "CANCEL": "Hủy lịch họp",
                  "sitting": "Hủy buổi họp"}
#: the outbox builder name of invite rows
INVITE_BUILDER = "invite"
#: the outbox expander name of a national booking's change record (`on_booking_change`)
BOOKING_EXPANDER = "invite-booking"


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
    (`build_invites`). Nothing is queued while booking's invite holds keep the change back (a booking
    waiting for approval, booking.approvals): its invites go out when it is scheduled.
    """
    if event == "displaced":  # the booker's notice (booking.displacement): a plain mail, once per key
        _tell_booker(meeting, details["key"], details["subject"], details["text"])
        return
    if booking_hooks.invites_held(event, meeting):
        _cancel_taken_off(meeting, details.get("removed_endpoint_ids") or [], only_invited=True)
        return
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
    if event == "sitting_sites_removed":
        _queue_sites_left_sitting(meeting, details["occurrence"], details["removed_endpoint_ids"], people)
        return
    # a meeting whose invites never went out (it waited for approval since its booking) is news to everyone
    kind = "booked" if event == "booked" or not outbox.has_invited(meeting.id) else "updated"
    _queue(meeting, "REQUEST", people, kind=kind, attendee_count=len(people))
    if kind == "updated":  # (nobody holds an invite of a meeting none was sent for: no CANCEL either)
        _cancel_taken_off(meeting, details.get("removed_endpoint_ids") or [], people=people)
    if event != "booked":  # a new meeting has nothing older to supersede
        outbox.supersede(meeting.id, meeting.sequence)


def _cancel_taken_off(meeting, removed_ids, *, people=None, only_invited=False):
    """Send a CANCEL to the people of the sites a change took off the meeting (and of none it keeps).

    only_invited: the change's invites are held back (it made the meeting wait for approval,
    booking.approvals); those people are out whatever the units answer, so the ones who hold an invite
    of it (sent or waiting: outbox.invited_recipients) are told now, not when the approval settles
    (which sends the others their update).
    """
    if not removed_ids:
        return
    people = _invitees(meeting) if people is None else people
    invited = outbox.invited_recipients(meeting.id) if only_invited else None
    gone = {email: p for email, p in _invitees_of_sites(endpoint_ids=removed_ids).items()
            if email not in people and (invited is None or email in invited)}
    _queue(meeting, "CANCEL", gone, kind="removed", attendee_count=len(gone))


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


def _tell_booker(meeting, key, subject, text):
    """Mail the meeting's booker a notice about it (no calendar part); nothing when they have no address."""
    booker = meeting.organizer
    if booker is None or not booker.email or not booker.is_enabled:
        return
    outbox.enqueue_plain(key, meeting.id, booker.email, booker.display_name, subject, text, sequence=meeting.sequence)


def _queue_sites_left_sitting(meeting, occurrence, removed_ids, people):
    """Tell the people of sites taken off one sitting of a series (booking.displacement) that they do not sit in it.

    Each gets a CANCEL of that sitting (RECURRENCE-ID), as for a cancelled sitting; the
    series' other sittings stay theirs. Who also sits at a site the sitting keeps, or is
    one of the meeting's extra attendees, keeps it and is sent nothing.
    """
    removed = set(removed_ids)
    extra = {address.strip().lower() for address in meeting.attendees or []}
    gone = {email: person for email, person in people.items()
            if person.site_ids and set(person.site_ids) <= removed and email not in extra}
    _queue(meeting, "CANCEL", gone, kind="sitting", attendee_count=len(people), sitting=occurrence)


def subject_for(meeting, method, kind, sitting=None):
    """Return the mail subject: what happened, the title, and when (the sitting's time for a sitting)."""
    prefix = SUBJECT_PREFIX["sitting" if sitting is not None else "CANCEL" if method == "CANCEL" else kind]
    at = sitting.starts_at if sitting is not None else meeting.starts_at
    return f"{prefix}: {meeting.title} — {weekday_vi(at)} {format_time(at)} ngày {format_date(at)}"


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


def queue_refresh(meeting, email, marker):
    """Queue the current invite again for one person who asked for it (iTIP REFRESH, RFC 5546 §3.2.6); return
    whether they are invited.

    A REQUEST at the meeting's SEQUENCE, built like any other; marker (a few
    characters naming the REFRESH mail) makes the key its own, so the same
    REFRESH read twice queues one mail. Flushes; the caller commits.
    """
    person = _invitees(meeting).get(email)
    if person is None:
        return False
    sequence = meeting.sequence
    outbox.enqueue([{"meeting_id": meeting.id, "method": "REQUEST", "sequence": sequence,
                     "subject": subject_for(meeting, "REQUEST", "updated"),
                     "key": f"{meeting.uid}/{sequence}/REQUEST/{email}/refresh-{marker}", "recipient": email,
                     "recipient_name": person.name,
                     "payload": {"kind": "updated", "sites": person.site_ids, "technician": person.is_technician,
                                 "attendees": 0}}], builder=INVITE_BUILDER)
    return True
