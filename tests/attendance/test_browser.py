"""The roll-call on a phone: the chair site's technician marks sites present and absent with a reason."""

import pytest
from playwright.sync_api import expect

from tests.conftest import browser_sign_in, sideways_overflow

pytestmark = pytest.mark.browser


def test_the_chair_technician_takes_the_roll_on_a_phone(phone_page, roll):
    browser_sign_in(phone_page, roll.chair_tech.username)
    phone_page.goto(f"/meetings/{roll.meeting.id}")
    phone_page.get_by_test_id("roll-call").tap()
    site = phone_page.locator(f'[data-testid=site][data-endpoint-id="{roll.communes[0].id}"]')
    site.get_by_text("Có mặt", exact=True).tap()
    site.get_by_role("button", name="Lưu").tap()
    expect(phone_page.get_by_role("alert")).to_contain_text(f"Đã điểm danh: {roll.communes[0].name} – Có mặt")
    absent = phone_page.locator(f'[data-testid=site][data-endpoint-id="{roll.communes[1].id}"]')
    absent.get_by_text("Vắng", exact=True).tap()
    absent.get_by_role("button", name="Lưu").tap()
    absent = phone_page.locator(f'[data-testid=site][data-endpoint-id="{roll.communes[1].id}"]')
    expect(absent.locator(".invalid-feedback")).to_contain_text("Vắng mặt cần ghi lý do")
    absent.get_by_text("Vắng", exact=True).tap()
    absent.get_by_placeholder("Lý do (bắt buộc khi vắng)").fill("Mất điện")
    absent.get_by_role("button", name="Lưu").tap()
    expect(phone_page.get_by_test_id("attendance-summary")).to_contain_text("Vắng: 1")
    expect(phone_page.locator('[data-count="present"]')).to_have_text("1")
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
