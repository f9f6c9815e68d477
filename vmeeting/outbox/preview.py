"""A stored mail as its reader sees it: headers decoded, the text and HTML parts, the event summarised.

The outbox keeps each mail as it goes over the wire (7-bit MIME, quoted-printable
Vietnamese, a base64 calendar). The outbox page shows it read back here. A mail
may carry a link that is a credential (an invite's RSVP link answers in the
recipient's name): the capability that writes such links registers their
pattern (`register_secret_link`), and `read_mail` blanks them out, in every
part and in the source, unless the viewer may see them (administrators).
"""

import email
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from email.encoders import encode_base64
from email.header import decode_header, make_header

import icalendar

from vmeeting.core.hooks import Hook
from vmeeting.outbox.mail import HEADER_WIDTH, TEXT_CHARSET, WIRE

#: patterns of credential links: group 1 is the part kept (the path), the rest is blanked out
SECRET_LINKS = Hook("outbox.secret_links")
HIDDEN_TOKEN = r"\1[...]"  # ASCII: the source shows it as such in a quoted-printable part
SHOWN_HEADERS = ("From", "To", "Reply-To", "Subject", "Date", "Message-ID")


@dataclass
class EventView:
    """One VEVENT of an invite, as a person reads it."""

    summary: str
    status: str
    starts_at: datetime | None
    ends_at: datetime | None
    location: str
    sequence: int
    #: the RRULE as written, for a series
    rule: str = ""
    #: for one sitting of a series: the start the rule gave it (RECURRENCE-ID)
    recurrence_id: datetime | None = None
    excluded: list = field(default_factory=list)
    attendees: list = field(default_factory=list)


@dataclass
class MailView:
    """A stored mail read back: its headers, text, HTML and calendar, and its source."""

    headers: list
    text: str
    html: str | None
    method: str | None
    events: list
    source: str


def register_secret_link(app, pattern):
    """Have every mail view of app blank out what `pattern` (a re.Pattern) matches after its group 1.

    A capability whose mails carry credential links calls it from its init_app.
    """
    SECRET_LINKS.connect(app, pattern)


def hide_secret_links(text):
    """Return text with every registered credential link's token blanked out."""
    for pattern in SECRET_LINKS:
        text = pattern.sub(HIDDEN_TOKEN, text)
    return text


def read_mail(message_text, *, show_secrets=False):
    """Return the MailView of a stored message; without show_secrets the credential links are blanked everywhere."""
    message = email.message_from_string(message_text)
    if not show_secrets:
        _hide_in_parts(message)
    headers = [(name, str(make_header(decode_header(message[name])))) for name in SHOWN_HEADERS if message[name]]
    text, html, calendar = "", None, None
    for part in message.walk():
        if part.is_multipart() or part.get_filename():
            continue
        kind = part.get_content_type()
        if kind == "text/plain" and not text:
            text = _decoded(part)
        elif kind == "text/html" and html is None:
            html = _decoded(part)
        elif kind == "text/calendar" and calendar is None:
            calendar = _decoded(part)
    method, events = _summarise(calendar) if calendar else (None, [])
    source = message.as_string(maxheaderlen=HEADER_WIDTH, policy=WIRE) if not show_secrets else message_text
    return MailView(headers=headers, text=text, html=html, method=method, events=events, source=source)


def _decoded(part):
    return part.get_payload(decode=True).decode(part.get_content_charset() or "utf-8", errors="replace")


def _hide_in_parts(message):
    """Blank the credential links inside every leaf part, encoded again as it was (quoted-printable or base64)."""
    for part in message.walk():
        if part.is_multipart() or part.get_content_maintype() not in ("text", "application"):
            continue
        original = _decoded(part)
        hidden = hide_secret_links(original)
        if hidden == original:
            continue
        encoding = (part["Content-Transfer-Encoding"] or "").lower()
        del part["Content-Transfer-Encoding"]
        if encoding == "base64":
            part.set_payload(hidden.encode("utf-8"))
            encode_base64(part)
        else:
            part.set_payload(TEXT_CHARSET.body_encode(hidden))
            part["Content-Transfer-Encoding"] = "quoted-printable"


def _instant(prop):
    if prop is None:
        return None
    value = prop.dt
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=timezone.utc)
    return None


def _summarise(calendar_text):
    """Return (METHOD, [EventView]) of a calendar; an unreadable one summarises to nothing."""
    try:
        cal = icalendar.Calendar.from_ical(calendar_text)
    except ValueError:
        return None, []
    events = []
    for event in cal.walk("VEVENT"):
        excluded = event.get("EXDATE") or []
        excluded = excluded if isinstance(excluded, list) else [excluded]
        attendees = event.get("ATTENDEE") or []
        attendees = attendees if isinstance(attendees, list) else [attendees]
        events.append(EventView(
            summary=str(event.get("SUMMARY", "")), status=str(event.get("STATUS", "")),
            starts_at=_instant(event.get("DTSTART")), ends_at=_instant(event.get("DTEND")),
            location=str(event.get("LOCATION", "")), sequence=int(event.get("SEQUENCE", 0)),
            rule=event["RRULE"].to_ical().decode() if "RRULE" in event else "",
            recurrence_id=_instant(event.get("RECURRENCE-ID")),
            excluded=[_instant(d) for exdate in excluded for d in exdate.dts],
            attendees=[str(a).removeprefix("mailto:") for a in attendees],
        ))
    return (str(cal["METHOD"]) if "METHOD" in cal else None), events
