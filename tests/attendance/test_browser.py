"""The roll-call on a phone: the chair site's technician marks sites present and absent with a reason."""

import pytest
from playwright.sync_api import expect

from tests.conftest import browser_sign_in, laid_out, sideways_overflow

pytestmark = pytest.mark.browser


def test_the_chair_technician_takes_the_roll_on_a_phone(phone_page, roll):
    """Each mark is saved as it is tapped, in place: the page is not reloaded and does not move."""
    browser_sign_in(phone_page, roll.chair_tech.username)
    phone_page.goto(f"/meetings/{roll.meeting.id}")
    phone_page.get_by_test_id("roll-call").tap()
    phone_page.wait_for_url("**/attendance")
    laid_out(phone_page).evaluate("window.__notReloaded = true")
    site = phone_page.locator(f'[data-testid=site][data-endpoint-id="{roll.communes[0].id}"]')
    site.get_by_text("Có mặt", exact=True).tap()
    expect(site).to_have_attribute("data-state", "saved")
    expect(site.locator("[data-field=badge]")).to_have_text("Có mặt")
    expect(site.locator("[data-field=meta]")).to_contain_text("Đã lưu")
    absent = phone_page.locator(f'[data-testid=site][data-endpoint-id="{roll.communes[1].id}"]')
    absent.get_by_text("Vắng", exact=True).tap()
    expect(absent.locator("[data-field=meta]")).to_contain_text("Ghi lý do vắng")
    absent.get_by_placeholder("Lý do (bắt buộc khi vắng)").fill("Mất điện")
    absent.get_by_placeholder("Lý do (bắt buộc khi vắng)").press("Enter")
    expect(absent).to_have_attribute("data-state", "saved")
    summary = phone_page.get_by_test_id("attendance-summary")
    expect(summary).to_contain_text("Vắng: 1")
    expect(summary.locator('[data-count="present"]')).to_have_text("1")
    assert phone_page.evaluate("window.__notReloaded") is True
    assert sideways_overflow(phone_page) == 0


def test_the_attendance_report_draws_its_chart(page, roll, make_user):
    from datetime import timedelta

    from tests.booking.conftest import move_into_the_past
    from vmeeting.attendance import service
    from vmeeting.core.extensions import db

    service.mark(roll.occurrence, roll.communes[1].id, roll.organizer, {"status": "absent", "reason": "Mất điện"})
    db.session.commit()
    move_into_the_past(roll.meeting, timedelta(hours=-3))
    viewer = make_user("viewer")
    browser_sign_in(page, viewer.username)
    page.goto("/reports/attendance")
    expect(page.get_by_test_id("attendance-chart")).to_be_visible()
    labels = page.evaluate("document.querySelector('[data-testid=attendance-chart]').chart.data.labels")
    assert labels == ["Tỉnh Lạng Sơn", "Huyện Chi Lăng"]
