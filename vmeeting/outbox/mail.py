"""Mail as it goes over the wire: MIME building that knows no meeting, SMTP_URL, one SMTP session.

Capabilities build their own kinds of message from these pieces (invites: the
iMIP mail with its calendar, RFC 6047); the outbox sends whatever they built.
"""

import hashlib
import smtplib
import ssl
from dataclasses import dataclass
from email.charset import BASE64, QP, Charset
from email.encoders import encode_base64
from email.header import Header
from email.headerregistry import Address
from email.mime.base import MIMEBase
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.policy import compat32
from email.utils import format_datetime, formataddr
from urllib.parse import unquote, urlsplit

from flask import current_app

from vmeeting.core.database import utcnow

SCHEMES = {"smtp": (25, False, False), "smtps": (465, True, False), "smtp+starttls": (587, False, True)}
SMTP_TIMEOUT_SECONDS = 30


def _mailbox(name, email, header_name):
    """Return a mailbox for a header: an ASCII name quoted where needed; any other name
    as encoded words of at most 75 characters each (RFC 2047), so a long site name folds."""
    if not name:
        return email
    if name.isascii():
        return formataddr((name, email))
    mailbox = Header(name, TEXT_CHARSET, header_name=header_name)
    mailbox.append(f"<{email}>", "us-ascii")
    return mailbox


def message_id(key):
    """Return a Message-ID that is the same for every delivery of one outbox row, so receivers can drop a repeat."""
    domain = current_app.config["MAIL_FROM"].rpartition("@")[2] or "vmeeting"
    return f"<{hashlib.sha256(key.encode()).hexdigest()[:32]}@{domain}>"


def _utf8(body_encoding):
    charset = Charset("utf-8")
    charset.header_encoding = BASE64
    charset.body_encoding = body_encoding
    return charset


# The classic MIME classes (policy compat32) build a mail about five times faster than
# EmailMessage, whose header objects parse and refold every header: a national booking
# has the worker build thousands of mails. Every header is set here already
# encoded, so nothing depends on the policy's folding.
TEXT_CHARSET = _utf8(QP)
#: CRLF line ends; headers folded at 76, which keeps each encoded word within RFC 2047's 75 characters
HEADER_WIDTH = 76
WIRE = compat32.clone(linesep="\r\n", max_line_length=HEADER_WIDTH)


def headers(msg, *, key, recipient, recipient_name, subject, reply_to):
    """Set a message's headers, each already encoded; its Message-ID follows from key (`message_id`)."""
    msg["Subject"] = Header(subject, TEXT_CHARSET, header_name="Subject")
    msg["From"] = _mailbox("Hệ thống họp trực tuyến", current_app.config["MAIL_FROM"], "From")
    msg["To"] = _mailbox(recipient_name, recipient, "To")
    if reply_to:
        msg["Reply-To"] = reply_to
    msg["Date"] = format_datetime(utcnow())
    msg["Message-ID"] = message_id(key)
    msg["Auto-Submitted"] = "auto-generated"
    msg["MIME-Version"] = "1.0"
    return msg


def text_part(body, subtype):
    """Return a text part (plain or html), UTF-8 quoted-printable."""
    part = MIMEText(body, subtype, TEXT_CHARSET)
    del part["MIME-Version"]
    return part


def attachment_part(payload, maintype, subtype, method=None, filename=None):
    """Return a base64 part: inline with its iTIP method (text/calendar), or an attachment when filename is given."""
    part = MIMEBase(maintype, subtype, **({"method": method, "charset": "UTF-8"} if method else {}))
    del part["MIME-Version"]
    part.set_payload(payload)
    encode_base64(part)
    if filename:
        part.add_header("Content-Disposition", "attachment", filename=filename)
    return part


def alternative(*parts):
    """Return a multipart/alternative of the parts, the richest last."""
    container = MIMEMultipart("alternative", _subparts=parts)
    del container["MIME-Version"]
    return container


def mixed(*parts):
    """Return a multipart/mixed of the parts: the body, then attachments."""
    container = MIMEMultipart("mixed", _subparts=parts)
    del container["MIME-Version"]
    return container


def wire_text(msg):
    """Return a finished message as the 7-bit text that goes over the wire (CRLF, folded headers)."""
    return msg.as_string(maxheaderlen=HEADER_WIDTH, policy=WIRE)


def build_plain_message(*, key, recipient, recipient_name, subject, text, html=None, reply_to=None):
    """Return a mail without a calendar as 7-bit text: plain, or alternative (plain, HTML) when html is given."""
    msg = alternative(text_part(text, "plain"), text_part(html, "html")) if html else text_part(text, "plain")
    headers(msg, key=key, recipient=recipient, recipient_name=recipient_name, subject=subject, reply_to=reply_to)
    return wire_text(msg)


@dataclass(frozen=True)
class SmtpSettings:
    """Where and how to send: parsed from SMTP_URL."""

    host: str
    port: int
    use_ssl: bool
    use_starttls: bool
    username: str | None
    password: str | None


def parse_smtp_url(url):
    """Parse smtp://user:pass@host:port, smtps://… or smtp+starttls://…; raise ValueError otherwise."""
    parts = urlsplit(url)
    if parts.scheme not in SCHEMES or not parts.hostname:
        raise ValueError("SMTP_URL must look like smtp://user:pass@host:port, smtps://… or smtp+starttls://…")
    port, use_ssl, use_starttls = SCHEMES[parts.scheme]
    return SmtpSettings(parts.hostname, parts.port or port, use_ssl, use_starttls,
                        unquote(parts.username) if parts.username else None,
                        unquote(parts.password) if parts.password else None)


class PermanentFailure(Exception):
    """The server refused this mail for good (a 5xx answer): retrying will not help."""


class SmtpConnection:
    """One SMTP session for a batch of mails; a context manager."""

    def __init__(self, settings):
        self.settings = settings
        self.client = None

    def __enter__(self):
        s = self.settings
        if s.use_ssl:
            self.client = smtplib.SMTP_SSL(s.host, s.port, timeout=SMTP_TIMEOUT_SECONDS,
                                           context=ssl.create_default_context())
        else:
            self.client = smtplib.SMTP(s.host, s.port, timeout=SMTP_TIMEOUT_SECONDS)
        try:
            if s.use_starttls:
                self.client.starttls(context=ssl.create_default_context())
            if s.username:
                self.client.login(s.username, s.password or "")
        except Exception:
            self.close()
            raise
        return self

    def send(self, sender, recipient, message):
        """Send one message; raise PermanentFailure on a 5xx refusal, other errors are worth a retry."""
        try:
            refused = self.client.sendmail(sender, [recipient], message.encode("ascii"))
        except smtplib.SMTPRecipientsRefused as exc:
            code, reason = next(iter(exc.recipients.values()))
            raise (PermanentFailure if code >= 500 else smtplib.SMTPResponseException)(
                code, reason.decode(errors="replace") if isinstance(reason, bytes) else reason) from exc
        except (smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as exc:
            if exc.smtp_code >= 500:
                raise PermanentFailure(exc.smtp_code, exc.smtp_error.decode(errors="replace")) from exc
            raise
        if refused:
            raise PermanentFailure(str(refused))

    def close(self):
        if self.client is not None:
            try:
                self.client.quit()
            except (smtplib.SMTPException, OSError):
                self.client.close()
            self.client = None

    def __exit__(self, *exc_info):
        self.close()


def sender_address():
    """Return the envelope sender: MAIL_FROM."""
    return Address(addr_spec=current_app.config["MAIL_FROM"]).addr_spec
