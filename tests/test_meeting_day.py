"""The province-wide meeting day on the demo province as `make run` loads it (issue 25): the 213-site
meeting's page, its roll-call, the technician's checklist on a phone and the conflict answer, in Chromium
at 1366×768 and 390×844.

With SCREENSHOTS=<folder> each test also leaves its pictures there (docs/screenshots holds the README's).
"""

import os
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from tests.booking.conftest import move_into_the_past
from tests.conftest import box_of, laid_out, settled, sideways_overflow
from tests.test_screenshots import sign_in
from vmeeting.attendance.models import Attendance
from vmeeting.booking.models import Meeting
from vmeeting.core.database import utcnow
from vmeeting.core.extensions import db
from vmeeting.core.timefmt import to_local
from tests.booking.conftest import book  # noqa: F401 (a fixture used here)

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}
#: "fits within three screen heights" (issue 25), at 1366×768
THREE_SCREENS = 3 * DESKTOP["height"]


@pytest.fixture
def province_meeting(app, demo_province):
    """The demo loaded as `make run` loads it; its meeting of every site (213)."""
    meeting = max(db.session.scalars(sa.select(Meeting)), key=lambda m: m.endpoint_count)
    assert meeting.endpoint_count == 213
    return meeting


def shoot(page, name):
    """Leave a picture of the page's first screen in $SCREENSHOTS (if set) and in /tmp, to be looked at."""
    laid_out(page)
    folder = os.environ.get("SCREENSHOTS")
    page.screenshot(path=f"/tmp/pages-{name}.png")
    if folder:
        page.screenshot(path=str(Path(folder) / f"{name}.png"))


def page_height(page):
    return laid_out(page).evaluate("document.documentElement.scrollHeight")


def contrast(page, selector):
    """The WCAG contrast ratio of the first `selector`'s text against its own background (white if none)."""
    return page.evaluate("""(selector) => {
      const node = document.querySelector(selector);
      const style = getComputedStyle(node);
      const rgb = (text) => text.match(/[\\d.]+/g).slice(0, 4).map(Number);
      const lum = ([r, g, b]) => {
        const c = [r, g, b].map(v => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); });
        return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
      };
      let back = rgb(style.backgroundColor);
      if (back.length === 4 && back[3] === 0) back = [255, 255, 255];
      const a = lum(rgb(style.color)), b = lum(back);
      return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    }""", selector)


def _under_way(meeting):
    """Let time pass until the meeting's sitting began ten minutes ago."""
    occurrence = meeting.occurrences[0]
    move_into_the_past(meeting, utcnow() - timedelta(minutes=10) - occurrence.starts_at)
    return occurrence


# -- the roll-call ------------------------------------------------------------------------------


def test_roll_call_all_present_then_one_absence_saves_213_marks_in_place(page, province_meeting):
    occurrence = _under_way(province_meeting)
    page.set_viewport_size(DESKTOP)
    sign_in(page, "scheduler")
    page.goto(f"/meetings/{province_meeting.id}/occurrences/{occurrence.id}/attendance")
    assert page_height(page) <= THREE_SCREENS
    assert sideways_overflow(page) == 0
    expect(page.get_by_test_id("district")).to_have_count(12)
    shoot(page, "roll-call")
    page.evaluate("window.__notReloaded = true")

    page.get_by_test_id("all-present").click()
    summary = page.get_by_test_id("attendance-summary")
    expect(summary.locator('[data-count="present"]')).to_have_text("213")
    expect(summary.locator('[data-count="unmarked"]').first).to_have_text("0")
    assert page.evaluate("window.__notReloaded") is True
    db.session.rollback()  # a new transaction sees what the server wrote
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Attendance)) == 213

    district = page.get_by_test_id("district").nth(3)
    district.locator("summary").click()
    site = district.get_by_test_id("site").nth(4)
    expect(site.locator("input[value=present]")).to_be_checked()
    site.scroll_into_view_if_needed()
    before = page.evaluate("window.scrollY")
    site.get_by_text("Vắng", exact=True).click()
    reason = site.get_by_placeholder("Lý do (bắt buộc khi vắng)")
    expect(reason).to_be_focused()  # asked for at once, where the eyes are
    reason.fill("Mất điện")
    reason.press("Enter")
    expect(site).to_have_attribute("data-state", "saved")
    expect(site.locator("[data-field=meta]")).to_contain_text("Đã lưu")
    expect(summary.locator('[data-count="absent"]')).to_have_text("1")
    expect(district.locator('summary [data-count="absent"]')).to_have_text("1")
    assert abs(page.evaluate("window.scrollY") - before) < 50  # no jump
    assert page.evaluate("window.__notReloaded") is True
    db.session.rollback()
    kept = dict(db.session.execute(sa.select(Attendance.status, sa.func.count()).group_by(Attendance.status)).all())
    assert kept == {"present": 212, "absent": 1}
    shoot(page, "roll-call-marked")
    # "Đến muộn" reads at WCAG AA (axe had it at 1.63:1), chosen or not
    assert contrast(page, ".roll-mark .btn-late") >= 4.5
    site.get_by_text("Đến muộn", exact=True).click()
    expect(site.locator("[data-field=badge]")).to_have_text("Đến muộn")
    assert contrast(page, f"#{site.get_attribute('id')} .btn-late") >= 4.5

    # a mark chosen while the site's last one is still on its way goes after it, and its answer wins: a slow
    # link never ends on the earlier mark, on the page or in the database
    other = district.get_by_test_id("site").nth(5)
    other_id = int(other.get_attribute("data-endpoint-id"))
    # the first save's request leaves two seconds late, the next at once: the order a busy network may give
    page.evaluate("""url => {
        const fetch = window.fetch;
        let calls = 0;
        window.fetch = (target, options) => String(target).includes(url) && ++calls === 1
            ? new Promise(go => setTimeout(go, 2000)).then(() => fetch(target, options))
                  .finally(() => { window.__slowAnswered = true; })
            : fetch(target, options);
    }""", other.get_attribute("data-mark-url"))
    other.get_by_text("Vắng", exact=True).click()
    other.get_by_placeholder("Lý do (bắt buộc khi vắng)").fill("Mất điện")
    other.get_by_placeholder("Lý do (bắt buộc khi vắng)").press("Enter")
    expect(other).to_have_attribute("data-state", "saving")
    other.get_by_text("Đến muộn", exact=True).click()  # while "Vắng" is on its way
    page.wait_for_function("() => window.__slowAnswered === true")
    settled(page)
    expect(other.locator("[data-field=badge]")).to_have_text("Đến muộn", timeout=15000)
    expect(other).to_have_attribute("data-state", "saved")
    db.session.rollback()
    assert db.session.scalar(sa.select(Attendance.status).where(Attendance.endpoint_id == other_id)) == "late"

    page.set_viewport_size(PHONE)
    page.goto(f"/meetings/{province_meeting.id}/occurrences/{occurrence.id}/attendance")
    assert sideways_overflow(page) == 0
    shoot(page, "phone-roll-call")


def test_a_roll_call_not_begun_says_so_once_at_the_top(page, province_meeting):
    occurrence = province_meeting.occurrences[0]
    page.set_viewport_size(DESKTOP)
    sign_in(page, "scheduler")
    page.goto(f"/meetings/{province_meeting.id}/occurrences/{occurrence.id}/attendance")
    expect(page.get_by_text("Chưa đến giờ họp")).to_have_count(1)
    notice = page.get_by_test_id("roll-not-open")
    assert box_of(notice)["y"] < DESKTOP["height"] / 2
    expect(page.locator("input[type=radio]")).to_have_count(0)
    expect(page.get_by_test_id("all-present")).to_have_count(0)
    assert page_height(page) <= THREE_SCREENS


# -- the meeting page ---------------------------------------------------------------------------


def test_the_meeting_page_summarises_first_and_folds_the_rest(page, province_meeting):
    page.set_viewport_size(DESKTOP)
    sign_in(page, "scheduler")
    page.goto(f"/meetings/{province_meeting.id}")
    summary = page.get_by_test_id("meeting-summary")
    expect(summary.get_by_test_id("site-levels")).to_contain_text("213")
    expect(summary.get_by_test_id("site-levels")).to_contain_text("chủ tọa 1 · cấp tỉnh 1 · cấp xã 211")
    expect(summary.get_by_test_id("site-districts").locator(".badge")).to_have_count(12)
    counts = summary.get_by_test_id("readiness-counts").locator("[data-count]")
    counts.first.wait_for()
    assert sum(int(text.rsplit(":", 1)[1]) for text in counts.all_inner_texts()) == 213  # each site once
    expect(summary.get_by_test_id("reply-counts")).to_contain_text("Chưa trả lời")
    assert box_of(summary)["y"] < 200
    assert page_height(page) <= THREE_SCREENS
    assert sideways_overflow(page) == 0
    shoot(page, "meeting-page")

    sites = page.get_by_test_id("sites-section")
    sites.locator("summary").first.click()
    expect(sites.get_by_test_id("district-card")).to_have_count(12)
    assert page_height(page) <= THREE_SCREENS  # each district folded under its name

    invites = page.get_by_test_id("invites-section")
    invites.locator("summary").first.click()
    table = invites.get_by_test_id("invite-table")
    table.locator("summary").click()
    rows = table.get_by_test_id("invite-answer")
    expect(rows.nth(213)).to_be_attached()  # more people than sites
    total = len(rows.all())
    districts = [rows.nth(i).locator("td").first.inner_text() for i in range(total)]
    assert districts[0] == "Tỉnh Lạng Sơn" and districts.index("Huyện Tràng Định") < districts.index("Huyện Đình Lập")
    assert districts == sorted(districts, key=districts.index)  # each district's rows together
    invites.get_by_test_id("invite-filter").fill("that khe")
    expect(table.locator("[data-testid=invite-answer]:visible")).not_to_have_count(0)
    for text in table.locator("[data-testid=invite-answer]:visible").all_inner_texts():
        assert "Thất Khê" in text

    page.set_viewport_size(PHONE)
    page.goto(f"/meetings/{province_meeting.id}")
    expect(page.get_by_test_id("reply-counts")).to_be_visible()
    assert sideways_overflow(page) == 0
    shoot(page, "phone-meeting-page")


# -- the technician's phone ---------------------------------------------------------------------


def test_a_technicians_tap_confirms_in_place_and_leaves_the_reader_within_the_card(phone_page, page,
                                                                                    province_meeting):
    from vmeeting.readiness.models import Readiness

    occurrence = province_meeting.occurrences[0]
    # the technician's day lists today's and tomorrow's sittings: the demo's first working day may be further
    move_into_the_past(province_meeting, utcnow() + timedelta(hours=2) - occurrence.starts_at)
    sign_in(phone_page, "technician")
    phone_page.goto("/readiness")
    laid_out(phone_page).evaluate("window.__notReloaded = true")
    cards = phone_page.locator(f'[data-testid=my-sitting]:has-text("{province_meeting.title}") [data-testid=my-site]')
    expect(cards.nth(4)).to_be_attached()
    card = cards.nth(3)
    endpoint_id = int(card.get_attribute("data-endpoint-id"))
    button = card.get_by_test_id("confirm-ready")
    button.tap()  # nothing ticked yet: refused in place, naming what is missing
    expect(card.get_by_test_id("saved-state")).to_contain_text("Chưa kiểm tra xong")
    for name in ("camera", "microphone", "display", "network", "test_call"):
        card.get_by_test_id(f"check-{name}").tap()
    button.scroll_into_view_if_needed()
    before = phone_page.evaluate("window.scrollY")
    height = box_of(card)["height"]
    shoot(phone_page, "phone-checklist")
    button.tap()
    expect(card.get_by_test_id("saved-state")).to_contain_text("Đã lưu lúc")
    expect(card.get_by_role("alert")).to_contain_text("Đã ghi nhận")
    expect(card.locator("summary [data-testid=site-status]")).to_have_text("Sẵn sàng")
    shoot(phone_page, "phone-checklist-saved")
    expect(card.get_by_test_id("confirm-ready")).to_be_hidden()  # folded a moment later, the next one at hand
    after = phone_page.evaluate("window.scrollY")
    assert abs(after - before) <= height, (before, after, height)
    assert phone_page.evaluate("window.__notReloaded") is True
    assert sideways_overflow(phone_page) == 0
    db.session.rollback()
    kept = db.session.scalar(sa.select(Readiness).where(Readiness.endpoint_id == endpoint_id,
                                                        Readiness.occurrence_id == province_meeting.occurrences[0].id))
    assert kept.status == "ready" and kept.confirmed_at is not None
    shoot(phone_page, "phone-checklist-folded")
    page.set_viewport_size(DESKTOP)
    sign_in(page, "technician")
    page.goto("/readiness")
    assert sideways_overflow(page) == 0
    shoot(page, "checklist")


# -- the conflict answer ------------------------------------------------------------------------


def test_the_conflict_answer_lists_each_busy_meeting_once_with_its_sites_and_the_ways_out_first(
        page, province_meeting, book):
    """The demo's training of Tràng Định holds its district's 23 sites at 08:00 on its day; a Văn Lãng meeting is booked
    beside it; the whole province asked for then meets two busy meetings, not 40 rows."""
    from vmeeting.registry.models import Endpoint

    training = db.session.scalar(sa.select(Meeting).where(Meeting.title.like("Tập huấn%")))
    van_lang = db.session.scalars(sa.select(Endpoint).where(Endpoint.code.like("LS-182%"))
                                  .order_by(Endpoint.code)).all()
    assert len(van_lang) == 18
    book(van_lang, training.starts_at, minutes=120, title="Họp huyện Văn Lãng")
    day = to_local(training.starts_at).date().isoformat()
    chair = db.session.scalar(sa.select(Endpoint.id).where(Endpoint.code == "LS-TINH"))

    page.set_viewport_size(DESKTOP)
    sign_in(page, "scheduler")
    page.goto(f"/meetings/new?day={day}&start=08:00&end=11:00")
    page.get_by_label("Tên cuộc họp").fill("Hội nghị toàn tỉnh bất thường")
    page.get_by_label("Toàn tỉnh (mọi điểm cầu đang hoạt động)").check()
    page.evaluate(f"document.getElementById('chair_endpoint_id').tomselect.setValue('{chair}')")
    page.get_by_test_id("book").click()
    answer = page.get_by_test_id("conflict")
    answer.wait_for()
    rows = answer.get_by_test_id("conflict-row")
    expect(rows).to_have_count(2)  # one row per busy meeting
    expect(rows.filter(has_text="Họp huyện Văn Lãng").get_by_test_id("busy-site-count")).to_have_text("18 điểm cầu")
    expect(rows.filter(has_text="Tập huấn").get_by_test_id("busy-site-count")).to_have_text(
        f"{training.endpoint_count} điểm cầu")
    # the ways out before the list, and on the first screen
    ways = box_of(answer.get_by_test_id("ways-out"))
    assert ways["y"] < box_of(answer.get_by_test_id("busy-meetings"))["y"]
    assert ways["y"] + ways["height"] < DESKTOP["height"]
    expect(answer.get_by_test_id("skip-busy")).to_contain_text(f"bỏ {18 + training.endpoint_count} điểm cầu bận")
    expect(answer.get_by_test_id("suggested-slot").first).to_be_visible()
    shoot(page, "conflict-answer")
    # same-name sites read apart: each busy site with its district
    rows.filter(has_text="Họp huyện Văn Lãng").locator("summary").click()
    sites = rows.filter(has_text="Họp huyện Văn Lãng").get_by_test_id("busy-sites")
    expect(sites).to_contain_text("UBND xã Tân Thanh (Văn Lãng)")
    expect(answer).to_contain_text("(Văn Lãng)")
    assert sideways_overflow(page) == 0
    shoot(page, "conflict-answer-open")

    page.set_viewport_size(PHONE)
    assert sideways_overflow(page) == 0
    answer.scroll_into_view_if_needed()
    shoot(page, "phone-conflict-answer")
