"""The calendar on the demo province (213 sites), in Chromium: the sites × time view on first switch, a drag
reviewed before anything is written, and undone after."""

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from tests.booking.test_calendar_browser import DESKTOP, box_of, grid_point, open_week
from tests.conftest import browser_sign_in, sideways_overflow
from tests.test_page_walk import violations
from vmeeting.booking.models import Meeting
from vmeeting.core.extensions import db
from vmeeting.core.timefmt import to_local
from vmeeting.demo.loader import demo_logins
from vmeeting.outbox.models import OutboxMail

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
TRAINING = "Tập huấn sử dụng hệ thống họp trực tuyến cho cán bộ cấp xã huyện Tràng Định"


@pytest.fixture
def demo(demo_province):
    """The demo province as `make run` loads it: 213 sites, its users and its week of meetings (loaded once
    per process, then copied: tests/conftest.py `demo_province`)."""


def sign_in(page, role):
    name, password, _role, _district = next(login for login in demo_logins() if login[2] == role)
    browser_sign_in(page, name, password)


def fresh(meeting_id):
    db.session.rollback()  # a fresh read: the live server wrote in another connection
    return db.session.get(Meeting, meeting_id)


def outbox_rows():
    db.session.rollback()
    return db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMail))


def training():
    return db.session.scalar(sa.select(Meeting).where(Meeting.title == TRAINING))


@pytest.mark.parametrize("size", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_the_sites_view_shows_the_week_on_first_switch(page, demo, size):
    meeting = training()
    day = to_local(meeting.starts_at).date()
    page.set_viewport_size(size)
    sign_in(page, "scheduler")
    page.goto(f"/calendar?view=week&date={day}")
    page.get_by_test_id("calendar-event").first.wait_for()
    if size == PHONE:  # the phone's toolbar has no sites view: a link to it keeps the week
        page.goto(f"/calendar?view=week&date={day}")
    page.evaluate("() => window.vmeetingCalendar.setOption('view', 'resourceTimelineWeek')") if size == PHONE else \
        page.locator("#calendar .ec-toolbar").get_by_role("button", name="Điểm cầu").click()
    sidebar = page.locator("#calendar .ec-sidebar")
    # by district, as every page groups sites (a 2025 commune under its former district), each folded:
    # the province's own sites, its city and ten districts; a district's sites come when it is opened
    expect(sidebar.get_by_text(re.compile(r"^Tỉnh Lạng Sơn \(\d+\)"))).to_be_visible()
    expect(sidebar.get_by_text(re.compile(r"^Huyện Cao Lộc \(\d+\)"))).to_be_visible()
    expect(sidebar.get_by_text(re.compile(r"\(\d+\)$"))).to_have_count(12)
    expect(sidebar.get_by_text("UBND xã Quốc Khánh")).to_have_count(0)
    bars = page.locator("#calendar .ec-timeline [data-testid=calendar-event]")
    expect(bars.filter(has_text=TRAINING).first).to_be_attached()
    assert sideways_overflow(page) == 0


def test_a_drag_is_reviewed_written_only_when_confirmed_and_undone(page, demo):
    meeting = training()
    start = to_local(meeting.starts_at)
    day = start.date()
    sites, before_rows = meeting.endpoint_count, outbox_rows()
    page.set_viewport_size(DESKTOP)
    sign_in(page, "scheduler")
    open_week(page, day)
    event = page.get_by_test_id("calendar-event").filter(has_text="Tập huấn")
    review = page.get_by_test_id("calendar-review")

    def drag_half_an_hour_earlier():
        box = box_of(event)
        page.mouse.move(box["x"] + box["width"] / 2, box["y"] + 6)
        page.mouse.down()
        x, y = grid_point(page, day, start.hour - 1, 30)
        page.mouse.move(x, y + 2, steps=12)
        page.mouse.up()

    # the review: old → new time, the people told, no busy site; nothing written yet
    drag_half_an_hour_earlier()
    expect(review).to_be_visible()
    expect(review.get_by_test_id("review-times")).to_contain_text(f"{start:%d/%m} 08:00–11:00 →")
    expect(review.get_by_test_id("review-times")).to_contain_text("07:30–10:30")
    told = int(review.get_by_test_id("review-recipients").inner_text().split()[0])
    assert told >= sites  # a contact or technician per site, at least
    expect(review.get_by_test_id("review-conflicts")).to_be_visible()
    assert outbox_rows() == before_rows and fresh(meeting.id).sequence == 0
    assert violations(page) == []  # the dialog too passes axe-core (WCAG 2 A/AA)
    review.get_by_test_id("review-cancel").click()
    expect(review).to_be_hidden()
    expect(page.get_by_test_id("calendar-message")).to_contain_text("Chưa dời")
    expect(event).to_contain_text("08:00–11:00")
    assert outbox_rows() == before_rows and fresh(meeting.id).sequence == 0

    # confirmed: written, and the people counted are the people mailed
    drag_half_an_hour_earlier()
    expect(review).to_be_visible()
    review.get_by_test_id("review-confirm").click()
    undo = page.get_by_test_id("calendar-undo")
    expect(undo).to_be_visible()
    moved = fresh(meeting.id)
    assert f"{to_local(moved.starts_at):%H:%M}" == "07:30" and moved.sequence == 1
    db.session.rollback()
    mailed = db.session.scalar(sa.select(sa.func.count(sa.distinct(OutboxMail.recipient))).where(
        OutboxMail.meeting_id == meeting.id, OutboxMail.sequence == 1))
    assert mailed == told

    # undone: back at its time
    undo.click()
    expect(page.get_by_test_id("calendar-message")).to_contain_text("Đã hoàn tác")
    back = fresh(meeting.id)
    assert f"{to_local(back.starts_at):%H:%M}" == "08:00" and back.starts_at == meeting.starts_at
    open_week(page, day)
    expect(page.get_by_test_id("calendar-event").filter(has_text="Tập huấn")).to_contain_text("08:00–11:00")


def test_the_review_says_what_refuses_a_drag_and_writes_nothing(page, demo):
    meeting = training()
    province_wide = db.session.scalar(sa.select(Meeting).where(Meeting.title.like("Hội nghị trực tuyến triển khai%")))
    start, busy = to_local(meeting.starts_at), to_local(province_wide.starts_at)
    before_rows = outbox_rows()
    page.set_viewport_size(DESKTOP)
    sign_in(page, "scheduler")
    open_week(page, start.date())
    if busy.date() - timedelta(days=busy.weekday()) != start.date() - timedelta(days=start.weekday()):
        pytest.skip("the province-wide meeting falls in another week")
    # a slow fade-in, as on a slow office PC: "Không dời" is pressed before the dialog has finished
    # appearing, when Bootstrap ignores a hide (CI's run once left the dialog open and the drag in place)
    # (Bootstrap times the fade by the dialog's transition; it stays in place so the click is not held back)
    page.add_style_tag(content=".modal.fade .modal-dialog {transform: none !important; transition-duration: 1.5s !important}")
    event = page.get_by_test_id("calendar-event").filter(has_text="Tập huấn")
    box = box_of(event)
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + 6)
    page.mouse.down()
    x, y = grid_point(page, busy.date(), busy.hour, busy.minute)
    page.mouse.move(x, y + 2, steps=12)
    page.mouse.up()
    review = page.get_by_test_id("calendar-review")
    expect(review.get_by_test_id("review-refused")).to_contain_text("Hội nghị trực tuyến triển khai")
    expect(review.get_by_test_id("review-confirm")).to_be_hidden()
    review.get_by_test_id("review-cancel").click()
    expect(page.get_by_test_id("calendar-message")).to_have_class(re.compile("alert-danger"))
    expect(event).to_contain_text("08:00–11:00")
    assert outbox_rows() == before_rows and fresh(meeting.id).sequence == 0


@pytest.mark.parametrize("size", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_in_english_the_calendar_and_the_menu_speak_english(page, demo, size):
    meeting = training()
    day = to_local(meeting.starts_at).date()
    page.set_viewport_size(size)
    sign_in(page, "scheduler")
    page.get_by_role("button", name="English").click()
    page.wait_for_url("**/")
    menu = page.locator("#mainnav")
    for word in ("Readiness", "Incidents", "Roll-call"):
        expect(menu.get_by_text(word, exact=True)).to_be_attached()
    page.goto(f"/calendar?view=month&date={day}")
    page.get_by_test_id("calendar-event").first.wait_for()
    toolbar = page.locator("#calendar .ec-toolbar")
    names = ["Today", "Month", "Day", "Agenda"] + (["Week", "Endpoints"] if size == DESKTOP else [])
    for name in names:
        expect(toolbar.get_by_role("button", name=name, exact=True)).to_be_visible()
    expect(toolbar.get_by_role("button", name="Previous")).to_be_visible()
    title = toolbar.locator("h2").inner_text()
    assert title.split(",")[0] in ("January February March April May June July August September October "
                                   "November December").split(), title
    assert page.evaluate("() => window.vmeetingCalendar.getOption('moreLinkContent')({num: 3})") == "+3 more"
    headers = page.locator("#calendar .ec-col-head").all_inner_texts()
    assert headers[0] in ("Monday", "Mon"), headers
