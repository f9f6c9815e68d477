"""SMTP_URL's promises at a real SMTP server (aiosmtpd): TLS and AUTH, Reply-To, the whole retry schedule.

CONTRACT.md: `SMTP_URL` is `smtp://user:pass@host:port`, `smtps://…` or
`smtp+starttls://…`; the mail's `Reply-To` is the person who booked; README: a
failed attempt is retried after 1, 2, 5, 10, 20, 40, 60, 120 and 240 minutes,
then the mail is marked failed. The server's certificate is a throwaway one,
trusted through SSL_CERT_FILE as an operator trusts a private CA.
"""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from tests.booking.conftest import next_monday
from tests.conftest import deliver_outbox, make_certificate
from tests.invites.conftest import SmtpServer
from vmeeting.core.database import utcnow
from vmeeting.core.extensions import db
from vmeeting.outbox.models import OutboxMail
from vmeeting.outbox.service import MAX_ATTEMPTS, RETRY_DELAYS

# smtps is TLS from the first byte, which aiosmtpd cannot tell: its warning about AUTH without TLS is moot
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")

USER = "vmeeting@langson.gov.vn"
#: characters a URL must %-encode: the password reaches the server as typed
SECRET = "M@t:khau/#?1%"
#: the documented schedule (README, Mail), written out so a change to RETRY_DELAYS must change the docs too
SCHEDULE_MINUTES = [1, 2, 5, 10, 20, 40, 60, 120, 240]


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    return make_certificate(tmp_path_factory.mktemp("smtp-tls"))


@pytest.fixture
def secure_smtp(request, app, certificate, monkeypatch):
    """A running SMTP server of the scheme given by the test's parameter, requiring AUTH over TLS."""
    monkeypatch.setenv("SSL_CERT_FILE", certificate[0])
    server = SmtpServer(request.param, certificate=certificate, users={USER: SECRET})
    server.start()
    yield server
    server.stop()


@pytest.fixture
def organizer(make_user):
    return make_user("scheduler", username="vp-ubnd", email="van.phong@langson.gov.vn",
                     full_name="Văn phòng UBND tỉnh")


def _book_for(book, sites, organizer, **fields):
    return book([sites["hall"], sites["communes"][0]], next_monday(), actor=organizer,
                attendees=["khach@example.com"], **fields)


def _mails():
    return db.session.scalars(sa.select(OutboxMail).order_by(OutboxMail.id)).all()


@pytest.mark.parametrize("secure_smtp", ["smtps", "smtp+starttls"], indirect=True)
def test_tls_and_auth_deliver_with_the_url_s_user_and_password(app, secure_smtp, sites, book, organizer):
    app.config["SMTP_URL"] = secure_smtp.url_for(USER, SECRET)
    _book_for(book, sites, organizer)
    assert deliver_outbox() == 1
    assert secure_smtp.accounts.tried == [(USER, True)]  # one session, signed in once, over TLS
    [(recipient, message)] = secure_smtp.messages
    assert recipient == "khach@example.com" and "Mời họp" in message["Subject"]
    assert {m.status for m in _mails()} == {"sent"}


@pytest.mark.parametrize("secure_smtp", ["smtps", "smtp+starttls"], indirect=True)
def test_a_wrong_password_leaves_the_mail_pending_with_the_error(app, secure_smtp, sites, book, organizer):
    app.config["SMTP_URL"] = secure_smtp.url_for(USER, "sai-mat-khau")
    _book_for(book, sites, organizer)
    now = utcnow()
    assert deliver_outbox(now=now) == 0
    # refused with each mechanism the server offers (smtplib tries PLAIN, then LOGIN); nothing sent
    assert {ok for _user, ok in secure_smtp.accounts.tried} == {False} and secure_smtp.messages == []
    [row] = _mails()
    assert (row.status, row.attempt_count, row.next_attempt_at) == ("pending", 1, now + RETRY_DELAYS[0])
    assert "535" in row.last_error and "Không kết nối được máy chủ thư" in row.last_error
    # the password put right, the next attempt goes out
    app.config["SMTP_URL"] = secure_smtp.url_for(USER, SECRET)
    assert deliver_outbox(now=row.next_attempt_at) == 1
    assert db.session.get(OutboxMail, row.id, populate_existing=True).status == "sent"


@pytest.mark.parametrize("secure_smtp", ["smtps", "smtp+starttls"], indirect=True)
def test_an_untrusted_certificate_sends_nothing_and_says_why(app, secure_smtp, sites, book, organizer,
                                                              monkeypatch):
    monkeypatch.delenv("SSL_CERT_FILE")
    app.config["SMTP_URL"] = secure_smtp.url_for(USER, SECRET)
    _book_for(book, sites, organizer)
    assert deliver_outbox() == 0
    assert secure_smtp.accounts.tried == [] and secure_smtp.messages == []  # the password never left
    [row] = _mails()
    assert row.status == "pending" and "CERTIFICATE_VERIFY_FAILED" in row.last_error


def test_reply_to_is_the_person_who_booked(app, smtp, sites, book, organizer):
    sites["communes"][0].contact_emails = ["xa.hoabinh@langson.gov.vn"]
    db.session.commit()
    _book_for(book, sites, organizer)
    assert deliver_outbox() == 2
    assert {rcpt for rcpt, _m in smtp.messages} == {"khach@example.com", "xa.hoabinh@langson.gov.vn"}
    assert {m["Reply-To"] for _rcpt, m in smtp.messages} == {"van.phong@langson.gov.vn"}
    assert all(m["From"].addresses[0].addr_spec == app.config["MAIL_FROM"] for _rcpt, m in smtp.messages)


def test_the_whole_retry_schedule_through_an_outage_up_to_failed(app, smtp, sites, book, organizer):
    """The server stays down: each attempt waits the next delay of the schedule, the tenth fails the mail."""
    assert [d // timedelta(minutes=1) for d in RETRY_DELAYS] == SCHEDULE_MINUTES
    assert MAX_ATTEMPTS == len(SCHEDULE_MINUTES) + 1
    _book_for(book, sites, organizer)
    smtp.stop()
    now = utcnow()
    for attempt, minutes in enumerate(SCHEDULE_MINUTES, start=1):
        assert deliver_outbox(now=now) == 0
        [row] = _mails()
        assert (row.status, row.attempt_count) == ("pending", attempt)
        assert row.next_attempt_at == now + timedelta(minutes=minutes)
        assert "Không kết nối được máy chủ thư" in row.last_error
        assert deliver_outbox(now=row.next_attempt_at - timedelta(seconds=1)) == 0  # not due a second early
        assert db.session.get(OutboxMail, row.id, populate_existing=True).attempt_count == attempt
        now = row.next_attempt_at
    assert deliver_outbox(now=now) == 0
    [row] = _mails()
    assert (row.status, row.attempt_count) == ("failed", MAX_ATTEMPTS)
    # the server back, a failed mail stays failed: only an administrator's retry sends it
    smtp.start()
    assert deliver_outbox(now=now + timedelta(days=1)) == 0 and smtp.messages == []


def test_the_whole_retry_schedule_of_a_server_that_defers_up_to_failed(app, smtp, sites, book, organizer):
    """The server answers 451 to the recipient every time: the same delays, measured from each attempt."""
    smtp.handler.defer.add("khach@example.com")
    _book_for(book, sites, organizer)
    now = utcnow()
    for attempt, minutes in enumerate(SCHEDULE_MINUTES, start=1):
        assert deliver_outbox(now=now) == 0
        [row] = _mails()
        assert (row.status, row.attempt_count) == ("pending", attempt) and "451" in row.last_error
        # a deferral counts its delay from the attempt: the tick's time, or the answer's if the clock is past it
        delay = timedelta(minutes=minutes)
        assert now + delay <= row.next_attempt_at <= max(now, utcnow()) + delay
        now = max(now, row.next_attempt_at)
    assert deliver_outbox(now=now) == 0
    [row] = _mails()
    assert (row.status, row.attempt_count) == ("failed", MAX_ATTEMPTS) and "451" in row.last_error
    assert smtp.messages == []
