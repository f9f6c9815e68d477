"""The sign-in page in a real Chromium."""

import pytest

from tests.conftest import browser_sign_in_by_form as browser_sign_in

pytestmark = pytest.mark.browser


def test_sign_in_lands_on_the_today_board(page, make_user):
    user = make_user("viewer", username="xem")
    browser_sign_in(page, user)
    assert page.url.rstrip("/") == page.evaluate("location.origin")
    assert page.get_by_test_id("current-user").inner_text() == "xem"
