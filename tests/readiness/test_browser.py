"""On a phone, a technician confirms a site; on a desktop, the organizer's board turns green by itself."""

import re

import pytest
from playwright.sync_api import expect

from tests.conftest import PASSWORD, box_of, browser_sign_in, sideways_overflow
from vmeeting.core.extensions import db
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
    box = box_of(ready_button)
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
    expect(tile).to_have_class(re.compile(r"\bv-ready\b"))
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
    # each site once: the issue no probe reaches counts as unreachable (readiness.verdict)
    assert numbers == {"ready": 150, "issue": 0, "pending": 62, "unreachable": 1, "total": 213}
    tiles = page.get_by_test_id("tile")
    expect(tiles).to_have_count(213)
    grid = box_of(page.get_by_test_id("readiness-grid"))
    assert grid["y"] + grid["height"] <= 768 + 200, grid  # the grid itself is at most a screen tall
    assert grid["height"] <= 768 - 120, grid
    assert sideways_overflow(page) == 0

    page.get_by_test_id("filter-not-ready").check()
    expect(page.locator("[data-testid=tile]:visible")).to_have_count(63)
    expect(page.locator(f'[data-testid=tile][data-endpoint-id="{sites[150]}"]')).to_have_attribute(
        "data-state", "unreachable")


def test_on_a_slow_link_the_buttons_are_measured_once_styled(phone_page, sitting):
    """The thumb-size check of the first test, on a link slow enough that the page's elements are
    there before its stylesheet (CI once measured the unstyled button: 21 px)."""
    browser_sign_in(phone_page, sitting.tech_a.username)
    link = phone_page.context.new_cdp_session(phone_page)
    link.send("Network.enable")
    link.send("Network.setCacheDisabled", {"cacheDisabled": True})
    link.send("Network.emulateNetworkConditions",
              {"offline": False, "latency": 600, "downloadThroughput": -1, "uploadThroughput": -1})
    phone_page.get_by_role("button", name="Menu").click()
    phone_page.get_by_role("link", name="Sẵn sàng").click()
    ready_button = phone_page.get_by_test_id("confirm-ready").first
    ready_button.wait_for(state="attached")
    box = box_of(ready_button)
    assert box["height"] >= 44 and box["width"] >= 120
    assert sideways_overflow(phone_page) == 0


def test_when_the_session_ends_the_board_goes_to_sign_in_and_says_why(page, phone_page, sitting):
    """The board's poll is answered 401, not the sign-in page as a 200 it would take for an empty board; the page
    reloads into the sign-in form, which still says the session ended and comes back to the board after."""
    browser_sign_in(page, sitting.organizer.username)
    page.goto(f"/meetings/{sitting.meeting.id}/readiness")
    expect(page.get_by_test_id("tile").first).to_be_visible()
    browser_sign_in(phone_page, sitting.organizer.username)  # the same person, elsewhere, signs out everywhere
    phone_page.goto("/account")
    phone_page.get_by_role("button", name="Đăng xuất khỏi mọi nơi").click()
    phone_page.wait_for_url("**/login**")
    page.wait_for_url(re.compile(r".*/login\?next=.*readiness.*"), timeout=20000)
    expect(page.get_by_role("alert").filter(has_text="Phiên đăng nhập đã kết thúc")).to_be_visible()
    page.get_by_label("Tên đăng nhập").fill(sitting.organizer.username)
    page.get_by_label("Mật khẩu").fill(PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_url(re.compile(rf".*/meetings/{sitting.meeting.id}/readiness.*"))
