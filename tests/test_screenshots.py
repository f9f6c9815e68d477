"""The README's screenshots, taken of the demo province in Chromium: `SCREENSHOTS=docs pytest tests/test_screenshots.py`.

Skipped unless SCREENSHOTS names a folder; each shot also asserts that its page fits the screen.
"""

import os
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from tests.conftest import browser_sign_in, settled, sideways_overflow
from vmeeting.demo.loader import demo_logins, load_demo
from vmeeting.core.extensions import db
from vmeeting.core.timefmt import to_local

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not os.environ.get("SCREENSHOTS"), reason="SCREENSHOTS=<folder> takes them")]

DESKTOP = {"width": 1366, "height": 768}


def sign_in(page, role):
    """Sign in with the demo login of the role."""
    name, password, _role, _district = next(login for login in demo_logins() if login[2] == role)
    browser_sign_in(page, name, password)


def shoot(page, name, full_page=False):
    assert sideways_overflow(page) == 0, name
    page.screenshot(path=str(Path(os.environ["SCREENSHOTS"]) / f"{name}.png"), full_page=full_page)


def test_screenshots(page, phone_page):
    load_demo()
    db.session.commit()
    big = _whole_province_meeting()  # written before the server reads: SQLite holds one writer
    first = min(o.starts_at for o in _occurrences())
    day = to_local(first).date().isoformat()
    page.set_viewport_size(DESKTOP)
    sign_in(page, "scheduler")
    shoot(page, "today-board")
    for view in ("week", "month", "sites"):
        page.goto(f"/calendar?view={view}&date={day}")
        page.locator("[data-testid=calendar-event]").first.wait_for()
        settled(page)
        shoot(page, f"calendar-{view}")
    page.goto(f"/meetings/{big.id}/readiness")
    page.get_by_test_id("readiness-grid").wait_for()
    shoot(page, "readiness-grid")
    _site_picker(page, day)
    shoot(page, "site-picker")

    sign_in(phone_page, "technician")
    shoot(phone_page, "phone-today-board", full_page=True)
    phone_page.goto(f"/calendar?date={day}")
    phone_page.locator("[data-testid=calendar-event]").first.wait_for()
    shoot(phone_page, "phone-calendar-agenda")
    phone_page.goto(f"/meetings/{big.id}/readiness")
    phone_page.get_by_test_id("readiness-grid").wait_for()
    shoot(phone_page, "phone-readiness-grid")
    page.set_viewport_size({"width": 390, "height": 844})  # the scheduler's page, at a phone's size
    _site_picker(page, day)
    shoot(page, "phone-site-picker")


def _whole_province_meeting():
    """The demo's meeting of every site, with some sites answered, so the grid shows each colour."""
    import sqlalchemy as sa

    from vmeeting.booking.models import Meeting
    from vmeeting.readiness.models import Readiness

    meeting = max(db.session.scalars(sa.select(Meeting)), key=lambda m: m.endpoint_count)
    occurrence = meeting.occurrences[0]
    sites = [e.id for e in meeting.endpoints]
    db.session.add_all([Readiness(occurrence_id=occurrence.id, endpoint_id=i, status="ready", is_reachable=True,
                                  rtt_ms=12.0) for i in sites[:140]])
    db.session.add_all([Readiness(occurrence_id=occurrence.id, endpoint_id=i, status="issue", note="Mất tiếng",
                                  is_reachable=True, rtt_ms=15.0) for i in sites[140:146]])
    db.session.add_all([Readiness(occurrence_id=occurrence.id, endpoint_id=i, status="pending", is_reachable=False,
                                  probe_error="Không phản hồi") for i in sites[146:152]])
    db.session.commit()
    return meeting


def _site_picker(page, day):
    """The booking form with a district ticked in the tree, its communes open, and the chair search open."""
    page.goto(f"/meetings/new?day={day}&start=08:00&end=10:00")
    page.get_by_label("Tên cuộc họp").fill("Giao ban huyện Bình Gia")
    page.get_by_label("Toàn Huyện Bình Gia").check()
    group = page.get_by_test_id("unit-tree").locator("[data-tree-group]").filter(
        has=page.get_by_label("Toàn Huyện Bình Gia"))
    group.locator("details").evaluate("d => d.open = true")
    group.scroll_into_view_if_needed()
    chair = page.get_by_role("combobox", name="Điểm cầu chủ tọa", exact=True)
    chair.click()
    chair.fill("hoa binh")
    from playwright.sync_api import expect

    # wait for the folded match before the picture
    expect(page.locator("#chair_endpoint_id-ts-dropdown [role=option]").first).to_contain_text("Hòa Bình")


def _occurrences():
    import sqlalchemy as sa

    from vmeeting.booking.models import Occurrence
    now = datetime.now().astimezone()
    return db.session.scalars(sa.select(Occurrence).where(Occurrence.starts_at > now - timedelta(days=1))).all()

