"""Building the iMIP messages of the outbox's invite rows: in the worker, once per message.

`build_invites` is the outbox's "invite" builder (invites' init_app): the rows
invites.queue wrote become mails, each with its iTIP calendar (invites.ical)
and its notice (invites.notice); `download_calendar` builds the .ics a page
offers.
"""

import threading

import cachetools
import sqlalchemy as sa
from flask import current_app

from vmeeting.booking.hooks import invite_attachments, invite_texts
from vmeeting.booking.models import Meeting, Occurrence, meeting_endpoints
from vmeeting.core.database import utcnow
from vmeeting.core.extensions import db
from vmeeting.invites import ical, mail
from vmeeting.invites.answers import rsvp_token
from vmeeting.invites.models import InviteResponse
from vmeeting.invites.notice import Person, notice_sections, places_text_of, plain_text, site_label
from vmeeting.invites.recipients import invitees, province_name, sites_select
from vmeeting.outbox.models import OutboxMail
from vmeeting.registry.models import AdminUnit, Endpoint
from vmeeting.core.timefmt import format_date, format_time, weekday_vi


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
    sites = {e.id: e for e in db.session.scalars(sites_select(endpoint_ids=wanted))} if wanted else {}
    occurrences = list(meeting.occurrences)
    answers = dict(db.session.execute(sa.select(InviteResponse.email, InviteResponse.partstat).where(
        InviteResponse.meeting_id == meeting.id, InviteResponse.occurrence_id.is_(None),
        InviteResponse.email.in_([row.recipient for row in rows]))).all())
    place = province_name(meeting)
    base_url = current_app.config["BASE_URL"].rstrip("/")
    organizer_email = meeting.organizer.email if meeting.organizer is not None else None
    stamp = utcnow()
    # what the capabilities above booking add to every invite of the meeting (documents: the issued giấy mời)
    references, attachments = invite_texts(meeting), invite_attachments(meeting)
    for row in rows:
        payload = row.payload or {}
        person = Person(email=row.recipient, name=row.recipient_name,
                        sites=[sites[i] for i in payload.get("sites", []) if i in sites],
                        is_technician=bool(payload.get("technician")))
        sitting = db.session.get(Occurrence, payload["occurrence_id"]) if payload.get("occurrence_id") else None
        rsvp_url = f"{base_url}/rsvp/{rsvp_token(meeting, row.recipient)}" if row.method == "REQUEST" else None
        sections = notice_sections(meeting, None, occurrences, person, place=place, rsvp_url=rsvp_url,
                                   attendee_count=payload.get("attendees", 0), issued_at=stamp, places=places,
                                   site_count=site_count, references=references)
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
                                              method=row.method, reply_to=organizer_email,
                                              attachments=attachments if row.method == "REQUEST" else ())
    return messages


def sitting_cancelled_text(sitting):
    """The lines that open the notice of a cancelled sitting: which one, and that the others stay."""
    return (f"Không họp buổi {weekday_vi(sitting.starts_at)} {format_time(sitting.starts_at)} ngày "
            f"{format_date(sitting.starts_at)}; các buổi khác của cuộc họp giữ nguyên.")


def download_calendar(meeting):
    """Return the meeting's .ics for a download: PUBLISH, every sitting, no personal links."""
    _people, endpoints = invitees(meeting)
    occurrences = list(meeting.occurrences)
    sections = notice_sections(meeting, endpoints, occurrences, place=province_name(meeting))
    return ical.publish_calendar(meeting, occurrences, location=site_label(meeting.chair),
                                 description=plain_text(sections))
