"""Every mail of the outbox repeated as a signed JSON POST to WEBHOOK_URL (CONTRACT.md), for a gateway
(an SMS brandname, Zalo ZNS) that the province plugs in without code here.

The worker's tick (`outbox.webhooks`, every 15 s in the lease holder) first
writes one WebhookDelivery per mail queued since WEBHOOK_MAX_AGE ago that has
none (change records are not mails; a mail already superseded or failed is not
news), then POSTs the due ones. Each delivery is claimed as a mail is (its
worker named, a lease that runs out if the worker dies), and its outcome is
recorded before the next POST: a 2xx is sent; a 4xx other than 408 and 429 is
refused for good; anything else (a redirect too: none is followed) is retried after the mail's own delays
(1, 2, 5 … 240 minutes), then failed. A crash between a POST and its record
repeats that one POST at most, with the same `X-Vmeeting-Delivery`: receivers
deduplicate on it. A mail superseded before its POST went is not posted.

The body (UTF-8 JSON):
    {"delivery": 17, "event": "invite" | "cancel" | "notice", "key": "<the outbox key>",
     "meeting_id": 12 | null, "sequence": 0,
     "recipient": {"email": "…", "name": "…"}, "subject": "…", "text": "<the mail's plain text>",
     "queued_at": "2027-02-05T08:00:00+00:00", "sent_at": "<this POST's time>"}
Headers: `Content-Type: application/json`, `X-Vmeeting-Delivery: <delivery>`, and
`X-Vmeeting-Signature: sha256=<hex HMAC-SHA256 of the body's bytes with WEBHOOK_SECRET>`
(the scheme GitHub's webhooks made common: the receiver recomputes it over the raw body
and compares in constant time).
"""

import hashlib
import hmac
import http.client
import json
import logging
import socket
import threading
import urllib.error
import urllib.request
from datetime import timedelta
from email import message_from_string, policy

import sqlalchemy as sa
from flask import current_app

from vmeeting.core.database import UTCDateTime, utcnow, writing
from vmeeting.core.extensions import db
from vmeeting.outbox import service as outbox
from vmeeting.outbox.models import OutboxMail, WebhookDelivery

log = logging.getLogger(__name__)

#: the receiver's time to answer, seconds
TIMEOUT_SECONDS = 10
#: deliveries one tick posts at most (the rest wait for the next)
BATCH = 100
#: mails older than this when the webhook first sees them are not posted (WEBHOOK_URL newly set: no backlog)
WEBHOOK_MAX_AGE = timedelta(days=1)
#: how long a claim holds a delivery; renewed before each POST, so a dead worker's claims are due again soon
LEASE = timedelta(seconds=30 + TIMEOUT_SECONDS)
#: 4xx answers that mean "later", not "never"
RETRYABLE_4XX = (408, 429)


def configured():
    """Tell whether the app posts webhooks (WEBHOOK_URL set)."""
    return bool(current_app.config.get("WEBHOOK_URL"))


def signature(body, secret):
    """`sha256=<hex>`: HMAC-SHA256 of the body's bytes with the secret (str or bytes)."""
    key = secret.encode() if isinstance(secret, str) else secret
    return "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest()


def queue_new(now=None):
    """Write a pending WebhookDelivery for each recent mail without one; flush; return how many."""
    now = now or utcnow()
    expanders = list(outbox.EXPANDERS.mapping())
    has_one = sa.select(WebhookDelivery.id).where(WebhookDelivery.mail_id == OutboxMail.id).exists()
    mails = (sa.select(OutboxMail.id, sa.literal("pending"), sa.literal(0), sa.literal(now, UTCDateTime),
                       sa.literal(""), sa.literal(now, UTCDateTime))
             .where(OutboxMail.created_at >= now - WEBHOOK_MAX_AGE, OutboxMail.status.in_(("pending", "sent")),
                    sa.or_(OutboxMail.builder.is_(None), OutboxMail.builder.not_in(expanders)), ~has_one))
    return db.session.execute(
        sa.insert(WebhookDelivery).from_select(
            ["mail_id", "status", "attempt_count", "next_attempt_at", "last_error", "created_at"], mails)
    ).rowcount


def _claim(now, holder):
    """Claim up to BATCH due deliveries for this worker (by the claim protocol of mails, outbox.claim_rows); return their ids."""
    due = sa.and_(WebhookDelivery.status == "pending", WebhookDelivery.next_attempt_at <= now)
    rows = outbox.claim_rows(WebhookDelivery, due, BATCH, values={
        "next_attempt_at": now + LEASE, "claimed_by": holder, "claimed_at": now}, returning=(WebhookDelivery.id,))
    return sorted(row.id for row in rows)


def body_of(delivery, mail_row, now):
    """The JSON body (bytes) of one delivery (see the module's docstring)."""
    text = ""
    if mail_row.message:
        message = message_from_string(mail_row.message, policy=policy.default)
        part = message.get_body(("plain",))
        text = part.get_content() if part is not None else ""
    event = {"REQUEST": "invite", "CANCEL": "cancel"}.get(mail_row.method, "notice")
    document = {"delivery": delivery.id, "event": event, "key": mail_row.key, "meeting_id": mail_row.meeting_id,
                "sequence": mail_row.sequence,
                "recipient": {"email": mail_row.recipient, "name": mail_row.recipient_name},
                "subject": mail_row.subject, "text": text, "queued_at": mail_row.created_at.isoformat(),
                "sent_at": now.isoformat()}
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Follow no redirect: urllib turns a 301/302/303 of a POST into a bodiless GET, whose 200 would be
    recorded as the notice delivered. A 3xx is an HTTPError like any other answer but 2xx (retried)."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):  # noqa: PLR0913 - urllib's signature
        return None


def _counting(connection_class, opened):
    """A connection factory for urllib's do_open that keeps each connection it makes in `opened`."""
    def make(*args, **kwargs):
        connection = connection_class(*args, **kwargs)
        opened.append(connection)
        return connection
    return make


class _Http(urllib.request.HTTPHandler):
    def __init__(self, opened):
        super().__init__()
        self.opened = opened

    def http_open(self, req):
        return self.do_open(_counting(http.client.HTTPConnection, self.opened), req)


class _Https(urllib.request.HTTPSHandler):
    def __init__(self, opened):
        super().__init__()
        self.opened = opened

    def https_open(self, req):
        return self.do_open(_counting(http.client.HTTPSConnection, self.opened), req, context=self._context)


def post(url, body, delivery_id, secret):
    """POST one body; return None when the receiver took it (2xx), else (error text, permanent?).

    The receiver has TIMEOUT_SECONDS in all to answer: a socket's timeout
    bounds each read only, so a receiver trickling its answer a byte at a time
    held the worker (and the delivery, past its lease) for as long as it
    liked; a timer shuts the connection when the time is up. A redirect is not
    followed (`_NoRedirect`); an answer that is no HTTP at all is an error to
    retry, like an unreachable receiver, never an exception out of the tick.
    """
    request = urllib.request.Request(url, data=body, method="POST", headers={
        "Content-Type": "application/json", "User-Agent": "vmeeting-webhook",
        "X-Vmeeting-Delivery": str(delivery_id), "X-Vmeeting-Signature": signature(body, secret or "")})
    opened, expired = [], threading.Event()

    def cut():
        expired.set()
        for connection in opened:
            try:
                if connection.sock is not None:
                    connection.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    watchdog = threading.Timer(TIMEOUT_SECONDS, cut)
    watchdog.daemon = True
    watchdog.start()
    try:
        opener = urllib.request.build_opener(_NoRedirect, _Http(opened), _Https(opened))
        with opener.open(request, timeout=TIMEOUT_SECONDS) as answer:  # noqa: S310 - the admin's URL
            answer.read(1024)
        return None
    except urllib.error.HTTPError as refused:
        if expired.is_set():
            return f"no whole answer within {TIMEOUT_SECONDS} s", False
        detail = refused.read(200).decode("utf-8", "replace")
        if 300 <= refused.code < 400:
            detail = f"redirect to {refused.headers.get('Location', '?')[:200]} not followed; set WEBHOOK_URL to it"
        return f"HTTP {refused.code}: {detail}", 400 <= refused.code < 500 and refused.code not in RETRYABLE_4XX
    except (OSError, ValueError, http.client.HTTPException) as unreachable:
        if expired.is_set():
            return f"no whole answer within {TIMEOUT_SECONDS} s", False
        return f"{type(unreachable).__name__}: {unreachable}", False
    finally:
        watchdog.cancel()


def deliver_webhooks(now=None):
    """The worker's tick: queue the new deliveries, then POST the due ones, each recorded before the next.

    Returns how many the receiver took. Does nothing without WEBHOOK_URL.
    """
    if not configured():
        return 0
    config = current_app.config
    holder = outbox.worker_name() + ":webhooks"
    with writing():
        queue_new(now)
        ids = _claim(now or utcnow(), holder)
        db.session.commit()
    taken = 0
    for delivery_id in ids:
        with writing():
            delivery = db.session.get(WebhookDelivery, delivery_id)
            mail_row = db.session.get(OutboxMail, delivery.mail_id)
            if delivery.claimed_by != holder or delivery.status != "pending":
                db.session.commit()
                continue
            if mail_row.status == "superseded":  # the mail will not go: nor does its repetition
                delivery.status, delivery.claimed_by, delivery.last_error = "superseded", None, mail_row.last_error
                db.session.commit()
                continue
            if mail_row.message is None:
                outbox.build_messages([mail_row.id], now=now)
            delivery.next_attempt_at = utcnow() + LEASE  # renewed: this worker is at it
            db.session.commit()
        moment = utcnow()
        body = body_of(delivery, mail_row, moment)
        outcome = post(config["WEBHOOK_URL"], body, delivery_id, config.get("WEBHOOK_SECRET"))
        with writing():
            delivery = db.session.get(WebhookDelivery, delivery_id)
            delivery.claimed_by = None
            if outcome is None:
                delivery.status, delivery.sent_at, delivery.last_error = "sent", moment, ""
                taken += 1
            else:
                error, permanent = outcome
                delivery.attempt_count += 1
                delivery.last_error = error[:2000]
                if permanent or delivery.attempt_count >= outbox.MAX_ATTEMPTS:
                    delivery.status = "failed"
                else:
                    delivery.next_attempt_at = (now or moment) + outbox.RETRY_DELAYS[delivery.attempt_count - 1]
                log.warning("webhook %s for mail %s: %s", delivery_id, delivery.mail_id, error[:200])
            db.session.commit()
    return taken


def counts():
    """{status: number} of the webhook deliveries (the outbox page)."""
    return dict(db.session.execute(sa.select(WebhookDelivery.status, sa.func.count())
                                   .group_by(WebhookDelivery.status)).all())
