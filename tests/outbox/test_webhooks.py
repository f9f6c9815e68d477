"""Every outbox mail also POSTed as signed JSON to WEBHOOK_URL (outbox.webhooks), at a real HTTP server.

The receiver is Python's ThreadingHTTPServer on loopback, started by the test: it checks nothing itself,
it records each request's headers and raw body, and answers what the test tells it to.
"""

import hashlib
import hmac
import json
import socket
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import sqlalchemy as sa

from tests.booking.conftest import next_monday
from tests.conftest import _make_app
from vmeeting.core.database import utcnow
from vmeeting.core.extensions import db
from vmeeting.invites import reminders
from vmeeting.jobs import ticks
from vmeeting.outbox import webhooks
from vmeeting.outbox.models import OutboxMail, WebhookDelivery

SECRET = "bi-mat-cua-cong-sms-0123456789"


class Receiver:
    """A loopback HTTP server recording every POST; `answers` is the list of statuses to give, then 200.

    (The invited sites' first commune has two people, its contact and the technician; the others one.)
    """

    def __init__(self):
        self.posts, self.answers, self.gets = [], [], []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.posts.append((dict(self.headers), body))
                status = receiver.answers.pop(0) if receiver.answers else 200
                self.send_response(status)
                if 300 <= status < 400:
                    self.send_header("Location", "/moved")
                self.end_headers()
                self.wfile.write(b"ok" if status == 200 else b"not now")

            def do_GET(self):  # noqa: N802 - http.server's name
                receiver.gets.append(self.path)
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/vmeeting"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def documents(self):
        return [json.loads(body) for _headers, body in self.posts]

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver(app):
    server = Receiver()
    app.config.update(WEBHOOK_URL=server.url, WEBHOOK_SECRET=SECRET)
    yield server
    server.stop()


def test_the_tick_is_registered_and_a_url_without_a_secret_stops_the_start(app):
    assert ticks(app)["outbox.webhooks"].func is webhooks.deliver_webhooks
    with pytest.raises(RuntimeError, match="WEBHOOK_SECRET"):
        _make_app(app.config["SQLALCHEMY_DATABASE_URI"], WEBHOOK_URL="http://127.0.0.1:9/x")
    assert webhooks.deliver_webhooks() == 0  # no WEBHOOK_URL: nothing


def test_every_mail_is_posted_once_signed_with_its_text(app, receiver, invited, book, database_url):
    meeting = book([invited["hall"], invited["communes"][0]], next_monday(9), title="Giao ban tháng 2")
    mails = db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMail))
    assert mails == 4  # two contacts of the hall, its technician, the commune's contact
    assert webhooks.deliver_webhooks() == mails
    assert webhooks.deliver_webhooks() == 0  # the next tick: nothing new
    other = _make_app(database_url, WEBHOOK_URL=receiver.url, WEBHOOK_SECRET=SECRET)  # a restarted worker
    with other.app_context():
        assert webhooks.deliver_webhooks() == 0
        db.session.remove()
    assert len(receiver.posts) == mails
    for headers, body in receiver.posts:
        expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        assert hmac.compare_digest(headers["X-Vmeeting-Signature"], expected)
        assert headers["Content-Type"] == "application/json"
    documents = receiver.documents()
    assert sorted(d["recipient"]["email"] for d in documents) == sorted(
        ["vanphong@langson.gov.vn", "lanhdao@langson.gov.vn", "ktv.chilang@example.vn", "xa0@langson.gov.vn"])
    assert {d["event"] for d in documents} == {"invite"}
    assert {d["meeting_id"] for d in documents} == {meeting.id}
    assert all("Giao ban tháng 2" in d["subject"] and "Giao ban tháng 2" in d["text"] for d in documents)
    assert len({headers["X-Vmeeting-Delivery"] for headers, _body in receiver.posts}) == mails
    assert {str(d["delivery"]) for d in documents} == {h["X-Vmeeting-Delivery"] for h, _b in receiver.posts}


def test_a_refusal_is_retried_with_the_mails_delays_and_a_4xx_is_final(app, receiver, invited, book):
    book([invited["communes"][1]], next_monday(9))
    receiver.answers = [503]
    assert webhooks.deliver_webhooks() == 0
    delivery = db.session.scalar(sa.select(WebhookDelivery))
    assert (delivery.status, delivery.attempt_count) == ("pending", 1)
    assert "HTTP 503" in delivery.last_error
    assert webhooks.deliver_webhooks() == 0, "not before its delay"
    assert webhooks.deliver_webhooks(now=utcnow() + timedelta(minutes=2)) == 1
    db.session.refresh(delivery)
    assert delivery.status == "sent" and len(receiver.posts) == 2
    assert receiver.posts[0][0]["X-Vmeeting-Delivery"] == receiver.posts[1][0]["X-Vmeeting-Delivery"]

    book([invited["communes"][2]], next_monday(14))
    receiver.answers = [400]
    assert webhooks.deliver_webhooks() == 0
    refused = db.session.scalars(sa.select(WebhookDelivery).where(WebhookDelivery.status == "failed")).all()
    assert len(refused) == 1 and "HTTP 400" in refused[0].last_error


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_redirect_is_not_followed_nor_taken_for_a_delivery(app, receiver, invited, book, status):
    """urllib followed a 301/302/303 of a POST with a GET without the body, and its 200 was recorded as the
    notice delivered: the gateway never had it. A redirect is retried like a 5xx, naming where it pointed."""
    book([invited["communes"][1]], next_monday(9))
    receiver.answers = [status]
    assert webhooks.deliver_webhooks() == 0
    delivery = db.session.scalar(sa.select(WebhookDelivery))
    assert (delivery.status, delivery.attempt_count) == ("pending", 1)
    assert f"HTTP {status}" in delivery.last_error and "/moved" in delivery.last_error
    assert receiver.gets == [] and len(receiver.posts) == 1


class RawReceiver:
    """A loopback TCP server that answers each connection with `reply` bytes, one every `pace` seconds."""

    def __init__(self, reply, pace=0.0):
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}/vmeeting"
        self.connections = 0
        threading.Thread(target=self._serve, args=(reply, pace), daemon=True).start()

    def _serve(self, reply, pace):
        while True:
            try:
                connection, _address = self.listener.accept()
            except OSError:
                return
            self.connections += 1
            try:
                connection.recv(65536)
                for index in range(0, len(reply), 1 if pace else len(reply)):
                    connection.sendall(reply[index:index + (1 if pace else len(reply))])
                    time.sleep(pace)
            except OSError:
                pass
            finally:
                connection.close()

    def stop(self):
        self.listener.close()


def test_an_answer_that_is_no_http_is_retried_and_the_tick_goes_on(app, invited, book):
    """An SSH banner (a wrong port) raised http.client.BadStatusLine out of the tick: the delivery kept its claim
    and attempt count, was posted again whenever its lease ran out, and the batch's other deliveries waited."""
    server = RawReceiver(b"SSH-2.0-OpenSSH_9.2\r\n")
    app.config.update(WEBHOOK_URL=server.url, WEBHOOK_SECRET=SECRET)
    book([invited["communes"][1]], next_monday(9))
    book([invited["communes"][2]], next_monday(14))
    assert webhooks.deliver_webhooks() == 0
    deliveries = db.session.scalars(sa.select(WebhookDelivery)).all()
    assert len(deliveries) >= 2 and server.connections == len(deliveries)
    assert all(d.status == "pending" and d.attempt_count == 1 and d.claimed_by is None for d in deliveries)
    assert all("BadStatusLine" in d.last_error for d in deliveries)
    server.stop()


def test_a_receiver_trickling_its_answer_gets_the_timeout_in_all(app, invited, book, monkeypatch):
    """The 10 s were a socket's timeout for each read: a receiver sending its status line a byte every second
    held the POST for minutes, past the delivery's lease. The whole answer now has TIMEOUT_SECONDS."""
    monkeypatch.setattr(webhooks, "TIMEOUT_SECONDS", 2)
    server = RawReceiver(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", pace=0.5)
    app.config.update(WEBHOOK_URL=server.url, WEBHOOK_SECRET=SECRET)
    book([invited["communes"][1]], next_monday(9))
    began = time.monotonic()
    assert webhooks.deliver_webhooks() == 0
    assert time.monotonic() - began < 8
    delivery = db.session.scalar(sa.select(WebhookDelivery))
    assert (delivery.status, delivery.attempt_count) == ("pending", 1)
    assert "within 2 s" in delivery.last_error
    server.stop()


def test_an_unreachable_receiver_keeps_the_mails_and_their_posts_waiting(app, invited, book):
    app.config.update(WEBHOOK_URL="http://127.0.0.1:9/nobody", WEBHOOK_SECRET=SECRET)  # the discard port
    book([invited["communes"][1]], next_monday(9))
    assert webhooks.deliver_webhooks() == 0
    delivery = db.session.scalar(sa.select(WebhookDelivery))
    assert delivery.status == "pending" and delivery.attempt_count == 1 and delivery.claimed_by is None


def test_a_reminder_goes_to_the_webhook_and_a_superseded_one_does_not(app, receiver, invited, book):
    app.config["REMINDER_SCHEDULE"] = "60m"
    meeting = book([invited["communes"][1]], next_monday(9))
    starts_at = meeting.occurrences[0].starts_at
    assert reminders.queue_due_reminders(now=starts_at - timedelta(minutes=59)) == 1
    assert webhooks.deliver_webhooks() == 2  # the invite and the reminder
    notices = [d for d in receiver.documents() if d["event"] == "notice"]
    assert len(notices) == 1 and notices[0]["subject"].startswith("[Nhắc lịch]")
    assert notices[0]["key"].startswith("reminder:")

    from vmeeting.booking import service as booking
    from vmeeting.core.database import writing

    other = book([invited["communes"][2]], next_monday(14))
    assert reminders.queue_due_reminders(now=other.occurrences[0].starts_at - timedelta(minutes=59)) == 1
    with writing():
        booking.cancel_meeting(other)
        db.session.commit()
    receiver.posts.clear()
    webhooks.deliver_webhooks()
    assert not [d for d in receiver.documents() if d["event"] == "notice"], "the withdrawn reminder is not posted"
    # its invite, still waiting, was superseded by the CANCEL too: only the CANCEL is news
    assert [d["event"] for d in receiver.documents()] == ["cancel"]


def test_the_outbox_page_counts_the_webhooks_when_there_is_one(app, client, login, make_user, receiver, invited,
                                                                book):
    book([invited["communes"][1]], next_monday(9))
    webhooks.deliver_webhooks()
    login(make_user("scheduler"))
    page = client.get("/outbox").get_data(as_text=True)
    assert 'data-testid="webhook-counts"' in page and "Đã gửi 1" in page
    app.config["WEBHOOK_URL"] = None
    assert 'data-testid="webhook-counts"' not in client.get("/outbox").get_data(as_text=True)


class HoldingReceiver(Receiver):
    """A Receiver that, from its `hold_from`-th POST on, records the request and then answers nothing until
    `release()`: the sender waits on it, and the test kills the sender meanwhile."""

    def __init__(self, hold_from):
        self.hold_from, self.released = hold_from, threading.Event()
        super().__init__()
        handler = self.server.RequestHandlerClass
        original = handler.do_POST
        receiver = self

        def do_post(request):
            if len(receiver.posts) + 1 < receiver.hold_from or receiver.released.is_set():
                return original(request)
            body = request.rfile.read(int(request.headers["Content-Length"]))
            receiver.posts.append((dict(request.headers), body))
            receiver.released.wait(120)  # its sender is gone by then: the answer reaches no one
            request.send_response(200)
            request.end_headers()

        handler.do_POST = do_post

    def release(self):
        self.released.set()


@pytest.mark.long
def test_a_worker_killed_while_a_post_waits_loses_none_and_repeats_only_that_one(app, database_url, invited, book,
                                                                                 smtp, tmp_path):
    """kill -9 of a real worker (`flask scheduler run`) while the receiver holds its 4th POST unanswered:
    the three answered are not posted again, the one in flight at most once more (same X-Vmeeting-Delivery),
    and the rest, claimed by the dead worker, are taken back once its claims run out and posted once."""
    from tests.outbox.processes import start_worker, wait_for

    receiver = HoldingReceiver(hold_from=4)
    try:
        book([invited["hall"], *invited["communes"]], next_monday(9))
        db.session.commit()
        mails = db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMail))
        db.session.commit()  # no read of the test's stays open beside the worker (SQLite's snapshot)
        assert mails == 7
        worker = start_worker(database_url, smtp, tmp_path, WEBHOOK_URL=receiver.url, WEBHOOK_SECRET=SECRET)
        try:
            wait_for(lambda: len(receiver.posts) >= 4, 90, "the worker did not reach its 4th POST")
        finally:
            worker.kill()  # SIGKILL: nothing recorded on the way out
            worker.wait(timeout=60)
        receiver.release()
        app.config.update(WEBHOOK_URL=receiver.url, WEBHOOK_SECRET=SECRET)  # this process takes over
        db.session.expire_all()
        statuses = dict(db.session.execute(sa.select(WebhookDelivery.status, sa.func.count())
                                           .group_by(WebhookDelivery.status)).all())
        db.session.commit()
        assert statuses == {"sent": 3, "pending": 4}, statuses
        assert webhooks.deliver_webhooks() == 0, "the dead worker's claims hold until they run out"
        assert webhooks.deliver_webhooks(now=utcnow() + webhooks.LEASE + timedelta(seconds=1)) == 4
        sent = [headers["X-Vmeeting-Delivery"] for headers, _body in receiver.posts]
        assert len(set(sent)) == mails, "every mail posted"
        assert len(sent) == mails + 1 and sent.count(sent[3]) == 2, "only the one in flight posted again"
    finally:
        receiver.stop()
