"""The province-wide meeting of the demo as `make run` loads it (213 sites, the demo's SIP simulator, real sweeps):
one verdict per site, the same counts on the today board, the readiness board and the network board; the
readiness board holds 213 sites in three screen heights and repaints in place.
"""

import re
from datetime import datetime, time, timedelta

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from tests.booking.conftest import move_into_the_past
from tests.conftest import box_of, sideways_overflow
from tests.demo_network import swept_demo
from tests.test_screenshots import sign_in as demo_sign_in
from vmeeting.booking.models import Meeting
from vmeeting.auth.models import User
from vmeeting.core.database import utcnow, writing
from vmeeting.core.extensions import db
from vmeeting.core.timefmt import local_zone, to_local
from vmeeting.network.models import Incident
from vmeeting.readiness import service as readiness
from vmeeting.readiness.models import CHECKS, Readiness
from vmeeting.registry.models import Endpoint

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}
VERDICTS = ("ready", "pending", "issue", "incident", "unreachable", "down", "total")


@pytest.fixture
def province_day(app, live_server):
    """The demo as `make run` loads it, swept by the real probes against its simulator; the whole province's
    meeting on the today board (tomorrow), with technicians' answers of each kind."""
    address, silent, _flaky = swept_demo(app)
    meeting = max(db.session.scalars(sa.select(Meeting)), key=lambda m: m.endpoint_count)
    assert meeting.endpoint_count == 213
    occurrence = meeting.occurrences[0]
    # the today board shows today and tomorrow: the meeting is tomorrow, early, clear of the demo's others
    tomorrow = to_local(utcnow()).date() + timedelta(days=1)
    if to_local(occurrence.starts_at).date() != tomorrow:
        move_into_the_past(meeting, datetime.combine(tomorrow, time(4, 0), local_zone()) - occurrence.starts_at)
    sites = sorted((e for e in meeting.endpoints), key=lambda e: e.code)
    now = utcnow()
    answered = [e for e in sites if e.sip_uri.split("@")[0][len("sip:"):] not in silent][:150]
    db.session.add_all([Readiness(occurrence_id=occurrence.id, endpoint_id=e.id, status="ready", checks={},
                                  confirmed_at=now, is_reachable=True, checked_at=now) for e in answered[:140]])
    db.session.add_all([Readiness(occurrence_id=occurrence.id, endpoint_id=e.id, status="issue", note="Mất tiếng",
                                  checks={}, confirmed_at=now) for e in answered[140:143]])
    db.session.add(Incident(endpoint_id=answered[143].id, title="Hỏng bộ chia mạng", severity="major"))
    db.session.commit()
    live_server.server.app.config["DEMO_SIP_SIMULATOR"] = address
    summary = readiness.summaries([occurrence.id])[occurrence.id]
    # a living network: most sites up, the simulator's silent ones down, each site counted once
    assert summary["down"] == len(silent) and summary["ready"] == 140 and summary["issue"] == 3
    assert summary["incident"] == 1 and sum(summary[v] for v in VERDICTS[:-1]) == summary["total"] == 213
    return meeting, occurrence, summary


def _counts(scope):
    return {name: int(scope.locator(f'[data-count="{name}"]').first.inner_text()) for name in VERDICTS}


@pytest.mark.parametrize("size", [DESKTOP, PHONE], ids=["1366x768", "390x844"])
def test_the_three_boards_count_the_meetings_sites_alike(page, province_day, size):
    meeting, occurrence, summary = province_day
    expected = {name: summary[name] for name in VERDICTS}
    page.set_viewport_size(size)
    demo_sign_in(page, "scheduler")
    sitting = page.get_by_test_id("board-sitting").filter(has_text=meeting.title)
    assert _counts(sitting.get_by_test_id("readiness-counts")) == expected

    page.goto(f"/meetings/{meeting.id}/readiness?occurrence_id={occurrence.id}")
    assert _counts(page.get_by_test_id("board-counts")) == expected
    expect(page.get_by_test_id("tile")).to_have_count(213)
    assert sideways_overflow(page) == 0

    page.get_by_test_id("network-link").click()
    page.wait_for_url(re.compile(rf".*/network\?occurrence_id={occurrence.id}"))
    expect(page.get_by_test_id("network-simulated")).to_contain_text("Mạng mô phỏng của bản demo")
    assert _counts(page.get_by_test_id("sitting-counts")) == expected
    network_counts = page.get_by_test_id("network-summary")
    assert int(network_counts.locator('[data-count="down"]').inner_text()) == summary["down"]
    expect(page.get_by_test_id("cell")).to_have_count(213)
    assert sideways_overflow(page) == 0
    # the network board itself, for the whole province: the meeting's counts again, among today's sittings
    page.goto("/network")
    expect(page.locator("meta[http-equiv=refresh]")).to_have_count(0)


def test_the_readiness_board_of_213_sites_fits_three_screens_and_repaints_in_place(page, province_day, app):
    meeting, occurrence, summary = province_day
    page.set_viewport_size(DESKTOP)
    demo_sign_in(page, "scheduler")
    page.goto(f"/meetings/{meeting.id}/readiness?occurrence_id={occurrence.id}")
    grid = page.get_by_test_id("readiness-grid")
    expect(grid).to_be_visible()
    # counts and grid first; every kind of problem folded, so the page is at most three screens tall
    assert box_of(page.get_by_test_id("board-counts"))["y"] < box_of(grid)["y"]
    assert box_of(grid)["y"] < box_of(page.get_by_test_id("problems"))["y"]
    expect(page.locator("details[data-kind][open]")).to_have_count(0)
    height = page.evaluate("document.documentElement.scrollHeight")
    assert height <= 3 * DESKTOP["height"], height

    # the filters: down (down and unreachable), incident (issue and open incident), unconfirmed, not ready
    page.get_by_test_id("filter-down").check()
    expect(page.locator("[data-testid=tile]:visible")).to_have_count(summary["down"] + summary["unreachable"])
    expect(page.get_by_test_id("problems-down")).to_be_visible()
    expect(page.get_by_test_id("problems-pending")).to_be_hidden()
    page.get_by_test_id("filter-incident").check()
    expect(page.locator("[data-testid=tile]:visible")).to_have_count(summary["issue"] + summary["incident"])
    page.get_by_test_id("filter-unconfirmed").check()
    expect(page.locator("[data-testid=tile]:visible")).to_have_count(summary["pending"])
    page.get_by_test_id("filter-not-ready").check()
    expect(page.locator("[data-testid=tile]:visible")).to_have_count(213 - summary["ready"])

    # open the unconfirmed sites, read down into them; a technician answers meanwhile: the poll repaints
    pending = page.get_by_test_id("problems-pending")
    pending.locator("summary").click()
    first = pending.locator("li").first
    name = first.locator(".fw-semibold").inner_text()
    endpoint_id = int(first.get_attribute("data-endpoint-id"))
    pending.scroll_into_view_if_needed()
    page.evaluate("window.__notReloaded = true")
    before = page.evaluate("window.scrollY")
    db.session.rollback()  # SQLite: end the test's read before writing beside the live server
    with writing():
        readiness.confirm(occurrence, db.session.get(Endpoint, endpoint_id),
                          db.session.scalar(sa.select(User).where(User.username == "scheduler")),
                          {"status": "ready", "checks": dict.fromkeys(CHECKS, True)})
        db.session.commit()
    counts = page.get_by_test_id("board-counts")
    expect(counts.locator('[data-count="ready"]')).to_have_text(str(summary["ready"] + 1), timeout=20000)
    expect(pending.locator(f'li[data-endpoint-id="{endpoint_id}"]')).to_have_count(0)
    expect(page.locator(f'[data-testid=tile][data-endpoint-id="{endpoint_id}"]')).to_be_hidden()  # ready now
    assert pending.get_attribute("open") is not None and page.is_checked("[data-testid=filter-not-ready]")
    assert abs(page.evaluate("window.scrollY") - before) <= 40
    assert page.evaluate("window.__notReloaded") is True and name
