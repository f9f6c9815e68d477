"""Every page the menu reaches fits the screen, for each role, on a 1366×768 desktop and a 390×844 phone."""

from datetime import timedelta

import pytest

from tests.booking.conftest import book, next_monday, sites  # noqa: F401 (fixtures)
from tests.conftest import browser_sign_in

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1366, "height": 768}


def overflowing(page):
    """The pages (of those the menu links to) that scroll sideways, with how far."""
    hrefs = page.eval_on_selector_all("#mainnav .nav-link", "links => links.map(a => a.getAttribute('href'))")
    assert hrefs, "the menu is empty"
    found = {}
    for href in ["/", *hrefs]:
        page.goto(href)
        page.wait_for_load_state("networkidle")
        extra = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        if extra > 0:
            found[href] = extra
    return found


@pytest.fixture
def busy_week(sites, book):
    monday = next_monday(8)
    book([sites["hall"], *sites["communes"]], monday, title="Hội nghị trực tuyến toàn tỉnh triển khai nhiệm vụ năm 2027")
    book([sites["communes"][0]], monday + timedelta(days=1, hours=2), title="Tiếp công dân định kỳ")
    return monday


@pytest.mark.parametrize("role", ["admin", "scheduler", "technician", "viewer"])
def test_menu_pages_fit_a_desktop(page, make_user, busy_week, role):
    page.set_viewport_size(DESKTOP)
    browser_sign_in(page, make_user(role, username=f"u{role}"))
    assert overflowing(page) == {}


@pytest.mark.parametrize("role", ["admin", "scheduler", "technician", "viewer"])
def test_menu_pages_fit_a_phone(phone_page, make_user, busy_week, role):
    browser_sign_in(phone_page, make_user(role, username=f"u{role}"))
    assert overflowing(phone_page) == {}
