"""On a phone, a technician confirms a site; on a desktop, the organizer's board turns green by itself."""

import re

import pytest
from playwright.sync_api import expect

from tests.conftest import browser_sign_in
from vmeeting.extensions import db
from vmeeting.registry import service as registry

pytestmark = pytest.mark.browser


def test_technician_confirms_on_a_phone_and_the_board_follows(page, phone_page, sitting):
    registry.update_endpoint(sitting.hall, {"probe": "none"})
    db.session.commit()
    site = sitting.communes[0]

    browser_sign_in(page, sitting.organizer.username)
    page.goto(f"/meetings/{sitting.meeting.id}")
    page.get_by_test_id("readiness-board-link").click()
    tile = page.locator(f'[data-testid=tile][data-endpoint-id="{site.id}"]')
    expect(tile).to_have_attribute("data-state", "pending")
    expect(page.locator('[data-count="ready"]')).to_have_text("0")
    page.get_by_test_id("filter-not-ready").check()
    page.evaluate("window.__notReloaded = true")

    browser_sign_in(phone_page, sitting.tech_a.username)
    phone_page.get_by_role("button", name="Menu").click()
    phone_page.get_by_role("link", name="Sẵn sàng").click()
    card = phone_page.locator(f'[data-testid=my-site][data-endpoint-id="{site.id}"]')
    expect(phone_page.get_by_test_id("my-site")).to_have_count(2)
    ready_button = card.get_by_test_id("confirm-ready")
    box = ready_button.bounding_box()
    assert box["height"] >= 44 and box["width"] >= 120  # a thumb can hit it
    for name in ("camera", "microphone", "display", "network", "test_call"):
        card.get_by_test_id(f"check-{name}").tap()
    ready_button.tap()
    expect(phone_page.get_by_role("alert")).to_contain_text(f"Đã ghi nhận: {site.name} – Sẵn sàng")
    expect(phone_page.locator(f'[data-testid=my-site][data-endpoint-id="{site.id}"] [data-testid=site-status]')
           ).to_have_text("Sẵn sàng")
    # the confirmed site folds to its header; the one still to do stays open
    expect(card.get_by_test_id("confirm-ready")).to_be_hidden()
    other = phone_page.locator(f'[data-testid=my-site]:not([data-endpoint-id="{site.id}"])')
    expect(other.get_by_test_id("confirm-ready")).to_be_visible()

    # the organizer's page was never reloaded: the tile and the counts change in place
    expect(tile).to_have_attribute("data-state", "ready", timeout=15000)
    expect(tile).to_have_class(re.compile(r"text-bg-success"))
    expect(page.locator('[data-count="ready"]')).to_have_text("1")
    expect(page.locator('[data-count="pending"]')).to_have_text("4")
    expect(tile).to_be_hidden()  # the filter hides what is ready now
    assert page.evaluate("window.__notReloaded") is True


def test_the_board_of_the_whole_province_fits_one_screen_and_filters_the_not_ready(page):
    """213 sites as a grid by district on a 1366×768 screen; the switch leaves only the sites not ready."""
    import sqlalchemy as sa

    from tests.test_screenshots import sign_in as demo_sign_in
    from vmeeting.booking.models import Meeting
    from vmeeting.demo.loader import load_demo
    from vmeeting.readiness.models import Readiness

    load_demo()
    db.session.commit()
    meeting = max(db.session.scalars(sa.select(Meeting)), key=lambda m: m.endpoint_count)
    assert meeting.endpoint_count == 213
    occurrence = meeting.occurrences[0]
    sites = [e.id for e in meeting.endpoints]
    db.session.add_all([Readiness(occurrence_id=occurrence.id, endpoint_id=i, status="ready", is_reachable=True)
                        for i in sites[:150]])
    db.session.add(Readiness(occurrence_id=occurrence.id, endpoint_id=sites[150], status="issue", note="Mất tiếng",
                             is_reachable=False))
    db.session.commit()

    page.set_viewport_size({"width": 1366, "height": 768})
    demo_sign_in(page, "scheduler")
    page.goto(f"/meetings/{meeting.id}/readiness?occurrence_id={occurrence.id}")
    counts = page.get_by_test_id("board-counts")
    numbers = {name: int(counts.locator(f'[data-count="{name}"]').inner_text())
               for name in ("ready", "issue", "pending", "unreachable", "total")}
    assert numbers == {"ready": 150, "issue": 1, "pending": 62, "unreachable": 0, "total": 213}
    tiles = page.get_by_test_id("tile")
    assert tiles.count() == 213
    grid = page.get_by_test_id("readiness-grid").bounding_box()
    assert grid["y"] + grid["height"] <= 768 + 200, grid  # the grid itself is at most a screen tall
    assert grid["height"] <= 768 - 120, grid
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

    page.get_by_test_id("filter-not-ready").check()
    assert page.locator("[data-testid=tile]:visible").count() == 63
    expect(page.locator(f'[data-testid=tile][data-endpoint-id="{sites[150]}"]')).to_have_attribute(
        "data-state", "issue")
