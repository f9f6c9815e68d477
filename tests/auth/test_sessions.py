"""Sessions live on the server: sign-out ends them, so a copied cookie is worth nothing afterwards."""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from tests.conftest import PASSWORD, csrf_token
from vmeeting.auth.models import UserSession
from vmeeting.core.database import utcnow
from vmeeting.core.extensions import db


def is_signed_in(client):
    return client.get("/account").status_code == 200


def copy_of(client, *names):
    """A second browser holding copies of the named cookies of the first, as a thief would."""
    thief = client.application.test_client()
    for name in names:
        cookie = client.get_cookie(name)
        assert cookie is not None, name
        thief.set_cookie(name, cookie.value)
    return thief


def sign_out(client):
    return client.post("/logout", data={"csrf_token": csrf_token(client, "/account")})


def test_a_session_cookie_copied_before_sign_out_no_longer_works(make_user, browser):
    owner = browser(make_user("scheduler"))
    thief = copy_of(owner, "session")
    assert is_signed_in(thief)  # the copy works while the session lasts...

    assert sign_out(owner).status_code == 302
    assert not is_signed_in(owner)
    assert not is_signed_in(thief)  # ...and not after it ended


def test_a_remember_me_cookie_copied_before_sign_out_no_longer_works(app, make_user, browser):
    owner = browser(make_user("scheduler"), remember=True)
    thief = copy_of(owner, app.config.get("REMEMBER_COOKIE_NAME", "remember_token"))
    assert is_signed_in(thief)
    sign_out(owner)
    assert not is_signed_in(thief)


def test_sign_out_everywhere_ends_every_browser_of_the_user_only(app, make_user, browser):
    user, other = make_user("viewer"), make_user("viewer")
    office, phone = browser(user), browser(user, remember=True)
    stranger = browser(other)
    thief = copy_of(phone, app.config.get("REMEMBER_COOKIE_NAME", "remember_token"))
    assert "Đăng xuất khỏi mọi nơi" in office.get("/account").get_data(as_text=True)

    response = office.post("/account/sessions/end", data={"csrf_token": csrf_token(office, "/account")})
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    assert not is_signed_in(office)
    assert not is_signed_in(phone)
    assert not is_signed_in(thief)
    assert is_signed_in(stranger)


def test_a_browser_whose_session_ended_elsewhere_is_told_and_forgets_its_cookie(app, make_user, browser):
    user = make_user("viewer")
    office, phone = browser(user), browser(user, remember=True)
    office.post("/account/sessions/end", data={"csrf_token": csrf_token(office, "/account")})
    response = phone.get("/account", follow_redirects=True)
    assert "Phiên đăng nhập đã kết thúc" in response.get_data(as_text=True)
    assert phone.get_cookie(app.config.get("REMEMBER_COOKIE_NAME", "remember_token")) is None


def test_sign_out_everywhere_needs_csrf(make_user, browser):
    office = browser(make_user("viewer"))
    assert office.post("/account/sessions/end").status_code == 400
    assert is_signed_in(office)


def test_the_remember_me_cookie_is_samesite_lax_and_lasts_at_most_30_days(app, make_user, browser):
    owner = browser(make_user("viewer"), remember=True)
    name = app.config.get("REMEMBER_COOKIE_NAME", "remember_token")
    header = next(h for h in owner.login_response.headers.getlist("Set-Cookie") if h.startswith(name + "="))
    assert "SameSite=Lax" in header and "HttpOnly" in header
    cookie = owner.get_cookie(name)
    assert cookie.expires is not None
    assert cookie.expires - utcnow() <= timedelta(days=30, minutes=1)


def test_a_session_is_honoured_at_most_30_days_on_the_server(make_user, browser):
    owner = browser(make_user("viewer"), remember=True)
    row = db.session.scalars(sa.select(UserSession)).one()
    assert row.expires_at - row.created_at == timedelta(days=30)
    row.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert not is_signed_in(owner)


def test_the_account_page_lists_the_open_sessions(make_user, browser):
    user = make_user("viewer")
    office, phone = browser(user), browser(user)
    sign_out(phone)
    page = office.get("/account").get_data(as_text=True)
    assert page.count("trình duyệt này") == 1
    rows = db.session.scalars(sa.select(UserSession).order_by(UserSession.id)).all()
    assert [r.ended_at is None for r in rows] == [True, False]
    assert all(len(r.key_hash) == 64 for r in rows)  # the key itself is never stored


def test_a_password_change_ends_the_other_sessions_and_keeps_this_one(make_user, browser):
    user = make_user("viewer")
    office, phone = browser(user), browser(user)
    response = office.post("/account/password", data={
        "current_password": PASSWORD, "new_password": "bien-xanh-cat-trang-9", "confirm_password": "bien-xanh-cat-trang-9",
        "csrf_token": csrf_token(office, "/account")})
    assert response.status_code == 302
    assert is_signed_in(office)
    assert not is_signed_in(phone)
    open_rows = db.session.scalars(sa.select(UserSession).where(UserSession.ended_at.is_(None))).all()
    assert len(open_rows) == 1


def test_the_worker_drops_sessions_ended_long_ago(app, make_user, browser):
    from vmeeting.auth.jobs import prune_sessions
    from vmeeting.jobs import ticks

    assert "auth.prune_sessions" in ticks(app)
    user = make_user("viewer")
    old, recent = browser(user), browser(user)
    sign_out(old)
    first, second = db.session.scalars(sa.select(UserSession).order_by(UserSession.id)).all()
    first.ended_at = utcnow() - timedelta(days=91)
    db.session.commit()
    assert prune_sessions() == 1
    assert db.session.scalars(sa.select(UserSession.id)).all() == [second.id]
    assert is_signed_in(recent)


def test_a_client_that_never_shows_a_page_keeps_a_small_cookie(client, make_user, login):
    """Signed out, 200 requests for pages it may not see, redirects not followed (a script, restored tabs):
    the session holds "please sign in" once, not 200 times, and the sign-in page shows it once."""
    for n in range(200):
        response = client.get(f"/meetings?page={n}")
        assert response.status_code == 302
    cookie = client.get_cookie("session")
    assert len(cookie.value) < 500, len(cookie.value)
    page = client.get("/login").get_data(as_text=True)
    assert page.count("Vui lòng đăng nhập để tiếp tục.") == 1


@pytest.mark.parametrize("value", ["1|é", "é", "1|\u202e", "x|ＡＢ"])
def test_a_planted_cookie_of_non_ascii_text_is_ignored(client, make_user, login, value):
    """No server sets such a cookie (RFC 6265 section 4.1.1); Flask-Login's digest check raised on one: 500s."""
    client.set_cookie("remember_token", value)
    for path in ("/healthz", "/login", "/"):
        assert client.get(path).status_code in (200, 302), path
    login(make_user("viewer"))
    client.set_cookie("remember_token", value)
    client.set_cookie("lang", "é")
    assert client.get("/").status_code == 200


@pytest.mark.parametrize("path", ["/meetings", "/calendar/resources", "/account"])
def test_a_pages_script_signed_out_gets_401_and_the_person_is_still_told(client, path):
    """A fetch (Sec-Fetch-Mode: cors or same-origin) is not redirected to the sign-in page, which it would read as
    a 200 answer; nothing is flashed for it, so the next page a person opens still says why they must sign in."""
    for mode in ("cors", "same-origin", "no-cors"):
        response = client.get(path, headers={"Sec-Fetch-Mode": mode, "Accept": "application/json"})
        assert response.status_code == 401, (path, mode)
        assert response.get_json()["error"]["code"] == "signed_out"
    with client.session_transaction() as session:
        assert "_flashes" not in session
    response = client.get(path, headers={"Sec-Fetch-Mode": "navigate"})
    assert response.status_code == 302 and "/login?next=" in response.headers["Location"]
    assert client.get(path).status_code == 302  # a client that says nothing is a person's browser or a script
    assert "Vui lòng đăng nhập để tiếp tục." in client.get("/login").get_data(as_text=True)
