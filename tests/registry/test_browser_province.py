"""Lạng Sơn as it is today in a real Chromium: a clerk's unit tree for next month, the units page as of a day."""

import re
from datetime import date, timedelta

import pytest
from playwright.sync_api import expect

from tests.test_screenshots import sign_in as demo_sign_in
from vmeeting.core.extensions import db
from vmeeting.demo.loader import load_demo

pytestmark = pytest.mark.browser


def _next_month_working_day():
    day = (date.today().replace(day=1) + timedelta(days=40)).replace(day=8)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


def test_a_clerk_books_next_month_among_todays_65_units_and_reads_the_units_as_of_2020(page):
    load_demo()
    db.session.commit()
    demo_sign_in(page, "scheduler")
    page.goto(f"/meetings/new?day={_next_month_working_day()}&start=08:00&end=09:00")
    tree = page.get_by_test_id("unit-tree")
    boxes = tree.locator("input[name=unit_ids]")
    expect(boxes).to_have_count(66)  # the province and its 65 communes, no district in between
    assert "Toàn huyện" not in tree.inner_text() and "Huyện Cao Lộc" not in tree.inner_text()
    page.get_by_label("Tên cuộc họp").fill("Giao ban phường Kỳ Lừa")
    chair = page.get_by_role("combobox", name="Điểm cầu chủ tọa", exact=True)
    chair.click()
    chair.fill("LS-183")
    page.locator("#chair_endpoint_id-ts-dropdown [role=option]").first.click()
    page.get_by_placeholder("Tìm huyện, xã (không cần dấu)").fill("ky lua")
    tree.get_by_text("Phường Kỳ Lừa").click()
    page.get_by_test_id("preview").click()
    count = int(page.get_by_test_id("site-count").inner_text())
    assert count >= 5  # the district's hall and the halls of the four communes Kỳ Lừa absorbed

    page.goto("/units")
    expect(page.get_by_test_id("units-count-commune")).to_have_attribute("data-count", "65")
    expect(page.get_by_test_id("units-count-district")).to_have_count(0)
    page.get_by_test_id("units-day").fill("2020-06-01")
    page.get_by_role("button", name="Xem").click()
    page.wait_for_url(re.compile(r"valid_on=2020-06-01"))
    expect(page.get_by_test_id("units-count-district")).to_have_attribute("data-count", "11")
    expect(page.get_by_test_id("units-count-commune")).to_have_attribute("data-count", "200")
    page.get_by_test_id("unit-name").filter(has_text="Xã Hợp Thành").click()
    expect(page.get_by_test_id("unit-ended")).to_contain_text("Phường Kỳ Lừa")
    page.get_by_test_id("unit-successors").get_by_role("link", name=re.compile("Phường Kỳ Lừa")).click()
    expect(page.get_by_test_id("unit-title")).to_have_text("Phường Kỳ Lừa")
    expect(page.get_by_test_id("unit-predecessors").get_by_test_id("unit-link")).to_have_count(5)
