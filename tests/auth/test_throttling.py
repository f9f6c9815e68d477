"""Sign-in throttling: per (user name, address) and per address, growing delays, and nobody locks anyone out.

Most tests set the client's address through the test client (REMOTE_ADDR); one
goes through real sockets to a live server from two loopback addresses,
127.0.0.1 and 127.0.0.2, as two machines would.
"""

import http.client
from datetime import timedelta
from http.cookies import SimpleCookie
from urllib.parse import urlencode, urlsplit

import pytest
import sqlalchemy as sa

from tests.conftest import CSRF_RE, PASSWORD
from vmeeting.auth.models import LoginAttempt
from vmeeting.core.extensions import db

THROTTLED = "Đăng nhập sai quá nhiều lần"
HOME, AWAY = "10.0.0.1", "10.0.0.2"


@pytest.fixture
def sign_in(client, get_csrf):
    """Post the sign-in form from an address; return the response."""

    def post(username, password, addr=HOME):
        client.environ_base["REMOTE_ADDR"] = addr  # and the requests after, as a browser on that machine
        token = get_csrf("/login")
        return client.post("/login", data={"username": username, "password": password, "csrf_token": token})

    return post


@pytest.fixture
def sign_out(client):
    def post():
        from tests.conftest import csrf_token

        client.post("/logout", data={"csrf_token": csrf_token(client, "/account")})

    return post


def _age_attempts(seconds):
    """Move every recorded attempt back in time, as if the seconds had passed."""
    for attempt in db.session.scalars(sa.select(LoginAttempt)):
        attempt.attempted_at -= timedelta(seconds=seconds)
    db.session.commit()


def _retry_after(response):
    assert response.status_code == 429, response.status_code
    assert THROTTLED in response.get_data(as_text=True)
    return int(response.headers["Retry-After"])


def test_wrong_passwords_from_one_address_never_stop_the_right_one_from_another(app, make_user, sign_in, sign_out):
    make_user("admin", username="quan-tri")
    for _ in range(3 * app.config["LOGIN_FREE_FAILURES"]):
        sign_in("quan-tri", "doan-bua", addr=HOME)
    assert _retry_after(sign_in("quan-tri", PASSWORD, addr=HOME)) > 0
    assert sign_in("quan-tri", PASSWORD, addr=AWAY).status_code == 302
    sign_out()
    # and the guesses did not lock the account for the guessing address's neighbours either
    assert sign_in("quan-tri", PASSWORD, addr="10.0.0.3").status_code == 302


def test_the_delay_doubles_with_each_failure_and_ends_when_it_said(app, make_user, sign_in):
    make_user("viewer", username="can-bo")
    free, first = app.config["LOGIN_FREE_FAILURES"], app.config["LOGIN_FIRST_DELAY_SECONDS"]
    for _ in range(free - 1):
        assert sign_in("can-bo", "sai-mat-khau").status_code == 200
    assert sign_in("can-bo", "sai-mat-khau").status_code == 200  # the last free one: now the first delay
    assert first - 10 <= _retry_after(sign_in("can-bo", PASSWORD)) <= first

    # Trying during the delay does not lengthen it.
    for _ in range(10):
        assert sign_in("can-bo", PASSWORD).status_code == 429
    _age_attempts(first + 1)
    assert sign_in("can-bo", "sai-mat-khau").status_code == 200  # a guess again, after the wait
    assert 2 * first - 10 <= _retry_after(sign_in("can-bo", PASSWORD)) <= 2 * first
    _age_attempts(2 * first + 1)
    assert sign_in("can-bo", "sai-mat-khau").status_code == 200
    assert 4 * first - 10 <= _retry_after(sign_in("can-bo", PASSWORD)) <= 4 * first

    # The delay has a ceiling, and the right password works once it has passed.
    for _ in range(20):
        _age_attempts(app.config["LOGIN_MAX_DELAY_SECONDS"] + 1)
        sign_in("can-bo", "sai-mat-khau")
    assert _retry_after(sign_in("can-bo", PASSWORD)) <= app.config["LOGIN_MAX_DELAY_SECONDS"]
    _age_attempts(app.config["LOGIN_MAX_DELAY_SECONDS"] + 1)
    assert sign_in("can-bo", PASSWORD).status_code == 302


def test_attempts_during_a_delay_are_recorded_as_throttled_and_not_counted(app, make_user, sign_in):
    make_user("viewer", username="can-bo")
    for _ in range(app.config["LOGIN_FREE_FAILURES"] + 3):
        sign_in("can-bo", "sai-mat-khau")
    attempts = db.session.scalars(sa.select(LoginAttempt).order_by(LoginAttempt.id)).all()
    assert [a.is_throttled for a in attempts] == [False] * app.config["LOGIN_FREE_FAILURES"] + [True] * 3


def test_a_success_restarts_the_count_for_that_name_from_that_address(app, make_user, sign_in, sign_out):
    make_user("viewer", username="hay-quen")
    free = app.config["LOGIN_FREE_FAILURES"]
    for _ in range(free - 1):
        sign_in("hay-quen", "sai-mat-khau")
    assert sign_in("hay-quen", PASSWORD).status_code == 302
    sign_out()
    for _ in range(free - 1):
        sign_in("hay-quen", "sai-mat-khau")
    assert sign_in("hay-quen", PASSWORD).status_code == 302


def test_one_address_guessing_across_many_names_is_slowed(app, make_user, sign_in, sign_out):
    make_user("viewer", username="nan-nhan")
    own = make_user("viewer", username="ke-doan")
    free = app.config["LOGIN_ADDRESS_FREE_FAILURES"]
    for i in range(free):
        sign_in(f"ten-{i}", "sai-mat-khau")
        if i == free // 2:
            # Signing in to one's own account does not restart the address's count.
            assert sign_in(own.username, PASSWORD).status_code == 302
            sign_out()
    assert _retry_after(sign_in("nan-nhan", PASSWORD)) > 0
    assert sign_in("nan-nhan", PASSWORD, addr=AWAY).status_code == 302


def test_an_office_behind_one_address_is_not_slowed_by_its_peoples_typos(app, make_user, sign_in, sign_out):
    staff = [make_user("viewer", username=f"can-bo-{i}") for i in range(app.config["LOGIN_ADDRESS_FREE_FAILURES"] + 5)]
    for person in staff:
        assert sign_in(person.username, "go-nham").status_code == 200
        assert sign_in(person.username, PASSWORD).status_code == 302
        sign_out()
    late = make_user("viewer", username="den-muon")
    assert sign_in(late.username, PASSWORD).status_code == 302


def test_the_window_forgets_old_failures(app, make_user, sign_in):
    make_user("viewer", username="can-bo")
    for _ in range(app.config["LOGIN_FREE_FAILURES"] + 2):
        sign_in("can-bo", "sai-mat-khau")
    _age_attempts(app.config["LOGIN_FAILURE_WINDOW_MINUTES"] * 60 + 1)
    for _ in range(app.config["LOGIN_FREE_FAILURES"] - 1):
        assert sign_in("can-bo", "sai-mat-khau").status_code == 200
    assert sign_in("can-bo", PASSWORD).status_code == 302


# -- through real sockets, from two addresses -------------------------------------------


class Browser:
    """A minimal HTTP client that keeps cookies and connects from a chosen local address."""

    def __init__(self, base_url, source_addr):
        parts = urlsplit(base_url)
        self.host, self.port, self.source_addr = parts.hostname, parts.port, source_addr
        self.cookies = SimpleCookie()

    def request(self, method, path, form=None):
        conn = http.client.HTTPConnection(self.host, self.port, timeout=30, source_address=(self.source_addr, 0))
        headers = {"Cookie": "; ".join(f"{k}={m.value}" for k, m in self.cookies.items())}
        body = None
        if form is not None:
            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            text = response.read().decode()
            for header in response.headers.get_all("Set-Cookie") or []:
                self.cookies.load(header)
            return response.status, dict(response.headers), text
        finally:
            conn.close()

    def sign_in(self, username, password):
        _status, _headers, page = self.request("GET", "/login")
        match = CSRF_RE.search(page)
        token = match.group(1) or match.group(2)
        return self.request("POST", "/login", {"username": username, "password": password, "csrf_token": token})


def test_through_real_sockets_a_second_address_signs_in_while_the_first_waits(app, make_user, live_server):
    make_user("admin", username="quan-tri")
    guesser, owner = Browser(live_server.url, "127.0.0.1"), Browser(live_server.url, "127.0.0.2")
    for _ in range(app.config["LOGIN_FREE_FAILURES"]):
        status, _headers, _page = guesser.sign_in("quan-tri", "doan-bua")
        assert status == 200
    status, headers, page = guesser.sign_in("quan-tri", PASSWORD)
    assert status == 429 and THROTTLED in page and int(headers["Retry-After"]) > 0

    status, _headers, _page = owner.sign_in("quan-tri", PASSWORD)
    assert status == 302
    assert owner.request("GET", "/account")[0] == 200

    db.session.rollback()
    addresses = db.session.execute(
        sa.select(LoginAttempt.remote_addr, LoginAttempt.is_success).order_by(LoginAttempt.id)).all()
    assert {addr for addr, _ in addresses} == {"127.0.0.1", "127.0.0.2"}
    assert [ok for addr, ok in addresses if addr == "127.0.0.2"] == [True]
