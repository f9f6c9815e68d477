"""User management (admins only), the account page, API tokens and the last-admin rule."""

import hashlib
import re

import pytest
import sqlalchemy as sa

from tests.conftest import PASSWORD, csrf_token
from vmeeting.audit.models import AuditEvent
from vmeeting.auth import service
from vmeeting.auth.models import ApiToken, User
from vmeeting.core.errors import ValidationError
from vmeeting.core.extensions import db

ROLES = ("admin", "scheduler", "technician", "viewer")
TOKEN_RE = re.compile(r"vmt_[A-Za-z0-9_-]{40,}")


def admin_pages(user_id):
    """The admin pages as (method, path), for a user id that exists."""
    return [
        ("GET", "/users"),
        ("GET", "/users/new"),
        ("POST", "/users/new"),
        ("GET", f"/users/{user_id}"),
        ("POST", f"/users/{user_id}"),
        ("POST", f"/users/{user_id}/tokens"),
        ("POST", f"/users/{user_id}/tokens/1/revoke"),
    ]


def _send(client, method, path, token):
    return client.open(path, method=method, data={"csrf_token": token} if method == "POST" else None)


@pytest.mark.parametrize("role", ROLES)
def test_only_admins_manage_users(client, make_user, login_as, role):
    other = make_user("viewer")
    login_as(role)
    token = csrf_token(client, "/account")
    for method, path in admin_pages(other.id):
        response = _send(client, method, path, token)
        if role == "admin":
            assert response.status_code in (200, 302, 404), (method, path, response.status_code)
        else:
            assert response.status_code == 403, (method, path)


def test_anonymous_is_sent_to_sign_in(client, make_user):
    other = make_user("viewer")
    for method, path in [*admin_pages(other.id), ("GET", "/account"), ("POST", "/account/tokens"),
                         ("POST", "/account/password"), ("POST", "/account/tokens/1/revoke")]:
        response = client.open(path, method=method)
        if method == "POST":
            # CSRF is checked before anything else: an anonymous post without a token goes nowhere.
            assert response.status_code == 400, (method, path)
        else:
            assert response.status_code == 302, (method, path)
            assert response.headers["Location"].startswith("/login?next="), path


@pytest.mark.parametrize("role", ROLES)
def test_every_role_has_an_account_page(client, login_as, role):
    user = login_as(role)
    html = client.get("/account").get_data(as_text=True)
    assert "Tài khoản của tôi" in html
    assert user.username in html


def test_menu_shows_users_to_admins_only(client, login_as, make_user, login):
    login_as("admin")
    html = client.get("/account").get_data(as_text=True)
    assert 'href="/users"' in html
    assert 'href="/account"' in html
    client.post("/logout", data={"csrf_token": csrf_token(client, "/account")})
    login(make_user("scheduler"))
    html = client.get("/account").get_data(as_text=True)
    assert 'href="/users"' not in html
    assert 'href="/account"' in html


def test_user_list_shows_each_user(client, login_as, make_user):
    login_as("admin")
    tech = make_user("technician", username="kt-dinh-lap", email="kt@langson.gov.vn", full_name="Hoàng Văn Kỹ")
    service.update_user(tech, {"is_enabled": False})
    db.session.commit()
    html = client.get("/users").get_data(as_text=True)
    for text in ("kt-dinh-lap", "kt@langson.gov.vn", "Hoàng Văn Kỹ", "Kỹ thuật viên", "Đã khóa",
                 "Đăng nhập gần nhất"):
        assert text in html


def test_admin_creates_a_user(client, login_as):
    admin = login_as("admin")
    token = csrf_token(client, "/users/new")
    response = client.post("/users/new", data={
        "csrf_token": token, "username": "VanPhong", "full_name": "Nguyễn Thị Lan", "email": "lan@langson.gov.vn",
        "role": "scheduler", "password": "mat-khau-moi-1",
    })
    assert response.status_code == 302
    user = service.get_user_by_name("vanphong")
    assert (user.role, user.full_name, user.email, user.is_enabled) == ("scheduler", "Nguyễn Thị Lan",
                                                                          "lan@langson.gov.vn", True)
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.entity_type == "user",
                                                          AuditEvent.entity_id == str(user.id)))
    assert (event.action, event.actor_id) == ("create", admin.id)


def test_a_user_belongs_to_an_agency_set_in_the_admin_pages(client, login_as, make_user):
    """The agency is named as the organizer of the user's invites ("Cơ quan mời")."""
    login_as("admin")
    response = client.post("/users/new", data={
        "csrf_token": csrf_token(client, "/users/new"), "username": "vp-huyen", "full_name": "Đinh Văn Tú",
        "agency": "  Văn phòng HĐND và UBND huyện Chi Lăng ", "role": "scheduler", "password": "mat-khau-moi-1",
    })
    assert response.status_code == 302
    user = service.get_user_by_name("vp-huyen")
    assert user.agency == "Văn phòng HĐND và UBND huyện Chi Lăng"
    assert "Văn phòng HĐND và UBND huyện Chi Lăng" in client.get("/users").get_data(as_text=True)
    page = client.get(f"/users/{user.id}").get_data(as_text=True)
    assert 'value="Văn phòng HĐND và UBND huyện Chi Lăng"' in page
    response = client.post(f"/users/{user.id}", data={
        "csrf_token": csrf_token(client, f"/users/{user.id}"), "full_name": "Đinh Văn Tú", "role": "scheduler",
        "agency": "Văn phòng UBND tỉnh Lạng Sơn", "is_enabled": "y"})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(User, user.id).agency == "Văn phòng UBND tỉnh Lạng Sơn"
    event = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.entity_type == "user",
                                                           AuditEvent.action == "update")).one()
    assert event.changes["agency"] == ["Văn phòng HĐND và UBND huyện Chi Lăng", "Văn phòng UBND tỉnh Lạng Sơn"]
    response = client.post(f"/users/{user.id}", data={
        "csrf_token": csrf_token(client, f"/users/{user.id}"), "role": "scheduler", "agency": "x" * 201,
        "is_enabled": "y"})
    assert response.status_code == 200 and "Tối đa 200 ký tự." in response.get_data(as_text=True)
    with pytest.raises(ValidationError) as caught:
        service.update_user(user, {"agency": "x" * 201})
    assert caught.value.fields == {"agency": "Tên cơ quan tối đa 200 ký tự."}
    db.session.rollback()
    db.session.expire_all()
    assert db.session.get(User, user.id).agency == "Văn phòng UBND tỉnh Lạng Sơn"


def test_create_names_each_bad_field(client, login_as, make_user):
    login_as("admin")
    make_user("viewer", username="da-co")
    response = client.post("/users/new", data={
        "csrf_token": csrf_token(client, "/users/new"), "username": "da-co", "email": "khong-phai-thu",
        "role": "viewer", "password": "ngan",
    })
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Địa chỉ thư không hợp lệ." in html
    assert "Mật khẩu cần từ 8" in html
    response = client.post("/users/new", data={
        "csrf_token": csrf_token(client, "/users/new"), "username": "da-co", "role": "viewer",
        "password": "mat-khau-du-dai",
    })
    assert "Tên đăng nhập «da-co» đã có." in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 2


def test_admin_edits_role_name_email_state_and_password(client, login_as, make_user):
    login_as("admin")
    user = make_user("viewer", username="can-bo")
    response = client.post(f"/users/{user.id}", data={
        "csrf_token": csrf_token(client, f"/users/{user.id}"), "full_name": "Lý Thị Mai", "email": "mai@example.vn",
        "role": "technician", "password": "mat-khau-thu-hai",
    })
    assert response.status_code == 302
    db.session.expire_all()
    user = db.session.get(User, user.id)
    assert (user.role, user.full_name, user.email, user.is_enabled) == ("technician", "Lý Thị Mai",
                                                                          "mai@example.vn", False)
    event = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.entity_type == "user",
                                                           AuditEvent.action == "update")).one()
    assert event.changes["role"] == ["viewer", "technician"]
    assert event.changes["is_enabled"] == [True, False]
    assert event.changes["password"] == ["***", "***"]
    assert "mat-khau-thu-hai" not in str(event.changes)

    service.update_user(user, {"is_enabled": True})
    db.session.commit()
    fresh = client.application.test_client()
    form = csrf_token(fresh, "/login")
    assert fresh.post("/login", data={"username": "can-bo", "password": PASSWORD, "csrf_token": form}).status_code == 200
    assert fresh.post("/login", data={"username": "can-bo", "password": "mat-khau-thu-hai",
                                      "csrf_token": form}).status_code == 302


def test_a_new_password_set_by_an_admin_ends_the_users_sessions(client, login_as, make_user, browser):
    user = make_user("scheduler")
    theirs = browser(user)
    assert theirs.get("/account").status_code == 200

    login_as("admin")
    client.post(f"/users/{user.id}", data={
        "csrf_token": csrf_token(client, f"/users/{user.id}"), "role": "scheduler", "is_enabled": "y",
        "password": "mat-khau-da-doi",
    })
    response = theirs.get("/account")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


def test_the_last_admin_cannot_demote_or_disable_themselves(client, login_as):
    admin = login_as("admin")
    for data in ({"role": "viewer", "is_enabled": "y"}, {"role": "admin"}):
        response = client.post(f"/users/{admin.id}", data={"csrf_token": csrf_token(client, f"/users/{admin.id}"),
                                                           **data})
        assert response.status_code == 200
        assert "quản trị viên duy nhất" in response.get_data(as_text=True)
    db.session.expire_all()
    admin = db.session.get(User, admin.id)
    assert (admin.role, admin.is_enabled) == ("admin", True)
    assert client.get("/users").status_code == 200


def test_a_disabled_admin_does_not_count(login_as, make_user):
    from vmeeting.core.errors import ValidationError

    admin = login_as("admin")
    other = make_user("admin")
    service.update_user(other, {"is_enabled": False})
    db.session.commit()
    with pytest.raises(ValidationError) as refused:
        service.update_user(admin, {"role": "scheduler"})
    assert "role" in refused.value.fields


def test_an_admin_may_step_down_when_another_remains(client, login_as, make_user):
    admin = login_as("admin")
    make_user("admin")
    response = client.post(f"/users/{admin.id}", data={"csrf_token": csrf_token(client, f"/users/{admin.id}"),
                                                       "role": "scheduler", "is_enabled": "y"})
    assert response.status_code == 302
    assert response.headers["Location"] == "/account"
    assert client.get("/users").status_code == 403


def test_edit_refuses_a_bad_email(client, login_as, make_user):
    login_as("admin")
    user = make_user("viewer", email="cu@example.vn")
    response = client.post(f"/users/{user.id}", data={"csrf_token": csrf_token(client, f"/users/{user.id}"),
                                                      "role": "viewer", "is_enabled": "y", "email": "a@b@c"})
    assert "Địa chỉ thư không hợp lệ." in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(User, user.id).email == "cu@example.vn"


def test_unknown_user_is_404(client, login_as):
    login_as("admin")
    assert client.get("/users/999999").status_code == 404
    assert client.get("/users/99999999999999999999").status_code == 404


# -- my account ------------------------------------------------------------------------


def _change_password(client, current, new, confirm=None):
    return client.post("/account/password", data={
        "csrf_token": csrf_token(client, "/account"), "current_password": current, "new_password": new,
        "confirm_password": new if confirm is None else confirm,
    })


def test_change_password_asks_for_the_current_one(client, login_as, browser):
    user = login_as("viewer")
    other_browser = browser(user)

    html = _change_password(client, "sai-mat-khau", "mat-khau-moi-1").get_data(as_text=True)
    assert "Mật khẩu hiện tại không đúng." in html
    html = _change_password(client, PASSWORD, "mat-khau-moi-1", "mat-khau-moi-2").get_data(as_text=True)
    assert "Hai mật khẩu không khớp." in html
    html = _change_password(client, PASSWORD, "ngan").get_data(as_text=True)
    assert "Mật khẩu cần từ 8" in html

    response = _change_password(client, PASSWORD, "mat-khau-moi-1")
    assert response.status_code == 302
    assert client.get("/account").status_code == 200  # this browser stays signed in
    assert other_browser.get("/account").status_code == 302  # the other one does not
    db.session.expire_all()
    assert service.authenticate(user.username, "mat-khau-moi-1", "10.0.0.1").id == user.id


def test_token_is_shown_once_and_stored_as_sha256(client, login_as):
    user = login_as("technician")
    response = client.post("/account/tokens", data={"csrf_token": csrf_token(client, "/account")})
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    token = TOKEN_RE.search(response.get_data(as_text=True)).group(0)

    stored = db.session.scalars(sa.select(ApiToken).where(ApiToken.user_id == user.id)).one()
    assert stored.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token.startswith(stored.prefix)
    raw = db.session.execute(sa.text("SELECT * FROM api_tokens")).mappings().one()
    assert not any(token in str(value) for value in raw.values())

    html = client.get("/account").get_data(as_text=True)
    assert token not in html
    assert stored.prefix in html
    assert "Chưa dùng" in html

    assert client.get("/api/v1/units", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    db.session.expire_all()
    assert db.session.get(ApiToken, stored.id).last_used_at is not None


def test_a_revoked_token_gets_401(client, login_as):
    login_as("viewer")
    html = client.post("/account/tokens", data={"csrf_token": csrf_token(client, "/account")}).get_data(as_text=True)
    token = TOKEN_RE.search(html).group(0)
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/endpoints", headers=headers).status_code == 200

    stored = db.session.scalars(sa.select(ApiToken)).one()
    response = client.post(f"/account/tokens/{stored.id}/revoke", data={"csrf_token": csrf_token(client, "/account")})
    assert response.status_code == 302
    response = client.get("/api/v1/endpoints", headers=headers)
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "unauthorized"
    html = client.get("/account").get_data(as_text=True)
    assert f"Đã thu hồi mã {stored.prefix}…" in html
    assert "Chưa có mã API nào." in html


def test_nobody_revokes_another_users_token_from_their_account(client, login_as, make_user):
    victim = make_user("scheduler")
    service.issue_token(victim)
    db.session.commit()
    victim_token = db.session.scalars(sa.select(ApiToken)).one()
    login_as("admin")  # even an admin: the account page is about oneself
    response = client.post(f"/account/tokens/{victim_token.id}/revoke",
                           data={"csrf_token": csrf_token(client, "/account")})
    assert response.status_code == 404
    db.session.expire_all()
    assert db.session.get(ApiToken, victim_token.id).revoked_at is None


def test_token_forms_need_csrf(client, login_as):
    login_as("viewer")
    assert client.post("/account/tokens").status_code == 400
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ApiToken)) == 0


def test_admin_issues_and_revokes_tokens_for_others(client, login_as, make_user):
    admin = login_as("admin")
    tech = make_user("technician")
    response = client.post(f"/users/{tech.id}/tokens", data={"csrf_token": csrf_token(client, f"/users/{tech.id}")})
    assert response.headers["Cache-Control"] == "no-store"
    token = TOKEN_RE.search(response.get_data(as_text=True)).group(0)
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/units", headers=headers).status_code == 200
    stored = db.session.scalars(sa.select(ApiToken)).one()
    assert stored.user_id == tech.id
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.entity_type == "api_token"))
    assert event.actor_id == admin.id

    # A token id that belongs to someone else is not found under this user.
    assert client.post(f"/users/{admin.id}/tokens/{stored.id}/revoke",
                       data={"csrf_token": csrf_token(client, "/users")}).status_code == 404
    response = client.post(f"/users/{tech.id}/tokens/{stored.id}/revoke",
                           data={"csrf_token": csrf_token(client, "/users")})
    assert response.status_code == 302
    assert client.get("/api/v1/units", headers=headers).status_code == 401


def test_english_catalogue_translates_the_pages(client, login_as):
    login_as("admin")
    client.post("/lang/en", data={"csrf_token": csrf_token(client, "/account"), "next": "/users"})
    html = client.get("/users").get_data(as_text=True)
    assert "Add user" in html
    assert "Last sign-in" in html
    assert "My account" in client.get("/account").get_data(as_text=True)


def test_a_remembered_browser_is_signed_out_by_a_password_reset(client, make_user, login_as, browser):
    """The remember-me cookie carries the password stamp, so a reset ends it too."""
    user = make_user("scheduler")
    remembered = browser(user, remember=True)
    assert remembered.get_cookie("remember_token") is not None
    remembered.delete_cookie("session")  # the browser was closed; only the cookie remains
    assert remembered.get("/account").status_code == 200  # the cookie alone signs in

    login_as("admin")
    response = client.post(f"/users/{user.id}", data={
        "csrf_token": csrf_token(client, f"/users/{user.id}"), "role": "scheduler", "full_name": user.full_name,
        "email": user.email or "", "is_enabled": "y", "password": "mat-khau-moi-1"})
    assert response.status_code == 302

    remembered.delete_cookie("session")
    response = remembered.get("/account")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert remembered.get_cookie("remember_token") is None  # dropped, not just refused
    assert "Mật khẩu đã được đổi" in remembered.get("/login").get_data(as_text=True)
