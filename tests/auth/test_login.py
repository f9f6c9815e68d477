"""Signing in and out: credentials, disabled accounts, `next`, CSRF, password storage (throttling: test_throttling)."""

from datetime import timedelta
from urllib.parse import quote

import pytest
import sqlalchemy as sa

from tests.conftest import PASSWORD
from vmeeting.auth import service
from vmeeting.auth.models import LoginAttempt, User
from vmeeting.core.extensions import db

BAD_CREDENTIALS = "Tên đăng nhập hoặc mật khẩu không đúng."


@pytest.fixture
def sign_in(client, get_csrf):
    """Post the sign-in form as a browser would; `next` goes in the query string like the page's form."""

    def post(username, password, next_url=None):
        token = get_csrf("/login")
        path = "/login" + (f"?next={quote(next_url, safe='')}" if next_url is not None else "")
        return client.post(path, data={"username": username, "password": password, "csrf_token": token})

    return post


def is_signed_in(client):
    return client.get("/account").status_code == 200


def test_good_credentials_sign_in_and_record_the_moment(client, make_user, sign_in):
    user = make_user("viewer", username="can-bo")
    response = sign_in("can-bo", PASSWORD)
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert is_signed_in(client)
    db.session.expire_all()
    assert db.session.get(User, user.id).last_login_at is not None


def test_user_name_ignores_case_and_spaces(client, make_user, sign_in):
    make_user("viewer", username="can-bo")
    assert sign_in("  Can-Bo ", PASSWORD).status_code == 302


@pytest.mark.parametrize("username, password", [("can-bo", "sai-mat-khau"), ("khong-co-ai", PASSWORD)])
def test_bad_credentials_are_refused_in_vietnamese(client, make_user, sign_in, username, password):
    make_user("viewer", username="can-bo")
    response = sign_in(username, password)
    assert response.status_code == 200
    assert BAD_CREDENTIALS in response.get_data(as_text=True)
    assert not is_signed_in(client)


def test_empty_form_names_each_missing_field(sign_in):
    html = sign_in("", "").get_data(as_text=True)
    assert "Nhập tên đăng nhập." in html
    assert "Nhập mật khẩu." in html


def test_disabled_user_is_refused(client, make_user, sign_in):
    user = make_user("scheduler", username="da-nghi")
    service.update_user(user, {"is_enabled": False})
    db.session.commit()
    response = sign_in("da-nghi", PASSWORD)
    assert response.status_code == 200
    assert "Tài khoản này đã bị khóa" in response.get_data(as_text=True)
    assert not is_signed_in(client)
    # A wrong password does not learn that the account exists and is disabled.
    assert BAD_CREDENTIALS in sign_in("da-nghi", "sai-mat-khau").get_data(as_text=True)


def test_disabling_a_user_ends_their_session(client, make_user, login):
    user = login(make_user("scheduler"))
    service.update_user(user, {"is_enabled": False})
    db.session.commit()
    response = client.get("/endpoints")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


def _page_csrf(client):
    from tests.conftest import csrf_token

    return csrf_token(client, "/account")


def test_next_is_honoured_on_this_site(make_user, sign_in):
    make_user("viewer", username="can-bo")
    response = sign_in("can-bo", PASSWORD, next_url="/endpoints?q=x")
    assert response.status_code == 302
    assert response.headers["Location"] == "/endpoints?q=x"


def test_the_login_page_carries_next_into_its_form(client):
    html = client.get("/login?next=" + quote("/endpoints?q=x", safe="")).get_data(as_text=True)
    assert "next=%2Fendpoints%3Fq%3Dx" in html


@pytest.mark.parametrize("target", [
    "https://evil.example",
    "http://evil.example/endpoints",
    "//evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "/\t/evil.example",
    " //evil.example",
    "javascript:alert(1)",
    "JavaScript:alert(1)",
    "endpoints",
])
def test_next_off_this_site_is_refused(make_user, sign_in, target):
    make_user("viewer", username="can-bo")
    response = sign_in("can-bo", PASSWORD, next_url=target)
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_signed_in_user_visiting_login_is_not_sent_off_site(client, login_as):
    login_as("viewer")
    response = client.get("/login?next=//evil.example")
    assert response.headers["Location"] == "/"
    assert client.get("/login?next=/units").headers["Location"] == "/units"


def test_logout_needs_post_with_csrf(client, login_as):
    login_as("viewer")
    assert client.get("/logout").status_code == 405
    assert client.post("/logout").status_code == 400
    assert is_signed_in(client)

    response = client.post("/logout", data={"csrf_token": _page_csrf(client)})
    assert response.status_code == 302
    assert response.headers["Location"] == "/login"
    assert not is_signed_in(client)


def test_login_form_without_csrf_is_refused(client, make_user):
    make_user("viewer", username="can-bo")
    response = client.post("/login", data={"username": "can-bo", "password": PASSWORD})
    assert response.status_code == 400
    assert "CSRF" in response.get_data(as_text=True)
    assert not is_signed_in(client)


def test_passwords_are_stored_hashed(make_user):
    user = make_user("viewer", username="can-bo")
    row = db.session.execute(sa.text("SELECT * FROM users WHERE id = :id"), {"id": user.id}).mappings().one()
    assert not any(PASSWORD in str(value) for value in row.values())
    assert row["password_hash"].startswith(("pbkdf2:", "scrypt:"))
    from werkzeug.security import check_password_hash

    assert check_password_hash(row["password_hash"], PASSWORD)


def test_each_attempt_is_recorded(make_user, sign_in):
    make_user("viewer", username="can-bo")
    sign_in("can-bo", "sai-mat-khau")
    sign_in("can-bo", PASSWORD)
    attempts = db.session.scalars(sa.select(LoginAttempt).order_by(LoginAttempt.id)).all()
    assert [(a.username, a.is_success) for a in attempts] == [("can-bo", False), ("can-bo", True)]
    assert all("sai-mat-khau" not in (a.username + a.remote_addr) for a in attempts)


def test_the_worker_drops_attempts_older_than_ninety_days(app, make_user, sign_in):
    from vmeeting.auth.jobs import prune_login_attempts
    from vmeeting.core.database import utcnow
    from vmeeting.jobs import ticks

    assert "auth.prune_login_attempts" in ticks(app)
    make_user("viewer", username="can-bo")
    sign_in("can-bo", "sai-mat-khau")
    sign_in("can-bo", PASSWORD)
    old, recent = db.session.scalars(sa.select(LoginAttempt).order_by(LoginAttempt.id)).all()
    old.attempted_at = utcnow() - timedelta(days=91)
    db.session.commit()

    assert prune_login_attempts() == 1
    assert prune_login_attempts() == 0
    assert db.session.scalars(sa.select(LoginAttempt.id)).all() == [recent.id]


def test_behind_a_trusted_proxy_attempts_count_the_clients_address(database_url, make_user):
    from tests.conftest import _make_app, csrf_token

    for proxies, expected in ((0, "127.0.0.1"), (1, "203.0.113.7")):
        proxied = _make_app(database_url, TRUSTED_PROXIES=proxies)
        browser = proxied.test_client()
        with proxied.app_context():
            token = csrf_token(browser, "/login")
            browser.post("/login", data={"username": "ai-do", "password": "sai", "csrf_token": token},
                         headers={"X-Forwarded-For": "203.0.113.7"}, environ_base={"REMOTE_ADDR": "127.0.0.1"})
            attempt = db.session.scalars(sa.select(LoginAttempt).order_by(LoginAttempt.id.desc())).first()
            assert attempt.remote_addr == expected
