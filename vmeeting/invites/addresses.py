"""The ORGANIZER address of each invite: MAIL_FROM with a token of its recipient (sub-addressing, RFC 5233).

`local+<token>@domain`: the mail server delivers it to MAIL_FROM's mailbox
(Postfix `recipient_delimiter = +`, Dovecot likewise), and a calendar sends
its answer to it, so the answer proves it came from someone who received
that invite (invites.itip).
"""

import base64
import hashlib
import hmac
import re

from flask import current_app

TOKEN_SALT = b"invites.reply-address"
#: characters of the token: lower-case base32 (a-z, 2-7), so a calendar that changes the address' case keeps it
TOKEN_LENGTH = 16
#: the token in a mail as written (a calendar line may be folded inside it: CRLF and a space); group 1 is kept.
#: The token answers in its recipient's name, as the RSVP link does: the outbox's pages blank it out for
#: all but administrators (invites' init_app registers it with outbox.preview)
REPLY_TOKEN = re.compile(r"(\+(?:\r?\n[ \t])?)(?:[a-z2-7](?:\r?\n[ \t])?){%d}(?=@)" % TOKEN_LENGTH)


def reply_token(uid, email):
    """Return the token of one recipient's invite to one meeting: 16 lower-case base32 characters (80 bits).

    An HMAC-SHA-256 of the meeting's UID and the address under SECRET_KEY: it
    is worked out again to check a reply, nothing is stored.
    """
    secret = current_app.config["SECRET_KEY"]
    secret = secret.encode() if isinstance(secret, str) else secret
    digest = hmac.new(secret, TOKEN_SALT + f"\n{uid}\n{email.strip().lower()}".encode(), hashlib.sha256).digest()
    return base64.b32encode(digest).decode("ascii")[:TOKEN_LENGTH].lower()


def _mailbox_parts():
    """(local part, domain) of MAIL_FROM."""
    local, _, domain = current_app.config["MAIL_FROM"].strip().rpartition("@")
    return local, domain


def reply_address(uid, email):
    """Return the ORGANIZER address of one recipient's invite: `local+<token>@domain` of MAIL_FROM (RFC 5233)."""
    local, domain = _mailbox_parts()
    return f"{local}+{reply_token(uid, email)}@{domain}"


def tokens_in(addresses):
    """Return the set of tokens the addresses carry as sub-addresses of MAIL_FROM (any case)."""
    local, domain = _mailbox_parts()
    found = set()
    for address in addresses:
        mailbox, _, at = (address or "").strip().lower().removeprefix("mailto:").rpartition("@")
        base, plus, token = mailbox.partition("+")
        if plus and at == domain.lower() and base == local.lower() and token:
            found.add(token)
    return found
