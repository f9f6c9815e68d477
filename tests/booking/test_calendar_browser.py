"""The calendar in Chromium: book by clicking the week grid, move by dragging, a refused move undone, phones."""

import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from tests.booking.conftest import next_monday
from tests.conftest import box_of, browser_sign_in, settled, sideways_overflow
from vmeeting.booking.models import Meeting
from vmeeting.core.extensions import db
from tests.pickers import pick_site, pick_sites

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1366, "height": 768}
#: the week grid starts at 06:00 (slotMinTime) with 24 px a half hour
GRID_START_HOUR, PX_PER_HOUR = 6, 48
DAY_CLASSES = ("ec-mon", "ec-tue", "ec-wed", "ec-thu", "ec-fri", "ec-sat", "ec-sun")


def grid_point(page, day, hour, minute=0):
    """The page coordinates of a day's time in the week grid."""
    column = page.locator(f"#calendar .ec-body .ec-day.{DAY_CLASSES[day.weekday()]}").first
    column.scroll_into_view_if_needed()
    box = box_of(column)
    return box["x"] + box["width"] / 2, box["y"] + (hour - GRID_START_HOUR + minute / 60) * PX_PER_HOUR + 4


def open_week(page, day):
    page.goto(f"/calendar?view=week&date={day}")
    page.wait_for_selector("#calendar .ec-body .ec-day")
    settled(page)


def drag(page, event, day, hour):
    """Drag an event's top edge to a day and hour of the week grid."""
    box = box_of(event)
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + 6)
    page.mouse.down()
    x, y = grid_point(page, day, hour)
    page.mouse.move(x, y + 2, steps=12)
    page.mouse.up()


def place(page, event):
    """An event's offset from the top-left of the week grid (scroll-proof)."""
    grid, box = box_of(page.locator("#calendar .ec-body .ec-day.ec-mon").first), box_of(event)
    return round(box["x"] - grid["x"]), round(box["y"] - grid["y"])


def no_sideways_scroll(page):
    return sideways_overflow(page) == 0


def test_book_by_clicking_an_empty_hour_of_the_week(page, make_user, sites):
    monday = next_monday(8)
    tuesday = (monday + timedelta(days=1)).date()
    page.set_viewport_size(DESKTOP)
    browser_sign_in(page, make_user("scheduler", username="vanphong"))
    open_week(page, monday.date())
    assert page.locator("#calendar .ec-col-head").all_inner_texts()[:2] == [
        f"T2 {monday:%d/%m}", f"T3 {tuesday:%d/%m}"]
    assert no_sideways_scroll(page)

    page.mouse.click(*grid_point(page, tuesday, 14))
    page.wait_for_url(re.compile(r".*/meetings/new\?.*"))
    assert page.get_by_label("Ngày họp").input_value() == tuesday.strftime("%d/%m/%Y")
    assert page.get_by_label("Bắt đầu").input_value() == "14:00"
    assert page.get_by_label("Kết thúc").input_value() == "15:00"

    page.get_by_label("Tên cuộc họp").fill("Họp đặt từ lịch tuần")
    pick_site(page, "Điểm cầu chủ tọa", "ubnd tinh", sites["hall"].name)
    pick_sites(page, "Điểm cầu riêng lẻ", sites["communes"][:2])
    page.get_by_test_id("book").click()
    page.wait_for_url(re.compile(r".*/meetings/\d+$"))

    open_week(page, monday.date())
    event = page.get_by_test_id("calendar-event").filter(has_text="Họp đặt từ lịch tuần")
    assert "14:00–15:00" in event.inner_text()
    # it sits in Tuesday's column
    column = box_of(page.locator("#calendar .ec-body .ec-day.ec-tue").first)
    box = box_of(event)
    assert column["x"] <= box["x"] + box["width"] / 2 <= column["x"] + column["width"]


def test_drag_a_meeting_moves_it_and_a_refused_move_is_undone(page, make_user, sites, book):
    monday = next_monday(8)
    busy = sites["communes"][0]
    tuesday, wednesday = (monday + timedelta(days=1)).date(), (monday + timedelta(days=2)).date()
    book([busy], monday + timedelta(days=1, hours=2), title="Tiếp công dân")  # Tuesday 10:00-11:00
    meeting = book([sites["hall"], busy], monday, title="Giao ban đầu tuần")  # Monday 08:00-09:00
    page.set_viewport_size(DESKTOP)
    browser_sign_in(page, make_user("scheduler", username="vanphong"))
    open_week(page, monday.date())
    event = page.get_by_test_id("calendar-event").filter(has_text="Giao ban đầu tuần")
    before = place(page, event)

    drag(page, event, tuesday, 10)
    review = page.get_by_test_id("calendar-review")
    expect(review.get_by_test_id("review-refused")).to_contain_text("Tiếp công dân")  # the review says why
    review.get_by_test_id("review-cancel").click()
    message = page.get_by_test_id("calendar-message")
    expect(message).to_have_class(re.compile("alert-danger"))
    assert "Tiếp công dân" in message.inner_text() and "hoàn tác" in message.inner_text()
    assert place(page, event) == before  # back on Monday 08:00
    assert "08:00–09:00" in event.inner_text()
    db.session.rollback()  # a fresh read: the live server wrote in another connection
    assert db.session.get(Meeting, meeting.id).sequence == 0

    drag(page, event, wednesday, 10)
    expect(review.get_by_test_id("review-times")).to_contain_text("→")
    assert db.session.get(Meeting, meeting.id).sequence == 0  # nothing written before it is confirmed
    review.get_by_test_id("review-confirm").click()
    expect(message).to_have_class(re.compile("alert-success"))
    assert "10:00" in message.inner_text()
    db.session.rollback()  # a fresh read: the live server wrote in another connection
    moved = db.session.get(Meeting, meeting.id)
    assert (moved.starts_at.astimezone(monday.tzinfo).date(), f"{moved.starts_at.astimezone(monday.tzinfo):%H:%M}") == (
        wednesday, "10:00")
    open_week(page, monday.date())  # the server's answer, read again
    assert "10:00–11:00" in page.get_by_test_id("calendar-event").filter(has_text="Giao ban đầu tuần").inner_text()


def test_a_viewer_can_neither_drag_nor_book_from_the_grid(page, make_user, sites, book):
    monday = next_monday(8)
    book([sites["hall"]], monday, title="Giao ban")
    page.set_viewport_size(DESKTOP)
    browser_sign_in(page, make_user("viewer", username="xem"))
    open_week(page, monday.date())
    page.mouse.click(*grid_point(page, monday.date(), 15))
    page.wait_for_timeout(500)
    assert "/calendar" in page.url
    moves = []
    page.on("request", lambda request: moves.append(request) if "/calendar/move" in request.url else None)
    event = page.get_by_test_id("calendar-event")
    before = place(page, event)
    drag(page, event, monday.date(), 14)
    page.wait_for_timeout(500)
    assert moves == [] and place(page, event) == before


def test_a_phone_opens_the_agenda_without_sideways_scroll(phone_page, make_user, sites, book):
    monday = next_monday(8)
    book([sites["hall"], *sites["communes"]], monday, title="Hội nghị trực tuyến toàn tỉnh về chuyển đổi số năm 2027")
    browser_sign_in(phone_page, make_user("scheduler", username="vanphong"))
    phone_page.goto(f"/calendar?view=week&date={monday.date()}")
    phone_page.wait_for_selector("#calendar .ec-list [data-testid=calendar-event]")
    assert "Hội nghị trực tuyến toàn tỉnh" in phone_page.locator("#calendar .ec-list").inner_text()
    assert no_sideways_scroll(phone_page)
    phone_page.get_by_role("button", name="Tháng").click()
    phone_page.wait_for_selector("#calendar .ec-day-grid")
    assert no_sideways_scroll(phone_page)


def test_the_sites_view_shows_districts_opening_to_their_sites(page, make_user, sites, book, district):
    monday = next_monday(8)
    book([sites["communes"][1]], monday, title="Tiếp dân Quang Lang")
    page.set_viewport_size(DESKTOP)
    browser_sign_in(page, make_user("scheduler", username="vanphong"))
    page.goto(f"/calendar?view=sites&date={monday.date()}")
    district_row = page.locator("#calendar .ec-sidebar").get_by_text("Huyện Chi Lăng (4)")
    district_row.wait_for()
    expect(page.locator("#calendar .ec-timeline [data-testid=calendar-event]")).not_to_have_count(0)  # on the district's row
    page.locator("#calendar .ec-sidebar .ec-expander button").nth(1).click()
    page.locator("#calendar .ec-sidebar").get_by_text("UBND xã Quang Lang").wait_for()
    assert no_sideways_scroll(page)


def test_the_book_button_shows_progress_and_a_double_click_books_once(page, make_user, sites):
    monday = next_monday(8)
    page.set_viewport_size(DESKTOP)
    browser_sign_in(page, make_user("scheduler", username="vanphong"))
    page.goto(f"/meetings/new?day={monday.date()}&start=08:00&end=09:00")
    page.get_by_label("Tên cuộc họp").fill("Bấm hai lần")
    pick_site(page, "Điểm cầu chủ tọa", "ubnd tinh", sites["hall"].name)
    pick_sites(page, "Điểm cầu riêng lẻ", sites["communes"])
    posts = []
    page.on("request", lambda request: posts.append(request) if request.method == "POST" else None)
    # two clicks in one go, as an impatient hand makes them; the state between them is what a person sees
    state = page.evaluate("""() => {
        const button = document.querySelector('[data-testid=book]');
        button.click();
        const seen = [button.disabled, button.getAttribute('aria-busy'), !!button.querySelector('.spinner-border')];
        button.click();
        return seen;
    }""")
    assert state == [True, "true", True]
    page.wait_for_url(re.compile(r".*/meetings/\d+$"))
    assert len(posts) == 1
    db.session.rollback()
    assert db.session.query(Meeting).filter_by(title="Bấm hai lần").count() == 1


def test_the_print_view_prints_the_sites_without_the_menu(page, make_user, sites, book):
    meeting = book([sites["hall"], *sites["communes"]], next_monday(8), title="Hội nghị toàn tỉnh")
    page.set_viewport_size(DESKTOP)
    browser_sign_in(page, make_user("viewer", username="xem"))
    page.goto(f"/meetings/{meeting.id}")
    page.get_by_test_id("print-sites").click()
    page.wait_for_url(f"**/meetings/{meeting.id}/print")
    expect(page.get_by_test_id("print-site")).to_have_count(5)
    assert no_sideways_scroll(page)
    page.emulate_media(media="print")
    expect(page.locator("nav.navbar")).to_be_hidden()
    expect(page.get_by_role("button", name="In")).to_be_hidden()
    expect(page.get_by_test_id("print-title")).to_be_visible()
    pdf = page.pdf(format="A4")  # Chromium lays it out for paper
    assert pdf.startswith(b"%PDF")


def test_a_public_holiday_is_shaded_in_the_month_and_the_week(page, make_user):
    from tests.working_time.dates import new_year_weekday

    new_year = new_year_weekday()
    page.set_viewport_size(DESKTOP)
    browser_sign_in(page, make_user("viewer", username="xem"))
    for view in ("month", "week"):
        page.goto(f"/calendar?view={view}&date={new_year}")
        marked = page.locator("#calendar .ec-highlight").first
        marked.wait_for()
        assert str(new_year.day) in marked.inner_text() or view == "week"
        expect(page.locator("#calendar .ec-highlight")).not_to_have_count(0)


def test_the_filters_narrow_the_sites_view_and_keep_the_week_on_screen(page, make_user, sites, book, district):
    """A scheduler picks a district in the sites × time view, then cancelled meetings: the page keeps view and week."""
    from vmeeting.booking import service

    monday = next_monday(8)
    book([sites["hall"]], monday, title="Chỉ tỉnh")
    book([sites["communes"][0]], monday + timedelta(hours=2), title="Xã Hòa Bình")
    gone = book([sites["communes"][1]], monday + timedelta(days=1), title="Đã hủy ở Quang Lang")
    service.cancel_meeting(gone)
    db.session.commit()
    page.set_viewport_size(DESKTOP)
    browser_sign_in(page, make_user("scheduler", username="vanphong"))
    page.goto(f"/calendar?view=sites&date={monday.date()}")
    events = page.get_by_test_id("calendar-event")
    # a bar shows on its district's row, and on its site's row too when the district is open
    expect(events.filter(has_text="Chỉ tỉnh")).not_to_have_count(0)
    page.locator("#calendar .ec-button.ec-next").click()  # a week on, then back: the filter keeps what is shown
    page.locator("#calendar .ec-button.ec-prev").click()
    page.get_by_label("Đơn vị", exact=True).select_option(label=f"— {district.name}")
    page.wait_for_url(re.compile(rf".*view=sites&date={monday.date()}.*unit_id={district.id}.*"))
    expect(events.filter(has_text="Xã Hòa Bình")).not_to_have_count(0)
    expect(events.filter(has_text="Chỉ tỉnh")).to_have_count(0)
    expect(page.locator("#calendar .ec-sidebar").last).not_to_contain_text("UBND tỉnh Lạng Sơn")
    page.get_by_label("Trạng thái", exact=True).select_option("cancelled")
    page.wait_for_url(re.compile(r".*status=cancelled.*"))
    expect(events.filter(has_text="Đã hủy ở Quang Lang")).not_to_have_count(0)
    expect(events.filter(has_text="Xã Hòa Bình")).to_have_count(0)
    assert no_sideways_scroll(page)
