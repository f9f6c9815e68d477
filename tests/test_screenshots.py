"""The README's screenshots, taken of the demo province in Chromium: `SCREENSHOTS=docs pytest tests/test_screenshots.py`.

Skipped unless SCREENSHOTS names a folder; each shot also asserts that its page fits the screen.
"""

import os
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from tests.conftest import browser_sign_in
from vmeeting.demo.loader import demo_logins, load_demo
from vmeeting.extensions import db
from vmeeting.timefmt import to_local

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not os.environ.get("SCREENSHOTS"), reason="SCREENSHOTS=<folder> takes them")]

DESKTOP = {"width": 1366, "height": 768}


def sign_in(page, role):
    """Sign in with the demo login of the role."""
    name, password, _role, _district = next(login for login in demo_logins() if login[2] == role)
    browser_sign_in(page, name, password)


def shoot(page, name, full_page=False):
    assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth"), name
    page.screenshot(path=str(Path(os.environ["SCREENSHOTS"]) / f"{name}.png"), full_page=full_page)


def test_screenshots(page, phone_page):
    load_demo()
    db.session.commit()
    first = min(o.starts_at for o in _occurrences())
    day = to_local(first).date().isoformat()
    page.set_viewport_size(DESKTOP)
    sign_in(page, "scheduler")
    shoot(page, "today-board")
    for view in ("week", "month", "sites"):
        page.goto(f"/calendar?view={view}&date={day}")
        page.locator("[data-testid=calendar-event]").first.wait_for()
        page.wait_for_load_state("networkidle")
        shoot(page, f"calendar-{view}")
    sign_in(phone_page, "technician")
    shoot(phone_page, "phone-today-board", full_page=True)
    phone_page.goto(f"/calendar?date={day}")
    phone_page.locator("[data-testid=calendar-event]").first.wait_for()
    shoot(phone_page, "phone-calendar-agenda")


def _occurrences():
    import sqlalchemy as sa

    from vmeeting.booking.models import Occurrence
    now = datetime.now().astimezone()
    return db.session.scalars(sa.select(Occurrence).where(Occurrence.starts_at > now - timedelta(days=1))).all()
