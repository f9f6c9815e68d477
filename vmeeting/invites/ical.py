"""iCalendar building (RFC 5545, iTIP RFC 5546): invites, cancellations and feeds.

One UID per meeting (Meeting.uid) and its SEQUENCE; times in the configured
zone with its VTIMEZONE; a series is a master VEVENT (RRULE, EXDATE for
cancelled sittings) plus one VEVENT with RECURRENCE-ID per moved sitting.
"""

from datetime import date, timedelta
from functools import lru_cache

import icalendar
from flask import current_app

from vmeeting.core.database import utcnow
from vmeeting.invites.addresses import reply_address
from vmeeting.invites.notice import PARTICIPANT_LEAD_MINUTES, TECHNICIAN_LEAD_MINUTES, organizer_label, site_label
from vmeeting.core.timefmt import local_zone

PRODID = "-//vmeeting//Hop truc tuyen//VI"


def _calendar(method=None, name=None):
    cal = icalendar.Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    if method:
        cal.add("method", method)
    if name:
        cal.add("x-wr-calname", name)
        cal.add("x-wr-timezone", current_app.config["TIMEZONE"])
    return cal


@lru_cache(maxsize=8)
def _vtimezone(tzid):
    """Return the zone's VTIMEZONE, built once per process: building it walks decades of
    transitions (about 25 ms), which a national booking would otherwise pay once per mail."""
    # A VTIMEZONE from 2000 on keeps the file short; Asia/Ho_Chi_Minh has had one offset since 1975.
    zone = icalendar.Timezone.from_tzid(tzid, first_date=date(2000, 1, 1))
    # icalendar notes the covered years in a COMMENT, which RFC 5545 §3.6.5 does not allow in a
    # VTIMEZONE (libical's strict check flags it)
    zone.pop("COMMENT", None)
    return zone


def _finish(cal):
    cal.subcomponents.insert(0, _vtimezone(current_app.config["TIMEZONE"]))
    return cal.to_ical()


def _local(instant):
    return instant.astimezone(local_zone())


def _address(email, name=None, **params):
    address = icalendar.vCalAddress(f"mailto:{email}")
    if name:
        address.params["CN"] = name
    address.params.update(params)
    return address


def _organizer(meeting, recipient_email=None):
    # The system mailbox, not the clerk's: calendars send their REPLY there, where the worker
    # reads it (IMAP_URL); the mail's Reply-To reaches the clerk. An invite's carries its
    # recipient's token (invites.addresses), which proves who answers.
    email = reply_address(meeting.uid, recipient_email) if recipient_email else current_app.config["MAIL_FROM"]
    return _address(email, organizer_label(meeting))


def _attendee(person, partstat, *, rsvp=True):
    return _address(person.email, person.name or None, CUTYPE="INDIVIDUAL", ROLE="REQ-PARTICIPANT",
                    PARTSTAT=partstat, RSVP="TRUE" if rsvp else "FALSE")


def _alarm(minutes, title):
    alarm = icalendar.Alarm()
    alarm.add("action", "DISPLAY")
    alarm.add("description", title)
    alarm.add("trigger", timedelta(minutes=-minutes))
    return alarm


def _event(meeting, starts_at, ends_at, *, stamp, location, description, status, sequence=None,
           recipient_email=None):
    event = icalendar.Event()
    event.add("uid", meeting.uid)
    event.add("sequence", meeting.sequence if sequence is None else sequence)
    event.add("dtstamp", stamp)
    event.add("dtstart", _local(starts_at))
    event.add("dtend", _local(ends_at))
    event.add("summary", meeting.title)
    event.add("location", location)
    event.add("description", description)
    event.add("status", status)
    event.add("transp", "OPAQUE")
    event.add("class", "PUBLIC")
    event.add("created", meeting.created_at)
    event.add("last-modified", meeting.updated_at or meeting.created_at)
    event.add("organizer", _organizer(meeting, recipient_email))
    # proposals of another time (iTIP COUNTER) are not taken: Outlook then offers no "Propose new time"
    event.add("x-microsoft-disallow-counter", "TRUE")
    return event


def meeting_events(meeting, occurrences, *, location, description, people=(), answers=None, alarm_minutes=None,
                   cancelled=False, stamp=None, sequence=None, recipient_email=None):
    """Return the VEVENTs of a meeting: one for a single meeting; master plus moved sittings for a series.

    people become ATTENDEEs with their PARTSTAT from answers (email → PARTSTAT). sequence: the
    SEQUENCE written, when not the meeting's current one (a mail queued at an earlier change).
    recipient_email: whose invite it is (its ORGANIZER address carries their token); None for a
    feed or a download.
    """
    stamp = stamp or utcnow()
    answers = answers or {}
    status = "CANCELLED" if cancelled else "CONFIRMED"
    occurrences = sorted(occurrences, key=lambda o: o.original_starts_at)

    def dress(event):
        for person in people:
            event.add("attendee", _attendee(person, answers.get(person.email, "NEEDS-ACTION"), rsvp=not cancelled))
        if alarm_minutes and not cancelled:
            event.add_component(_alarm(alarm_minutes, meeting.title))
        return event

    if not meeting.recurrence:
        # normally its one sitting; after a series became a single meeting, the one still scheduled
        scheduled = [o for o in occurrences if o.status == "scheduled"]
        first = (scheduled or occurrences or [meeting])[-1]
        return [dress(_event(meeting, first.starts_at, first.ends_at, stamp=stamp, location=location,
                             description=description, status=status, sequence=sequence,
                             recipient_email=recipient_email))]
    master = _event(meeting, meeting.starts_at, meeting.ends_at, stamp=stamp, location=location,
                    description=description, status=status, sequence=sequence, recipient_email=recipient_email)
    master.add("rrule", icalendar.vRecur.from_ical(meeting.recurrence))
    skipped = [_local(o.original_starts_at) for o in occurrences if o.status == "cancelled"]
    if skipped and not cancelled:
        master.add("exdate", skipped)
    events = [dress(master)]
    if cancelled:
        return events
    for occurrence in occurrences:
        if occurrence.is_moved and occurrence.status == "scheduled":
            moved = _event(meeting, occurrence.starts_at, occurrence.ends_at, stamp=stamp, location=location,
                           description=description, status=status, sequence=sequence,
                           recipient_email=recipient_email)
            moved.add("recurrence-id", _local(occurrence.original_starts_at))
            events.append(dress(moved))
    return events


def invite_calendar(meeting, occurrences, method, recipient, people, *, description, answers=None, stamp=None,
                    sequence=None):
    """Return the iCalendar bytes of an invite (REQUEST) or a cancellation (CANCEL) for one recipient.

    LOCATION is the recipient's own site; a person without a site reads the chair's. sequence: as in
    `meeting_events`.
    """
    location = _location(meeting, recipient)
    lead = TECHNICIAN_LEAD_MINUTES if recipient.is_technician else PARTICIPANT_LEAD_MINUTES
    cal = _calendar(method)
    for event in meeting_events(meeting, occurrences, location=location, description=description, people=people,
                                answers=answers, alarm_minutes=lead, cancelled=method == "CANCEL", stamp=stamp,
                                sequence=sequence, recipient_email=recipient.email):
        cal.add_component(event)
    return _finish(cal)


def sitting_cancel_calendar(meeting, occurrence, recipient, people, *, description, stamp=None, sequence=None):
    """Return the iCalendar bytes of a CANCEL of one sitting of a series, for one recipient.

    RFC 5546 §3.2.5: the VEVENT names the sitting by RECURRENCE-ID, the start the
    series rule gave it (for a moved sitting its original start, not where it
    was moved to), with the series' UID and new SEQUENCE; the other sittings
    stay in the attendee's calendar. DTSTART and DTEND say when it would have
    taken place.
    """
    event = _event(meeting, occurrence.starts_at, occurrence.ends_at, stamp=stamp or utcnow(),
                   location=_location(meeting, recipient), description=description, status="CANCELLED",
                   sequence=sequence, recipient_email=recipient.email)
    event.add("recurrence-id", _local(occurrence.original_starts_at))
    for person in people:
        event.add("attendee", _attendee(person, "NEEDS-ACTION", rsvp=False))
    cal = _calendar("CANCEL")
    cal.add_component(event)
    return _finish(cal)


def _location(meeting, recipient):
    return "; ".join(site_label(e) for e in recipient.sites) or site_label(meeting.chair)


def publish_calendar(meeting, occurrences, *, location, description):
    """Return the iCalendar bytes of a meeting to download and import: PUBLISH, without attendees."""
    cal = _calendar("PUBLISH")
    for event in meeting_events(meeting, occurrences, location=location, description=description,
                                alarm_minutes=PARTICIPANT_LEAD_MINUTES, cancelled=meeting.is_cancelled):
        cal.add_component(event)
    return _finish(cal)


def feed_calendar(name, entries, *, stamp=None):
    """Return the iCalendar bytes of a subscribed feed: entries are (meeting, occurrences, location, description)."""
    cal = _calendar(name=name)
    for meeting, occurrences, location, description in entries:
        for event in meeting_events(meeting, occurrences, location=location, description=description,
                                    alarm_minutes=PARTICIPANT_LEAD_MINUTES, stamp=stamp):
            cal.add_component(event)
    return _finish(cal)
