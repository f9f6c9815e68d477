"""Answers given with the calendar's own buttons: iTIP REPLY mails (RFC 5546 §3.2.3, iMIP RFC 6047) read over IMAP.

Every invite names the system mailbox (MAIL_FROM) as its ORGANIZER, so
Outlook's, Gmail's and Thunderbird's Accept / Tentative / Decline send a
METHOD:REPLY mail there. With IMAP_URL set, the worker's tick reads that
mailbox: it finds the calendar in each mail (a text/calendar part or an .ics
attachment, whatever its charset and transfer encoding), hands each REPLY to
`service.apply_reply` (the RSVP link's rules, written once), commits, and
only then files the mail away from the folder it reads:

- `vmeeting/processed`: the answer was counted (or was already on record);
- `vmeeting/rejected`: a REPLY that changes nothing (a forged sender, an
  unknown UID, an older SEQUENCE, one sitting of a series, a meeting over);
- `vmeeting/unusable`: no REPLY in it (a bounce, an out-of-office, a broken
  calendar), kept for a person to read.

A crash between the commit and the move reads the mail again next time,
and the same answer again changes nothing; nothing is held in memory.
"""

import email.utils
import imaplib
import logging
import re
import ssl
from dataclasses import dataclass
from datetime import datetime, timezone
from urllib.parse import unquote, urlsplit

import icalendar
from flask import current_app
from imap_tools import MailBox, MailBoxStartTls, MailBoxUnencrypted
from imap_tools.errors import ImapToolsError

from vmeeting.core.database import write_intent
from vmeeting.core.extensions import db
from vmeeting.invites import service

log = logging.getLogger(__name__)

#: scheme: (default port, how the connection is secured)
SCHEMES = {"imaps": (993, "tls"), "imap+starttls": (143, "starttls"), "imap": (143, None)}
IMAP_TIMEOUT_SECONDS = 30
#: mails read per tick; the rest wait a minute
BATCH_SIZE = 200
#: where read mail goes, under a top-level folder of this name
FOLDER_ROOT = "vmeeting"
PROCESSED, REJECTED, UNUSABLE = "processed", "rejected", "unusable"
#: what a calendar may travel as: Outlook and Gmail send text/calendar, Gmail and Thunderbird add application/ics
CALENDAR_TYPES = ("text/calendar", "application/ics", "text/x-vcalendar", "application/x-ics")
#: errors that mean the mailbox cannot be read now; the tick tries again later
UNREACHABLE = (OSError, imaplib.IMAP4.error, ImapToolsError)


@dataclass(frozen=True)
class ImapSettings:
    """Where and how to read replies: parsed from IMAP_URL."""

    host: str
    port: int
    security: str | None
    username: str
    password: str
    folder: str


def parse_imap_url(url):
    """Parse imaps://user:pass@host[:port]/FOLDER, imap+starttls://… or imap://…; raise ValueError otherwise.

    The folder defaults to INBOX; user, password and folder may be %-encoded.
    """
    parts = urlsplit(url or "")
    if parts.scheme not in SCHEMES or not parts.hostname or not parts.username:
        raise ValueError("IMAP_URL must look like imaps://user:pass@host[:port]/FOLDER, imap+starttls://… or imap://…")
    port, security = SCHEMES[parts.scheme]
    return ImapSettings(parts.hostname, parts.port or port, security, unquote(parts.username),
                        unquote(parts.password or ""), unquote(parts.path.lstrip("/")) or "INBOX")


# -- reading one mail -----------------------------------------------------------------------


@dataclass(frozen=True)
class Reply:
    """One attendee's answer as a REPLY's VEVENT states it."""

    uid: str
    attendee: str
    partstat: str
    sequence: int
    stamp: datetime | None
    recurrence_id: object = None
    comment: str = ""


def sender_of(message):
    """Return the lower-case address in the mail's From, or ''."""
    addresses = email.utils.getaddresses([str(v) for v in message.get_all("From", [])])
    return next((address.strip().lower() for _name, address in addresses if "@" in address), "")


def _calendar_texts(message):
    """Yield the text of each part that may hold a calendar, the body's text/calendar parts first."""
    inline, attached = [], []
    for part in message.walk():
        if part.is_multipart():
            continue
        filename = (part.get_filename() or "").lower()
        if part.get_content_type() not in CALENDAR_TYPES and not filename.endswith(".ics"):
            continue
        (attached if part.get_content_disposition() == "attachment" else inline).append(part)
    for part in inline + attached:
        payload = part.get_payload(decode=True) or b""
        try:
            yield payload.decode(part.get_content_charset() or "utf-8")
        except (LookupError, UnicodeDecodeError):
            yield payload.decode("utf-8", errors="replace")


def _utc(value):
    if not isinstance(value, datetime):
        return None
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def _address(value):
    return str(value).strip().removeprefix("mailto:").removeprefix("MAILTO:").strip().lower()


def _reply_of(event, sender):
    """Return the Reply a VEVENT states, answering for the ATTENDEE that sent it when it lists several."""
    attendees = event.get("ATTENDEE") or []
    attendees = attendees if isinstance(attendees, list) else [attendees]
    if not attendees:
        return None
    attendee = next((a for a in attendees if _address(a) == sender), attendees[0])
    comment = event.get("COMMENT") or ""
    comment = " ".join(str(c) for c in comment) if isinstance(comment, list) else str(comment)
    try:
        sequence = int(str(event.get("SEQUENCE", 0)).strip())
    except ValueError:
        sequence = -1
    try:
        stamp = _utc(event.decoded("DTSTAMP")) if "DTSTAMP" in event else None
    except (ValueError, TypeError):
        stamp = None
    return Reply(uid=str(event.get("UID", "")).strip(), attendee=_address(attendee),
                 partstat=str(attendee.params.get("PARTSTAT", "NEEDS-ACTION")).upper(), sequence=sequence,
                 stamp=stamp, recurrence_id=event.get("RECURRENCE-ID"), comment=comment.strip())


def replies_in(message):
    """Return the Replies of the first METHOD:REPLY calendar in a mail; [] when it has none.

    A REPLY for a whole series answers with its master VEVENT; the VEVENTs of
    single sittings (RECURRENCE-ID) count only when there is no master.
    """
    sender = sender_of(message)
    for text in _calendar_texts(message):
        try:
            calendar = icalendar.Calendar.from_ical(text)
            if str(calendar.get("METHOD", "")).strip().upper() != "REPLY":
                continue
            events = calendar.walk("VEVENT")
            masters = [e for e in events if "RECURRENCE-ID" not in e]
            replies = [_reply_of(e, sender) for e in (masters or events)]
        except Exception as exc:  # noqa: BLE001 - whatever a sender wrote, one mail must not stop the reader
            log.info("unreadable calendar in a mail from %s: %r", sender, exc)
            continue
        return [r for r in replies if r is not None]
    return []


def judge(message):
    """Apply the REPLY a mail carries and commit; return (folder: PROCESSED/REJECTED/UNUSABLE, [ReplyOutcome]).

    The answers are written under the database's write lock taken up front (as a
    web request does), one transaction per mail.
    """
    replies = replies_in(message)
    if not replies:
        return UNUSABLE, []
    sender = sender_of(message)
    db.session.commit()  # end any read transaction: the next one begins with the write lock
    token = write_intent.set(True)
    try:
        outcomes = [service.apply_reply(uid=r.uid, attendee=r.attendee, sender=sender, partstat=r.partstat,
                                        sequence=r.sequence, stamp=r.stamp, recurrence_id=r.recurrence_id,
                                        comment=r.comment) for r in replies]
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    finally:
        write_intent.reset(token)
    counted = any(not o.is_rejected for o in outcomes)
    return (PROCESSED if counted else REJECTED), outcomes


# -- the mailbox ----------------------------------------------------------------------------


def _connect(settings):
    if settings.security == "tls":
        return MailBox(settings.host, settings.port, timeout=IMAP_TIMEOUT_SECONDS,
                       ssl_context=ssl.create_default_context())
    if settings.security == "starttls":
        return MailBoxStartTls(settings.host, settings.port, timeout=IMAP_TIMEOUT_SECONDS,
                               ssl_context=ssl.create_default_context())
    return MailBoxUnencrypted(settings.host, settings.port, timeout=IMAP_TIMEOUT_SECONDS)


_NAMESPACE = re.compile(r'^\(\("([^"]*)" (?:"((?:\\.|[^"])*)"|NIL)\)')


def _folder_names(mailbox):
    """Return {PROCESSED/REJECTED/UNUSABLE: folder name}, created and subscribed where missing.

    The names follow the server's personal namespace (RFC 2342): "vmeeting/processed"
    on Dovecot, "INBOX.vmeeting.processed" on a server that keeps folders under INBOX.
    """
    prefix, delimiter = "", None
    if "NAMESPACE" in mailbox.client.capabilities:
        typ, data = mailbox.client.namespace()
        found = _NAMESPACE.match(data[0].decode("utf-8", "replace")) if typ == "OK" and data and data[0] else None
        if found:
            prefix, delimiter = found.group(1), (found.group(2) or "").replace("\\", "") or None
    if delimiter is None:
        listed = mailbox.folder.list("", "INBOX")
        delimiter = (listed[0].delim if listed else "") or "/"
    names = {}
    for kind in (PROCESSED, REJECTED, UNUSABLE):
        names[kind] = name = f"{prefix}{FOLDER_ROOT}{delimiter}{kind}"
        if not mailbox.folder.exists(name):
            mailbox.folder.create(name)
            mailbox.folder.subscribe(name, True)
    return names


def _login(settings):
    mailbox = _connect(settings)
    try:
        if (settings.username + settings.password).isascii():
            mailbox.login(settings.username, settings.password, initial_folder=None)
        else:  # LOGIN's quoted strings are ASCII; SASL PLAIN carries UTF-8
            mailbox.login_utf8(settings.username, settings.password, initial_folder=None)
    except Exception:
        mailbox.client.shutdown()
        raise
    # the capabilities after sign-in (MOVE among them) are not those of the greeting
    typ, data = mailbox.client.capability()
    if typ == "OK" and data:
        mailbox.client.capabilities = tuple(data[-1].decode("ascii", "replace").upper().split())
    return mailbox


def read_replies(limit=BATCH_SIZE):
    """Read the REPLY mails waiting in IMAP_URL's folder, count the valid ones, file every mail read.

    Return {PROCESSED: n, REJECTED: n, UNUSABLE: n}, or None without IMAP_URL,
    with an IMAP_URL that cannot be read, or with the mailbox unreachable
    (each logged; the next tick tries again).
    """
    url = current_app.config.get("IMAP_URL")
    if not url:
        return None
    try:
        settings = parse_imap_url(url)
    except ValueError as exc:
        log.error("replies are not read: %s", exc)
        return None
    filed = {PROCESSED: [], REJECTED: [], UNUSABLE: []}
    try:
        with _login(settings) as mailbox:
            folders = _folder_names(mailbox)
            mailbox.folder.set(settings.folder)
            try:
                for mail in mailbox.fetch("UNDELETED", mark_seen=False, limit=limit, bulk=50):
                    where, outcomes = judge(mail.obj)
                    for outcome in outcomes:
                        log.info("iTIP REPLY from %s (%s): %s %s", sender_of(mail.obj), mail.subject,
                                 outcome.status, outcome.reason)
                    if where == UNUSABLE:
                        log.info("mail from %s (%s) holds no iTIP REPLY", sender_of(mail.obj), mail.subject)
                    filed[where].append(mail.uid)
            finally:
                # what was judged and committed leaves the folder even when a later mail failed
                for where, uids in filed.items():
                    mailbox.move(uids, folders[where])
    except UNREACHABLE as exc:
        log.warning("cannot read replies from IMAP %s:%s: %s", settings.host, settings.port, exc)
        return None
    return {where: len(uids) for where, uids in filed.items()}
