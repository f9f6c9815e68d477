"""The user and account pages in English: the service's reasons said in English there, Vietnamese elsewhere.

The auth service keeps its Vietnamese (the CLI and the audit use it as it is);
the user form and the account page say it in the page's language through `text.shown`.
"""


import pytest
from flask import session

from tests.conftest import PASSWORD, csrf_token, page_text, switch_to_english
from vmeeting.auth import service
from vmeeting.core.errors import ValidationError



def new_user(client, username, password="may-trang-ben-do-bay"):
    return client.post("/users/new", data={"csrf_token": csrf_token(client, "/users/new"), "username": username,
                                           "role": "scheduler", "password": password})


def test_a_taken_user_name_is_refused_in_english_on_the_english_page(client, login_as, make_user):
    make_user("viewer", username="vanphong")
    login_as("admin")
    switch_to_english(client, "/users")
    text = page_text(new_user(client, "VanPhong"))
    assert "The user name «vanphong» is already taken." in text
    assert "đã có" not in text


def test_a_taken_user_name_stays_vietnamese_on_the_vietnamese_page(client, login_as, make_user):
    make_user("viewer", username="vanphong")
    login_as("admin")
    assert "Tên đăng nhập «vanphong» đã có." in page_text(new_user(client, "vanphong"))


def test_the_last_admin_is_told_in_english_why_they_cannot_step_down(client, login_as):
    admin = login_as("admin")
    switch_to_english(client, "/users")
    response = client.post(f"/users/{admin.id}", data={
        "csrf_token": csrf_token(client, f"/users/{admin.id}"), "role": "viewer", "full_name": "",
        "is_enabled": "y"})
    assert response.status_code == 200
    text = page_text(response)
    assert "This is the only active administrator: make someone else an administrator first." in text
    assert "quản trị viên duy nhất" not in text


def test_the_account_page_gives_the_services_and_the_forms_reasons_in_english(client, login_as):
    login_as("viewer")
    switch_to_english(client, "/account")
    text = page_text(client.post("/account/password", data={
        "csrf_token": csrf_token(client, "/account"), "current_password": "not-my-password",
        "new_password": "may-trang-ben-do-bay", "confirm_password": "may-trang-ben-do-bay"}))
    assert "The current password is wrong." in text and "không đúng" not in text
    text = page_text(client.post("/account/password", data={
        "csrf_token": csrf_token(client, "/account"), "current_password": PASSWORD,
        "new_password": "ngan", "confirm_password": "khac"}))
    assert "A password needs 8 to 256 characters." in text
    assert "The two passwords do not match." in text


def test_the_password_reason_is_kept_in_vietnamese_by_the_service_even_for_an_english_page(app):
    """Only the page translates: the service's reason is the Vietnamese, whatever the request's language."""
    with app.test_request_context():
        session["lang"] = "en"
        with pytest.raises(ValidationError) as refused:
            service.create_user("can-bo", "viewer", password="12345678")
    assert refused.value.fields["password"].startswith("Mật khẩu quá dễ đoán")
    with pytest.raises(ValidationError) as refused:
        service.create_user("can-bo", "viewer", password="ngan")
    assert refused.value.fields["password"] == "Mật khẩu cần ít nhất 8 ký tự."
