"""Every page the menu reaches fits the screen, for each role, on a 1366×768 desktop and a 390×844 phone.

Besides the menu's pages, the pages one click away: a meeting, its readiness
board, roll-call, print view and booking form, the calendar's other views, an
endpoint, its network page, an incident and the reports (a role that may not
open one sees the 403 page, which must fit too).
"""

from datetime import timedelta

import pytest

from tests.booking.conftest import book, next_monday, sites  # noqa: F401 (fixtures)
from tests.conftest import browser_sign_in, settled, sideways_overflow

pytestmark = [pytest.mark.browser, pytest.mark.long]

DESKTOP = {"width": 1366, "height": 768}


def overflowing(page, more=()):
    """The pages (of those the menu links to, and `more`) that scroll sideways, with how far."""
    hrefs = page.eval_on_selector_all("#mainnav a.nav-link, #mainnav a.dropdown-item", "links => links.map(a => a.getAttribute('href'))")
    assert hrefs, "the menu is empty"
    found = {}
    for href in ["/", *hrefs, *more]:
        page.goto(href)
        settled(page)
        extra = sideways_overflow(page)
        if extra > 0:
            found[href] = extra
    return found


@pytest.fixture
def busy_week(sites, book, make_user):
    """Two meetings next week and an open incident; return the detail pages one click from the menu."""
    from vmeeting.core.extensions import db
    from vmeeting.network import service as network

    monday = next_monday(8)
    big = book([sites["hall"], *sites["communes"]], monday,
               title="Hội nghị trực tuyến toàn tỉnh triển khai nhiệm vụ năm 2027")
    book([sites["communes"][0]], monday + timedelta(days=1, hours=2), title="Tiếp công dân định kỳ")
    hall, occurrence = sites["hall"], big.occurrences[0]
    incident = network.open_incident(make_user("admin", username="ops"), {
        "endpoint_id": hall.id, "title": "Mất hình từ camera chính của hội trường tầng 3", "severity": "major"})
    db.session.commit()
    return [f"/meetings/{big.id}", f"/meetings/{big.id}/readiness", f"/meetings/{big.id}/print",
            f"/meetings/{big.id}/occurrences/{occurrence.id}/attendance", f"/meetings/{big.id}/edit", "/meetings/new",
            f"/calendar?view=sites&date={monday.date()}", f"/calendar?view=month&date={monday.date()}",
            f"/calendar?view=list&date={monday.date()}", f"/endpoints/{hall.id}", f"/network/endpoints/{hall.id}",
            f"/incidents/{incident.id}", "/incidents/report", "/readiness/report", "/reports/attendance"]


@pytest.mark.parametrize("role", ["admin", "scheduler", "technician", "viewer"])
def test_menu_pages_fit_a_desktop(page, make_user, busy_week, role):
    page.set_viewport_size(DESKTOP)
    browser_sign_in(page, make_user(role, username=f"u{role}"))
    assert overflowing(page, busy_week) == {}


@pytest.mark.parametrize("role", ["admin", "scheduler", "technician", "viewer"])
def test_menu_pages_fit_a_phone(phone_page, make_user, busy_week, role):
    browser_sign_in(phone_page, make_user(role, username=f"u{role}"))
    assert overflowing(phone_page, busy_week) == {}
