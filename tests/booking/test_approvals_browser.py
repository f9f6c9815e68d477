"""In Chromium (issue 27): a district clerk books a meeting with another district's site, which waits «Chờ duyệt»;
that district's approver approves it from the inbox on a phone, and the invites are queued then."""

import re

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from tests.booking.conftest import next_monday
from tests.booking.test_approvals import net  # noqa: F401 (fixture reused here)
from tests.conftest import browser_sign_in, sideways_overflow
from tests.pickers import pick_site, pick_sites
from vmeeting.booking.models import Meeting
from vmeeting.core.extensions import db
from vmeeting.outbox.models import OutboxMail

pytestmark = pytest.mark.browser


def _invites():
    db.session.rollback()  # see what the server committed
    return db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMail).where(OutboxMail.method.is_not(None)))


@pytest.mark.parametrize("size", [{"width": 1366, "height": 768}, {"width": 390, "height": 844}],
                         ids=["desktop", "phone"])
def test_a_clerk_books_across_districts_and_the_other_districts_approver_approves_on_a_phone(
        page, phone_page, net, size):
    page.set_viewport_size(size)
    browser_sign_in(page, net["clerk"])
    page.goto(f"/meetings/new?day={next_monday(8).date()}&start=08:00&end=09:00")
    page.get_by_label("Tên cuộc họp").fill("Phối hợp phòng chống lũ liên huyện")
    pick_site(page, "Điểm cầu chủ tọa", "ubnd huyen chi lang", net["own_hall"].name)
    pick_sites(page, "Điểm cầu riêng lẻ", [net["other"]])
    page.get_by_test_id("book").click()
    page.wait_for_url(re.compile(r".*/meetings/\d+$"))
    expect(page.get_by_test_id("meeting-status")).to_have_text("Chờ duyệt")
    expect(page.get_by_test_id("meeting-approval")).to_contain_text("Huyện Hữu Lũng")
    expect(page.locator(".alert").filter(has_text="đang chờ duyệt").first).to_be_visible()
    assert sideways_overflow(page) == 0
    meeting_id = int(page.url.rsplit("/", 1)[1])
    assert _invites() == 0

    phone = phone_page
    browser_sign_in(phone, net["approver"])
    phone.get_by_role("button", name="Mở menu").click()
    # the menu has finished opening (Bootstrap's "collapsing" becomes "show"): a tap meanwhile may land on nothing
    expect(phone.locator("#mainnav")).to_have_class(re.compile(r"(^|\s)show(\s|$)"))
    link = phone.get_by_test_id("nav-approvals")
    expect(link.get_by_test_id("approvals-count")).to_have_text("1")
    link.click()
    phone.wait_for_url("**/approvals")
    request = phone.get_by_test_id("approval-request")
    expect(request).to_have_count(1)
    expect(request.get_by_test_id("approval-sites")).to_have_text(re.compile(net["other"].name))
    expect(request.get_by_test_id("approval-booker")).to_have_text("clerk-chi-lang")
    assert sideways_overflow(phone) == 0
    request.get_by_test_id("approve").click()
    phone.wait_for_url("**/approvals")
    expect(phone.locator(".alert").filter(has_text="Đã duyệt").first).to_be_visible()
    expect(phone.get_by_test_id("approvals-empty")).to_be_visible()

    db.session.rollback()
    assert db.session.get(Meeting, meeting_id).status == "scheduled"
    assert _invites() == 2  # the two halls' contacts, queued once at approval
    page.reload()
    expect(page.get_by_test_id("meeting-status")).to_have_text("Đã lên lịch")
