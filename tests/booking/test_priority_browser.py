"""The province office books over a district's meeting in Chromium (issue 27): the confirmation names what gives way."""

import re

import pytest
from playwright.sync_api import expect

from tests.booking.conftest import next_monday
from tests.conftest import browser_sign_in, count, sideways_overflow
from tests.pickers import pick_site
from vmeeting.booking.models import Meeting
from vmeeting.core.extensions import db

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("size", [{"width": 1366, "height": 768}, {"width": 390, "height": 844}],
                         ids=["desktop", "phone"])
def test_a_provincial_meeting_takes_a_district_meetings_sites_once_confirmed(page, make_user, sites, district, book,
                                                                             size):
    c = sites["communes"]
    start = next_monday(8)
    low = book(c[:3], start, title="Giao ban huyện Chi Lăng")
    page.set_viewport_size(size)
    browser_sign_in(page, make_user("scheduler", username="vanphong"))  # the province office: up to «Tỉnh»

    page.goto(f"/meetings/new?day={start.date()}&start=08:00&end=09:00")
    page.get_by_label("Tên cuộc họp").fill("Hội nghị tỉnh về phòng chống thiên tai")
    pick_site(page, "Điểm cầu chủ tọa", "ubnd tinh", sites["hall"].name)
    page.get_by_label("Hạng ưu tiên").select_option("province")
    page.get_by_label(f"Toàn {district.name}").check()
    page.get_by_test_id("book").click()

    confirm = page.get_by_test_id("displace-confirm")
    expect(confirm).to_be_visible()
    expect(confirm.get_by_test_id("displaced-sitting")).to_have_count(1)
    named = confirm.get_by_test_id("displaced-sitting").inner_text()
    assert "«Giao ban huyện Chi Lăng» (hạng Huyện, xã)" in named
    assert "bị hủy" in named and "điểm cầu chủ tọa" in named  # its chair, UBND xã Hòa Bình, is among the district's
    for site in c[:3]:
        assert site.name in named
    assert sideways_overflow(page) == 0
    assert count(Meeting) == 1  # nothing written before the confirmation

    confirm.get_by_test_id("displace").click()
    page.wait_for_url(re.compile(r".*/meetings/\d+$"))
    assert page.get_by_test_id("meeting-title").inner_text() == "Hội nghị tỉnh về phòng chống thiên tai"
    db.session.rollback()  # the live server's commit, read afresh
    assert db.session.get(Meeting, low.id).status == "cancelled"

    page.goto(f"/meetings/{low.id}")
    history = page.get_by_test_id("history")
    expect(history).to_contain_text("Nhường điểm cầu cho cuộc họp «Hội nghị tỉnh về phòng chống thiên tai» (hạng Tỉnh)")
    assert sideways_overflow(page) == 0
