"""Passwords easily guessed are refused wherever one is set, with the reason in Vietnamese (or English)."""

import pytest
import sqlalchemy as sa

from tests.conftest import PASSWORD, csrf_token
from vmeeting.auth import service
from vmeeting.auth.models import User
from vmeeting.auth.passwords import password_weakness
from vmeeting.core.errors import ValidationError
from vmeeting.core.extensions import db

TOO_EASY = "Mật khẩu quá dễ đoán"
OWN_NAMES = "Mật khẩu không được dựa trên tên đăng nhập, họ tên hay địa chỉ thư của bạn"
STRONG = "may-trang-ben-do-bay"


@pytest.mark.parametrize("password", ["12345678", "password", "qwertyuiop", "admin123", "P@ssw0rd1", "aaaaaaaaaa",
                                      "abcdefghij", "iloveyou1"])
def test_common_passwords_are_refused_with_the_reason(app, password):
    with pytest.raises(ValidationError) as refused:
        service.create_user("can-bo", "viewer", password=password)
    assert refused.value.fields["password"].startswith(TOO_EASY)


@pytest.mark.parametrize("password", ["nguyenvana", "nguyenvana2024", "Nguyen-Van-An-99", "An.Nguyen#2025",
                                      "vmeeting-2025"])
def test_passwords_built_from_ones_own_names_are_refused(app, password):
    with pytest.raises(ValidationError) as refused:
        service.create_user("nguyenvana", "viewer", password=password, full_name="Nguyễn Văn An",
                            email="an.nguyen@langson.gov.vn")
    assert refused.value.fields["password"].startswith(OWN_NAMES)


@pytest.mark.parametrize("password", [PASSWORD, STRONG, "correct horse battery staple", "Tr0ub4dor&3-lang",
                                      "mây trắng bay qua bến đò " * 10, "k7#Qz!pL2@vN9$" * 18])
def test_passphrases_pass(app, password):
    assert password_weakness(password, ("nguyenvana", "Nguyễn Văn An", "an@langson.gov.vn")) is None


def test_the_longest_password_allowed_is_judged_on_its_beginning(app):
    assert password_weakness("1" * 256) is not None
    assert password_weakness(STRONG * 12) is None


def test_the_admin_page_refuses_a_weak_first_password_and_names_the_field(client, login_as):
    login_as("admin")
    response = client.post("/users/new", data={
        "csrf_token": csrf_token(client, "/users/new"), "username": "vanphong", "role": "scheduler",
        "password": "12345678"})
    assert response.status_code == 200
    assert TOO_EASY in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(User).where(User.username == "vanphong")) is None


def test_the_admin_page_refuses_a_reset_to_the_users_own_name(client, login_as, make_user):
    login_as("admin")
    user = make_user("viewer", username="hoang-lan", full_name="Hoàng Thị Lan")
    response = client.post(f"/users/{user.id}", data={
        "csrf_token": csrf_token(client, f"/users/{user.id}"), "role": "viewer", "full_name": user.full_name,
        "is_enabled": "y", "password": "hoanglan2025", "confirm_password": "hoanglan2025"})
    assert response.status_code == 200
    assert OWN_NAMES in response.get_data(as_text=True)
    db.session.expire_all()
    assert service._password_matches(db.session.get(User, user.id), PASSWORD)


def test_ones_own_password_change_refuses_a_weak_one(client, login_as):
    login_as("viewer")
    response = client.post("/account/password", data={
        "csrf_token": csrf_token(client, "/account"), "current_password": PASSWORD,
        "new_password": "password1", "confirm_password": "password1"})
    assert response.status_code == 200
    assert TOO_EASY in response.get_data(as_text=True)


def test_the_reason_is_in_english_on_english_pages(client, login_as):
    login_as("viewer")
    client.post("/lang/en", data={"csrf_token": csrf_token(client, "/account"), "next": "/account"})
    response = client.post("/account/password", data={
        "csrf_token": csrf_token(client, "/account"), "current_password": PASSWORD,
        "new_password": "12345678", "confirm_password": "12345678"})
    assert "This password is too easy to guess" in response.get_data(as_text=True)


def test_the_cli_refuses_a_weak_password_in_vietnamese(runner):
    result = runner.invoke(args=["users", "create", "quantri", "--role", "admin", "--password", "12345678"])
    assert result.exit_code == 1
    assert TOO_EASY in result.output
    result = runner.invoke(args=["users", "create", "quantri", "--role", "admin", "--password", STRONG])
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("password", ["Ｐａｓｓｗｏｒｄ１２３", "ｑｗｅｒｔｙｕｉｏｐ", "１２３４５６７８９"])
def test_full_width_letters_are_judged_as_the_letters_they_are(app, password):
    """An East Asian input method types "Ｐａｓｓｗｏｒｄ１２３"; NFKC makes it "Password123", a common password."""
    assert password_weakness(password) is not None


@pytest.mark.parametrize("password", ["vanphongubnd2025", "Langson-Ubnd-99", "UBNDtinh#2026x"])
def test_passwords_built_from_ones_agency_are_refused(app, password):
    with pytest.raises(ValidationError) as refused:
        service.create_user("tran-binh", "scheduler", password=password, full_name="Trần Bình",
                            agency="Văn phòng UBND tỉnh Lạng Sơn")
    assert refused.value.fields["password"].startswith(OWN_NAMES)


def test_an_agencys_common_words_alone_do_not_refuse_a_passphrase(app):
    """"phòng" and "tỉnh" are in every office's name: alone they tell an attacker nothing."""
    assert password_weakness("phong-khach-mua-thu-bay-la", agencies=("Văn phòng UBND tỉnh Lạng Sơn",)) is None


def test_a_password_typed_in_either_unicode_form_signs_in(app):
    """Unikey writes "ắ" as one code point (NFC), other keyboards as "a" with two marks (NFD): the same password."""
    import unicodedata

    typed = "bắc-sơn-mùa-lúa-chín-7"
    user = service.create_user("nguoi-dung", "viewer", password=unicodedata.normalize("NFC", typed))
    db.session.commit()
    assert service.authenticate("nguoi-dung", unicodedata.normalize("NFD", typed), "10.0.0.1") == user
    assert service.authenticate("nguoi-dung", unicodedata.normalize("NFC", typed), "10.0.0.1") == user


def test_a_hash_made_before_normalization_still_signs_in(app):
    from werkzeug.security import generate_password_hash

    user = service.create_user("nguoi-cu", "viewer", password=STRONG)
    raw = "ｍａｙ-ｔｒａｎｇ-ｂｅｎ-ｄｏ-ｂａｙ"
    user.password_hash = generate_password_hash(raw, method="pbkdf2:sha256:1000")
    db.session.commit()
    assert service.authenticate("nguoi-cu", raw, "10.0.0.1") == user
