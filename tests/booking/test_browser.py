"""A scheduler books a district-wide meeting in Chromium, hits a conflict and takes a suggested slot."""

import re

import pytest

from tests.booking.conftest import next_monday
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser


def test_book_district_meeting_through_a_conflict(page, make_user, sites, district, book):
    busy = sites["communes"][1]
    start = next_monday(8)
    book([busy], start, chair=busy, title="Tiếp công dân xã Quang Lang")
    make_user("scheduler", username="vanphong")

    page.goto("/login")
    page.get_by_label("Tên đăng nhập").fill("vanphong")
    page.get_by_label("Mật khẩu").fill(PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_url("**/calendar")

    page.goto("/meetings/new")
    page.get_by_label("Tên cuộc họp").fill("Hội nghị sơ kết quý IV huyện Chi Lăng")
    page.get_by_label("Ngày họp").fill(start.strftime("%d/%m/%Y"))
    page.get_by_label("Bắt đầu").fill("08:00")
    page.get_by_label("Kết thúc").fill("10:00")
    page.get_by_label("Điểm cầu chủ tọa").select_option(label=f"{sites['hall'].name} ({sites['hall'].code})")
    page.get_by_label("Đơn vị (gồm mọi điểm cầu trực thuộc)").select_option(str(district.id))
    page.get_by_test_id("preview").click()
    assert page.get_by_test_id("site-count").inner_text() == "4"

    page.get_by_test_id("book").click()
    conflict = page.get_by_test_id("conflict")
    assert "Tiếp công dân xã Quang Lang" in conflict.inner_text()
    assert busy.name in conflict.inner_text()

    slot = page.get_by_test_id("suggested-slot").first
    chosen = slot.get_attribute("value")  # the first free two hours after the busy site's meeting
    slot.click()
    page.wait_for_url(re.compile(r".*/meetings/\d+$"))
    assert page.get_by_test_id("meeting-title").inner_text() == "Hội nghị sơ kết quý IV huyện Chi Lăng"
    assert page.get_by_test_id("site-count").inner_text() == "5"
    day, hour = chosen.split("T")
    assert hour in page.get_by_test_id("meeting-when").inner_text()

    page.goto(f"/calendar?view=week&date={day}")
    items = page.get_by_test_id("calendar-item")
    assert any("Hội nghị sơ kết quý IV" in text and hour in text for text in items.all_inner_texts())
