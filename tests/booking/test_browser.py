"""A scheduler books a district-wide meeting in Chromium, hits a conflict and takes a suggested slot."""

import re

import pytest

from tests.booking.conftest import next_monday
from tests.conftest import browser_sign_in

pytestmark = pytest.mark.browser


def test_book_district_meeting_through_a_conflict(page, make_user, sites, district, book):
    busy = sites["communes"][1]
    start = next_monday(8)
    book([busy], start, chair=busy, title="Tiếp công dân xã Quang Lang")
    browser_sign_in(page, make_user("scheduler", username="vanphong"))

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
    items = page.get_by_test_id("calendar-event")
    items.first.wait_for()
    assert any("Hội nghị sơ kết quý IV" in text and hour in text for text in items.all_inner_texts())


def test_weekly_series_across_the_new_year_names_the_skipped_holiday_before_booking(page, make_user, sites):
    """A scheduler books a weekly series over 1 January; the page lists the holiday it leaves out first."""
    from datetime import timedelta

    from tests.working_time.dates import new_year_weekday

    new_year = new_year_weekday()
    first = new_year - timedelta(weeks=2)
    weekday = ("Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu")[new_year.weekday()]
    browser_sign_in(page, make_user("scheduler", username="vanphong"))

    page.goto("/meetings/new")
    page.get_by_label("Tên cuộc họp").fill("Giao ban tuần cuối năm")
    page.get_by_label("Ngày họp").fill(first.strftime("%d/%m/%Y"))
    page.get_by_label("Bắt đầu").fill("08:00")
    page.get_by_label("Kết thúc").fill("09:30")
    page.get_by_label("Điểm cầu chủ tọa").select_option(label=f"{sites['hall'].name} ({sites['hall'].code})")
    page.get_by_label("Điểm cầu riêng lẻ").select_option([str(e.id) for e in sites["communes"][:2]])
    page.get_by_label("Lặp lại", exact=True).select_option("WEEKLY")
    page.get_by_label(weekday, exact=True).check()
    page.get_by_label("Hoặc số buổi").fill("5")
    assert page.get_by_label("Bỏ các buổi rơi vào ngày nghỉ, ngày lễ, Tết").is_checked()  # ticked by default
    page.get_by_test_id("book").click()

    plan = page.get_by_test_id("series-plan")
    skipped = plan.get_by_test_id("skipped-sitting")
    assert skipped.count() == 1
    assert new_year.strftime("%d/%m/%Y") in skipped.inner_text() and "Tết Dương lịch" in skipped.inner_text()
    assert f"Hằng tuần vào {weekday}, 4 buổi" in plan.get_by_test_id("series-text").inner_text()

    page.get_by_test_id("confirm-series").click()
    page.wait_for_url(re.compile(r".*/meetings/\d+$"))
    assert f"Hằng tuần vào {weekday}, 4 buổi" in page.get_by_test_id("recurrence-text").inner_text()
    rows = page.get_by_test_id("occurrence-row")
    assert rows.count() == 5
    cancelled = [text for text in rows.all_inner_texts() if "đã hủy" in text]
    assert len(cancelled) == 1 and new_year.strftime("%d/%m/%Y") in cancelled[0]
