"""The registry's pages in a real Chromium: find a site without accents, edit it, read its history."""

import re

import pytest
from playwright.sync_api import expect

from tests.conftest import browser_sign_in, sideways_overflow

pytestmark = pytest.mark.browser


@pytest.fixture
def site(make_unit, make_endpoint, province):
    district = make_unit("Huyện Đình Lập", "huyện", parent=province, code="186")
    make_endpoint("UBND huyện Bắc Sơn")
    return make_endpoint("UBND huyện Đình Lập", unit=district, code="LS-186", contact_phone="0205 3845 000")


def test_find_edit_and_see_the_change_in_the_history(page, make_user, site):
    browser_sign_in(page, make_user("scheduler", username="van-phong", full_name="Lê Văn Phòng"))
    page.get_by_role("navigation").get_by_role("button", name="Danh mục").click()
    page.get_by_role("navigation").get_by_role("link", name="Điểm cầu", exact=True).click()

    page.get_by_placeholder("Tìm theo tên hoặc mã (không cần dấu)").fill("dinh lap")
    page.get_by_role("button", name="Lọc").click()
    page.wait_for_url(re.compile(r"q=dinh"))
    rows = page.get_by_test_id("endpoint-row")
    expect(rows).to_have_count(1)
    rows.get_by_role("link", name="UBND huyện Đình Lập").click()
    page.wait_for_url(f"**/endpoints/{site.id}")
    assert page.get_by_test_id("contact-phone").inner_text() == "0205 3845 000"

    page.get_by_role("link", name="Sửa", exact=True).click()
    page.get_by_label("Điện thoại liên hệ").fill("0205 3999 888")
    page.get_by_role("button", name="Lưu").click()
    page.wait_for_url(f"**/endpoints/{site.id}")

    expect(page.get_by_role("alert").filter(has_text="Đã lưu điểm cầu UBND huyện Đình Lập.")).to_be_visible()
    assert page.get_by_test_id("contact-phone").inner_text() == "0205 3999 888"
    latest = page.get_by_test_id("history-event").first
    text = latest.inner_text()
    assert "Lê Văn Phòng" in text and "Sửa" in text
    assert "0205 3845 000" in text and "0205 3999 888" in text
    assert re.search(r"\d{2}/\d{2}/\d{4} \d{2}:\d{2}", text)


def test_a_bad_phone_is_explained_on_its_field(page, make_user, site):
    browser_sign_in(page, make_user("scheduler"))
    page.goto(f"/endpoints/{site.id}/edit")
    page.get_by_label("Điện thoại liên hệ").fill("gọi tổng đài")
    page.get_by_role("button", name="Lưu").click()
    field = page.get_by_label("Điện thoại liên hệ")
    expect(field).to_have_class(re.compile(r"\bis-invalid\b"))
    expect(page.get_by_text("Số điện thoại chỉ gồm số, dấu cách và + ( ) . -")).to_be_visible()


def test_the_list_works_on_a_phone(phone_page, make_user, site):
    page = phone_page
    browser_sign_in(page, make_user("viewer"))
    page.goto("/endpoints")
    row = page.get_by_test_id("endpoint-row").filter(has_text="Đình Lập")
    # The unit column is hidden on a phone; the unit shows under the name instead.
    expect(row.get_by_text("Huyện Đình Lập").first).to_be_visible()
    expect(page.get_by_role("link", name="Thêm điểm cầu")).to_be_hidden()
    assert sideways_overflow(page) == 0


def test_group_picker_filters_without_accents(page, make_user, site):
    browser_sign_in(page, make_user("scheduler"))
    page.goto("/groups/new")
    page.get_by_placeholder("Lọc theo tên hoặc mã (không cần dấu)").fill("dinh lap")
    expect(page.get_by_label("UBND huyện Đình Lập")).to_be_visible()
    expect(page.get_by_label("UBND huyện Bắc Sơn")).to_be_hidden()
    page.get_by_label("UBND huyện Đình Lập").check()
    assert page.get_by_test_id("chosen-count").inner_text() == "1"
    page.get_by_label("Tên nhóm").fill("Nhóm thử")
    page.get_by_role("button", name="Lưu").click()
    page.wait_for_url(re.compile(r"/groups/\d+$"))
    assert page.get_by_test_id("member-count").inner_text() == "1"
