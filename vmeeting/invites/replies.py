"""Answers given with the calendar's own buttons: iTIP mails (RFC 5546 §3.2, iMIP RFC 6047) read over IMAP.

Every invite names as its ORGANIZER the system mailbox (MAIL_FROM) with a
token of its recipient (invites.itip), so Outlook's, Gmail's, Thunderbird's
and Apple Calendar's Accept / Tentative / Decline send a METHOD:REPLY mail
there. With IMAP_URL set, the worker's tick reads that mailbox: it looks at
each mail's RFC822.SIZE first and refuses one over REPLY_MAX_BYTES unread;
it finds the calendar in the others (a text/calendar part or an .ics
attachment, whatever its charset and transfer encoding), judges each REPLY,
REFRESH and COUNTER in it (invites.itip), commits, and only then files the
mail away from the folder it reads:

- `vmeeting/processed`: something in it counted (or was already on record);
- `vmeeting/rejected`: an iTIP message that changes nothing (an unproven
  sender, a From of several addresses, an unknown UID, a version never sent
  or superseded, a COUNTER, a meeting over, a mail too large);
- `vmeeting/unusable`: no iTIP message in it (a bounce, an out-of-office, a
  broken calendar), kept for a person to read.

What was rejected or unusable is also written down with the reason
(RefusedReply), for the booker and admins to read on the meeting page and
at /invites/refused-replies. A crash between the commit and the move reads
the mail again next time, and the same answer again changes nothing (nor is
the refusal written twice); nothing is held in memory.
"""

import email
import email.utils
import hashlib
import imaplib
import logging
import re
import ssl
from dataclasses import dataclass
from datetime import datetime, timezone
from urllib.parse import unquote, urlsplit

import icalendar
import sqlalchemy as sa
from flask import current_app
from imap_tools import MailBox, MailBoxStartTls, MailBoxUnencrypted
from imap_tools.errors import ImapToolsError

from vmeeting.core.database import utcnow, write_intent
from vmeeting.core.extensions import db
from vmeeting.core.text import N_, Sentence, say
from vmeeting.invites import itip
from vmeeting.invites.models import RefusedReply

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


#: the iTIP methods an attendee sends the organizer that this reader judges (RFC 5546 §1.4)
METHODS = ("REPLY", "REFRESH", "COUNTER")


@dataclass(frozen=True)
class ItipItem:
    """One attendee's message as a VEVENT of a REPLY, REFRESH or COUNTER states it.

    recurrence_id: the sitting's original start (aware datetime, naive =
    floating, or a date), None for the whole meeting. partstat: upper-case.
    comment: COMMENT, or Google's X-RESPONSE-COMMENT on the ATTENDEE.
    delegated_to / delegated_from: the addresses of DELEGATED-TO /
    DELEGATED-FROM (RFC 5545 §3.2.4, 3.2.5), lower-case, '' when absent.
    """

    method: str
    uid: str
    attendee: str
    partstat: str
    sequence: int
    stamp: datetime | None
    recurrence_id: object = None
    comment: str = ""
    delegated_to: str = ""
    delegated_from: str = ""


#: what callers knew as a REPLY's item
Reply = ItipItem


def senders_of(message):
    """Return the lower-case addresses in the mail's From headers (every one of them)."""
    addresses = email.utils.getaddresses([str(v) for v in message.get_all("From", [])])
    return [address.strip().lower() for _name, address in addresses if "@" in address]


def sender_of(message):
    """Return the lower-case address in the mail's From, or ''."""
    return next(iter(senders_of(message)), "")


#: the headers that may name the address a mail was sent to (the last three are written by the receiving server)
RECIPIENT_HEADERS = ("To", "Cc", "Delivered-To", "X-Original-To", "Envelope-To")


def recipients_of(message):
    """Return the addresses the mail names as its recipients (To, Cc and the receiving server's headers)."""
    values = [str(v) for header in RECIPIENT_HEADERS for v in message.get_all(header, [])]
    return [address for _name, address in email.utils.getaddresses(values) if "@" in address]


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


def _param_address(attendee, name):
    """The first address of a DELEGATED-TO / DELEGATED-FROM parameter, lower-case, or ''."""
    value = attendee.params.get(name)
    if not value:
        return ""
    value = value[0] if isinstance(value, list) else str(value).split(",")[0]
    return _address(str(value).strip().strip('"'))


def _text(value):
    return " ".join(str(c) for c in value) if isinstance(value, list) else str(value or "")


def _items_of(method, event):
    """Return the ItipItems a VEVENT states: one per ATTENDEE that answers (not NEEDS-ACTION), any one for a
    REFRESH or COUNTER."""
    attendees = event.get("ATTENDEE") or []
    attendees = attendees if isinstance(attendees, list) else [attendees]
    if method == "REPLY":
        answering = [a for a in attendees if str(a.params.get("PARTSTAT", "NEEDS-ACTION")).upper() != "NEEDS-ACTION"]
        attendees = answering or attendees[:1]
    else:
        attendees = attendees[:1]
    try:
        sequence = int(str(event.get("SEQUENCE", 0)).strip())
    except ValueError:
        sequence = -1
    try:
        stamp = _utc(event.decoded("DTSTAMP")) if "DTSTAMP" in event else None
    except (ValueError, TypeError):
        stamp = None
    recurrence = event.get("RECURRENCE-ID")
    recurrence_id = getattr(recurrence, "dt", None) if recurrence is not None else None
    comment = _text(event.get("COMMENT")).strip()
    items = []
    for attendee in attendees:
        note = _text(attendee.params.get("X-RESPONSE-COMMENT", "")).strip().strip('"')
        items.append(ItipItem(method=method, uid=str(event.get("UID", "")).strip(), attendee=_address(attendee),
                              partstat=str(attendee.params.get("PARTSTAT", "NEEDS-ACTION")).upper(),
                              sequence=sequence, stamp=stamp, recurrence_id=recurrence_id,
                              comment=note or comment, delegated_to=_param_address(attendee, "DELEGATED-TO"),
                              delegated_from=_param_address(attendee, "DELEGATED-FROM")))
    return items


def itip_items(message):
    """Return the ItipItems of the first REPLY, REFRESH or COUNTER calendar in a mail; [] when it has none.

    Every VEVENT counts: a REPLY's master answers the whole meeting and each
    VEVENT with a RECURRENCE-ID its sitting (Apple's mixed reply: the series
    accepted and one sitting declined, in one VCALENDAR), the master first.
    """
    for text in _calendar_texts(message):
        try:
            calendar = icalendar.Calendar.from_ical(text)
            method = str(calendar.get("METHOD", "")).strip().upper()
            if method not in METHODS:
                continue
            events = sorted(calendar.walk("VEVENT"), key=lambda e: "RECURRENCE-ID" in e)
            items = [item for event in events for item in _items_of(method, event)]
        except Exception as exc:  # noqa: BLE001 - whatever a sender wrote, one mail must not stop the reader
            log.info("unreadable calendar in a mail from %s: %r", sender_of(message), exc)
            continue
        if items:
            return items
    return []


def replies_in(message):
    """Return the REPLY items of a mail (`itip_items`, method REPLY only)."""
    return [item for item in itip_items(message) if item.method == "REPLY"]


def _mail_id(message):
    """What names a mail across readings: its Message-ID, else a digest of its headers."""
    message_id = str(message.get("Message-ID", "") or "").strip()
    if message_id:
        return message_id
    return hashlib.sha256(repr([(k, str(v)) for k, v in message.items()]).encode("utf-8", "replace")).hexdigest()


def _mail_key(mail_id, item=None):
    """The key of one refusal: the mail and the attendee's component."""
    basis = mail_id
    part = "" if item is None else f"{item.method}\n{item.attendee}\n{item.recurrence_id}"
    return hashlib.sha256(f"{basis}\n{part}".encode()).hexdigest()


def record_refusal(*, kind, reason, key, meeting_id=None, method="", sender="", attendee="", subject=""):
    """Write down a mail that changed nothing, once per key; flushes."""
    if db.session.scalar(sa.select(RefusedReply.id).where(RefusedReply.key == key)) is not None:
        return
    msgid, params = (reason.msgid, reason.params) if isinstance(reason, Sentence) else (str(reason), None)
    db.session.add(RefusedReply(key=key, meeting_id=meeting_id, kind=kind, method=method[:20], sender=sender[:500],
                                attendee=attendee[:254], subject=subject[:400], reason=msgid[:500],
                                reason_params=params, received_at=utcnow()))
    db.session.flush()


#: why a From of several addresses is refused
SEVERAL_SENDERS = N_("Thư có nhiều địa chỉ người gửi (From): không rõ ai trả lời.")
NO_ITIP = N_("Thư không chứa trả lời lịch (iTIP REPLY, REFRESH hoặc COUNTER) đọc được.")


def _judge_item(item, tokens, marker):
    if item.method == "COUNTER":
        return itip.refuse_counter(item)
    if item.method == "REFRESH":
        return itip.apply_refresh(item, tokens, marker)
    return itip.apply_reply(item, tokens)


def judge(message):
    """Judge the iTIP messages a mail carries and commit; return (folder: PROCESSED/REJECTED/UNUSABLE,
    [itip.ReplyOutcome]).

    Written under the database's write lock taken up front (as a web request
    does), one transaction per mail, with the refusals (RefusedReply).
    """
    items = itip_items(message)
    senders = senders_of(message)
    headers = {"sender": ", ".join(senders)[:500], "subject": str(message.get("Subject", "") or "")}
    mail_id = _mail_id(message)
    db.session.commit()  # end any read transaction: the next one begins with the write lock
    token = write_intent.set(True)
    try:
        if not items:
            record_refusal(kind=UNUSABLE, reason=NO_ITIP, key=_mail_key(mail_id), **headers)
            db.session.commit()
            return UNUSABLE, []
        if len(senders) > 1:
            outcomes = [itip.ReplyOutcome("rejected", SEVERAL_SENDERS, attendee=i.attendee, method=i.method)
                        for i in items]
        else:
            tokens = itip.tokens_in([*recipients_of(message), *_organizers_of(message)])
            marker = hashlib.sha256(mail_id.encode()).hexdigest()[:12]
            outcomes = [_judge_item(item, tokens, marker) for item in items]
        for item, outcome in zip(items, outcomes):
            if outcome.is_rejected:
                meeting_id = outcome.meeting_id if outcome.meeting_id is not None else _meeting_id(item.uid)
                record_refusal(kind=REJECTED, reason=outcome.reason, key=_mail_key(mail_id, item),
                               meeting_id=meeting_id, method=item.method, attendee=item.attendee, **headers)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    finally:
        write_intent.reset(token)
    counted = any(not o.is_rejected for o in outcomes)
    return (PROCESSED if counted else REJECTED), outcomes


def _meeting_id(uid):
    from vmeeting.booking.models import Meeting  # noqa: PLC0415 - only for a refusal without its meeting
    return db.session.scalar(sa.select(Meeting.id).where(Meeting.uid == uid)) if uid else None


def _organizers_of(message):
    """The ORGANIZER addresses written in the mail's calendars (Gmail and Thunderbird repeat it)."""
    found = []
    for text in _calendar_texts(message):
        try:
            calendar = icalendar.Calendar.from_ical(text)
        except Exception:  # noqa: BLE001 - a broken part: itip_items said so already
            continue
        found += [_address(event.get("ORGANIZER")) for event in calendar.walk("VEVENT") if event.get("ORGANIZER")]
    return found


def refuse_oversized(message, size, limit):
    """Write down a mail refused unread for its size (only its headers were fetched); commit."""
    token = write_intent.set(True)
    db.session.commit()
    try:
        record_refusal(kind=REJECTED, reason=say("Thư quá lớn (%(size)s byte, giới hạn %(limit)s): không đọc.",
                                                 size=size, limit=limit),
                       key=_mail_key(_mail_id(message)), sender=", ".join(senders_of(message)),
                       subject=str(message.get("Subject", "") or ""))
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    finally:
        write_intent.reset(token)


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


#: what one mail's own content can raise while it is parsed (a MIME tree nested a thousand deep: RecursionError)
#: or judged (a value the database refuses): that mail is filed unusable, the others are read
MAIL_FAULTS = (RecursionError, ValueError, LookupError, TypeError, AttributeError, sa.exc.DataError)


def _judge_all(mailbox, settings, wanted, filed):
    """Judge the wanted mails, fetched 50 at a time; should one fail to parse or be judged (MAIL_FAULTS), the
    rest are fetched one by one and the failing one filed unusable with its reason (never read again and
    again, stopping those behind it)."""
    def judge_one(mail):
        where, outcomes = judge(mail.obj)
        for outcome in outcomes:
            log.info("iTIP %s from %s (%s): %s %s", outcome.method, sender_of(mail.obj), mail.subject,
                     outcome.status, outcome.reason)
        filed[where].append(mail.uid)
    try:
        for mail in (mailbox.fetch(uid_list=wanted, mark_seen=False, bulk=50) if wanted else ()):
            judge_one(mail)
    except MAIL_FAULTS:
        db.session.rollback()
        for uid in [uid for uid in wanted if all(uid not in uids for uids in filed.values())]:
            try:
                for mail in mailbox.fetch(uid_list=[uid], mark_seen=False):
                    judge_one(mail)
            except MAIL_FAULTS as exc:
                db.session.rollback()
                log.warning("mail %s of IMAP %s could not be read: %r", uid, settings.folder, exc)
                token = write_intent.set(True)
                try:
                    record_refusal(kind=UNUSABLE, reason=say("Thư không đọc được (%(error)s).",
                                                             error=type(exc).__name__),
                                   key=_mail_key(f"imap:{settings.host}:{settings.folder}:{uid}"))
                    db.session.commit()
                finally:
                    write_intent.reset(token)
                filed[UNUSABLE].append(uid)


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
    size_limit = current_app.config.get("REPLY_MAX_BYTES") or 1_000_000
    try:
        with _login(settings) as mailbox:
            folders = _folder_names(mailbox)
            mailbox.folder.set(settings.folder)
            try:
                # the headers and RFC822.SIZE first: a mail over the limit is never fetched whole
                heads = list(mailbox.fetch("UNDELETED", mark_seen=False, limit=limit, bulk=50, headers_only=True))
                wanted = []
                for head in heads:
                    if head.size_rfc822 > size_limit:
                        refuse_oversized(head.obj, head.size_rfc822, size_limit)
                        log.info("mail from %s (%s) of %s bytes refused unread", sender_of(head.obj), head.subject,
                                 head.size_rfc822)
                        filed[REJECTED].append(head.uid)
                    else:
                        wanted.append(head.uid)
                _judge_all(mailbox, settings, wanted, filed)
            finally:
                # what was judged and committed leaves the folder even when a later mail failed
                for where, uids in filed.items():
                    if uids:
                        mailbox.move(uids, folders[where])
    except UNREACHABLE as exc:
        log.warning("cannot read replies from IMAP %s:%s: %s", settings.host, settings.port, exc)
        return None
    return {where: len(uids) for where, uids in filed.items()}
