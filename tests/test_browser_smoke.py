"""The sign-in page in a real Chromium."""

import pytest

from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser


def test_sign_in_lands_on_the_today_board(page, make_user):
    user = make_user("viewer", username="xem")
    page.goto("/login")
    page.get_by_label("Tên đăng nhập").fill(user.username)
    page.get_by_label("Mật khẩu").fill(PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_url("**/")
    assert page.get_by_test_id("current-user").inner_text() == "xem"
