"""Idempotency-Key on POST /meetings: a retried booking gets its first answer, not a second booking.

The rules of draft-ietf-httpapi-idempotency-key-header (HTTPAPI working group):
the key is the client's, unique per user (section 2.2); the server keeps it
with a fingerprint of the request (2.4) and the answer, here 24 hours (2.3);

- same user, same key, same request: the stored answer again, marked
  `Idempotent-Replayed: true`; nothing is booked;
- same user, same key, another request: 422 naming the field `Idempotency-Key`
  (2.7: "reuse of an idempotency key with a different request payload");
- two requests with one key at once: one booking. The key's row is written
  first in the booking's transaction, under a unique (user_id, key): on
  PostgreSQL the second insert waits for the first transaction and, if it
  committed, fails and reads the stored answer; SQLite's write lock (BEGIN
  IMMEDIATE) runs the two one after the other. The draft's 409 "still being
  processed" (2.7) is thus never answered: the second waits and gets the answer.

Only a stored booking keeps its key: a request refused (400, 409) stores
nothing, and the same key may be tried again.
"""

import hashlib
import json
import re
from datetime import timedelta

import sqlalchemy as sa

from vmeeting.booking.models import IdempotencyKey
from vmeeting.core.database import utcnow
from vmeeting.core.errors import Conflict, ValidationError
from vmeeting.core.extensions import db
from vmeeting.core.text import N_

#: the request header (draft-ietf-httpapi-idempotency-key-header, section 2)
HEADER = "Idempotency-Key"
#: the answer's header that tells a retry it got the stored answer, not a new booking
REPLAYED_HEADER = "Idempotent-Replayed"
#: how long a key is kept after its booking (section 2.3 leaves it to the server; the contract says 24 h)
KEPT = timedelta(hours=24)
MAX_KEY_LENGTH = 255

# RFC 8941 sf-string: printable ASCII in double quotes, with \" and \\ the only escapes
_SF_STRING = re.compile(r'"((?:[\x20\x21\x23-\x5b\x5d-\x7e]|\\["\\])*)"')
# a bare token, as many clients send a UUID: visible ASCII without quotes, backslashes or separators
_BARE = re.compile(r"[!#-+\--\[\]-~]+")


class KeyReused(Conflict):
    """The key was used by this user for another request: 422, nothing booked (details: fields)."""

    status = 422
    code = "idempotency_key_reused"


def key_of(headers):
    """Return the request's Idempotency-Key, unquoted, or None without one; raise ValidationError naming it.

    headers: the request's headers. The draft's form is an sf-string (RFC 8941,
    "…" in double quotes); a bare token of visible ASCII is read as well.
    Between 1 and MAX_KEY_LENGTH characters.
    """
    raw = headers.get(HEADER)
    if raw is None:
        return None
    raw = raw.strip(" \t")
    quoted = _SF_STRING.fullmatch(raw)
    if quoted:
        key = re.sub(r"\\(.)", r"\1", quoted.group(1))
    elif _BARE.fullmatch(raw):
        key = raw
    else:
        raise ValidationError({HEADER: N_("Khóa Idempotency-Key phải là một chuỗi ký tự ASCII trong ngoặc kép, "
                                          "ví dụ \"8e03978e-40d5-43e8-bc93-6894a57f9324\".")})
    if not key or len(key) > MAX_KEY_LENGTH:
        raise ValidationError({HEADER: N_("Khóa Idempotency-Key dài từ 1 đến 255 ký tự.")})
    return key


def fingerprint(method, path, data):
    """Return the request's fingerprint: SHA-256 (hex) of the method, path and JSON body, key order ignored."""
    body = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(f"{method} {path}\n{body}".encode()).hexdigest()


def claim(user, key, request_fingerprint):
    """Take the key for this request, or return the answer stored under it; raise KeyReused.

    Returns (row, None) when the caller is to book, with the row to `remember`
    the answer in before it commits; (None, row) when a booking stored under
    the key already, whose answer is to be sent again. Forgets this user's
    keys older than KEPT first. Waits (PostgreSQL) while another transaction
    holds the same key, until it commits or rolls back.
    """
    db.session.execute(sa.delete(IdempotencyKey).where(IdempotencyKey.user_id == user.id,
                                                       IdempotencyKey.created_at < utcnow() - KEPT))
    stored = _stored(user, key)
    if stored is None:
        row = IdempotencyKey(user_id=user.id, key=key, fingerprint=request_fingerprint)
        try:
            with db.session.begin_nested():
                db.session.add(row)
        except sa.exc.IntegrityError:
            # another request with this key committed meanwhile: its answer is the one to give
            stored = _stored(user, key)
        else:
            return row, None
    if stored.fingerprint != request_fingerprint:
        raise KeyReused(N_("Khóa Idempotency-Key này đã dùng cho một yêu cầu khác; mỗi yêu cầu đặt lịch cần "
                           "một khóa mới."),
                        fields={HEADER: N_("Đã dùng trong 24 giờ qua cho một yêu cầu có nội dung khác.")})
    return None, stored


def remember(row, meeting, status_code, etag, body):
    """Store the booking's answer under the claimed key, in the booking's transaction.

    body: the answer's JSON body (bytes or str), as sent.
    """
    row.meeting_id = meeting.id
    row.status_code = status_code
    row.etag = etag
    row.response_body = body.decode() if isinstance(body, bytes) else body
    db.session.flush()


def _stored(user, key):
    return db.session.scalar(sa.select(IdempotencyKey).where(IdempotencyKey.user_id == user.id,
                                                             IdempotencyKey.key == key))
