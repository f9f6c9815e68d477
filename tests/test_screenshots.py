"""The README's screenshots of the demo province as `make run` loads it (its sites answering the SIP simulator,
two real sweeps done), in Chromium at 1366×768 and 390×844:

    SCREENSHOTS=docs/screenshots .venv/bin/pytest -p no:randomly tests/test_screenshots.py tests/test_meeting_day.py

This file takes the boards (today, readiness, network), the calendar (week, sites × time, month; a phone's
agenda) and the booking form's pickers; tests/test_meeting_day.py the meeting page, the roll-call, the
technician's checklist and the conflict answer, each as its test leaves it. A page's picture at a phone's
size is named phone-<name>.png. Skipped unless SCREENSHOTS names a folder; each shot also asserts that its
page has no sideways scroll.
"""

import os
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from tests.conftest import browser_sign_in, settled, sideways_overflow
from tests.demo_network import swept_demo
from vmeeting.demo.loader import demo_logins
from vmeeting.core.extensions import db
from vmeeting.core.timefmt import to_local

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not os.environ.get("SCREENSHOTS"), reason="SCREENSHOTS=<folder> takes them")]

DESKTOP = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}


def sign_in(page, role):
    """Sign in with the demo login of the role."""
    name, password, _role, _district = next(login for login in demo_logins() if login[2] == role)
    browser_sign_in(page, name, password)


def shoot(page, name, full_page=False):
    assert sideways_overflow(page) == 0, name
    page.screenshot(path=str(Path(os.environ["SCREENSHOTS"]) / f"{name}.png"), full_page=full_page)


def _living_network(app):
    """The demo's sites at the SIP simulator, as `make run` points them (demo.simulator.plan: most answer, a
    few never, one comes and goes), swept for real until the network board has its verdicts."""
    swept_demo(app)
    db.session.commit()


def test_screenshots(app, page, phone_page):
    _living_network(app)
    big = _whole_province_meeting()  # written before the server reads: SQLite holds one writer
    first = min(o.starts_at for o in _occurrences())
    day = to_local(first).date().isoformat()
    page.set_viewport_size(DESKTOP)
    sign_in(page, "scheduler")
    sign_in(phone_page, "technician")
    for shot, size, prefix in ((page, DESKTOP, ""), (phone_page, PHONE, "phone-")):
        shot.goto("/")
        settled(shot)
        shoot(shot, f"{prefix}today-board", full_page=bool(prefix))
        shot.goto("/network")
        shot.get_by_test_id("network-summary").wait_for()
        settled(shot)
        shoot(shot, f"{prefix}network-board")
        shot.goto(f"/meetings/{big.id}/readiness")
        shot.get_by_test_id("readiness-grid").wait_for()
        settled(shot)
        shoot(shot, f"{prefix}readiness-grid")
    for view in ("week", "month", "sites"):
        page.goto(f"/calendar?view={view}&date={day}")
        page.locator("[data-testid=calendar-event]").first.wait_for()
        settled(page)
        shoot(page, f"calendar-{view}")
    # the phone opens on its agenda; its toolbar offers no week or sites × time, which a link still shows
    # (as tests/booking/test_calendar_review.py switches to them)
    for view, shown in (("agenda", None), ("week", "timeGridWeek"), ("sites", "resourceTimelineWeek")):
        phone_page.goto(f"/calendar?date={day}")
        phone_page.locator("[data-testid=calendar-event]").first.wait_for()
        if shown:
            phone_page.evaluate(f"() => window.vmeetingCalendar.setOption('view', '{shown}')")
            phone_page.locator("#calendar [data-testid=calendar-event]").first.wait_for()
        settled(phone_page)
        shoot(phone_page, f"phone-calendar-{view}")
    _site_picker(page, day)
    shoot(page, "site-picker")
    page.set_viewport_size(PHONE)  # the scheduler's page, at a phone's size
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
    """The booking form with a commune ticked in the tree (since 07/2025 the province's communes, no district),
    the tree open, and the chair search open."""
    page.goto(f"/meetings/new?day={day}&start=08:00&end=10:00")
    page.get_by_label("Tên cuộc họp").fill("Giao ban các xã")
    group = page.get_by_test_id("unit-tree").locator("[data-tree-group]").first
    group.locator("details").evaluate("d => d.open = true")
    group.locator("[data-tree-item] input").nth(2).check()
    group.scroll_into_view_if_needed()
    chair = page.get_by_role("combobox", name="Điểm cầu chủ tọa", exact=True)
    chair.click()
    chair.fill("hoa binh")
    from playwright.sync_api import expect

    # wait for the folded match before the picture
    options = page.locator("#chair_endpoint_id-ts-dropdown [role=option]")
    expect(options.first).to_contain_text("Hòa Bình")
    # the four UBND xã Hòa Bình first, read apart by their (former) district; then "hoa" and "binh" elsewhere
    found = [text.rsplit(" ", 1)[0] for text in options.all_inner_texts()[:4]]
    assert all(text.startswith("UBND xã Hòa Bình (") for text in found) and len(set(found)) == 4, found


def _occurrences():
    import sqlalchemy as sa

    from vmeeting.booking.models import Occurrence
    now = datetime.now().astimezone()
    return db.session.scalars(sa.select(Occurrence).where(Occurrence.starts_at > now - timedelta(days=1))).all()

