"""Every page a role reaches from the menu, and one click beyond, passes axe-core's WCAG 2 A and AA rules.

axe-core 4 (tests/vendor/axe-core, vendored for the tests only: the app never
serves it) runs in Chromium on each page once it has drawn itself (the
calendar's views, the pickers' Tom Select, the boards' first poll). Any
violation fails the test, with the rule, its help text and where it was found;
nothing is excluded: a vendored widget's markup is fixed or wrapped by the
app's own script instead (calendar.js, sitepicker.js).
"""

from pathlib import Path

import pytest

from tests.conftest import browser_sign_in, settled
from tests.test_english_mode import DETAIL_PAGES
from tests.walks.world import build_world

pytestmark = [pytest.mark.browser, pytest.mark.long]

AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
#: the rule sets axe-core tags WCAG 2.0, 2.1 and 2.2 success criteria with, levels A and AA
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
#: the calendar's other views (its toolbar's buttons): one click beyond the menu's calendar
CALENDAR_VIEWS = ["/calendar?view=week", "/calendar?view=month", "/calendar?view=day", "/calendar?view=list",
                  "/calendar?view=sites"]


@pytest.fixture
def world(make_user, make_unit, province, make_bridge, make_endpoint):
    return build_world(make_user, make_unit, province, make_bridge, make_endpoint)


def violations(page):
    """Run axe-core over the page as it stands; return its violations as readable lines."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        # through the DevTools protocol: the app's Content-Security-Policy refuses an inline script, as it should
        page.evaluate(AXE.read_text(encoding="utf-8") + "\n;true")
    found = page.evaluate("""async (tags) => {
        const result = await window.axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']});
        return result.violations.map((v) => ({id: v.id, help: v.help,
            nodes: v.nodes.slice(0, 3).map((n) => n.target.join(' ') + ' :: ' + (n.failureSummary || '').split('\\n').slice(1, 2).join('')),
            count: v.nodes.length}));
    }""", WCAG_TAGS)
    return [f"{v['id']} ({v['count']}): {v['help']} — " + " | ".join(v["nodes"]) for v in found]


def settle(page):
    """Wait until the page has loaded and drawn what its scripts fetch."""
    settled(page)
    if page.evaluate("() => document.getElementById('calendar') !== null"):
        page.locator("#calendar .ec-toolbar").wait_for()
        settled(page)


@pytest.mark.parametrize("role", ["admin", "scheduler", "technician", "viewer"])
def test_every_page_of_the_role_passes_axe(page, world, role):
    page.set_viewport_size({"width": 1366, "height": 768})
    browser_sign_in(page, world.users[role])
    hrefs = page.eval_on_selector_all("#mainnav a.nav-link, #mainnav a.dropdown-item",
                                      "links => links.map(a => a.getAttribute('href'))")
    paths = ["/", *hrefs, *CALENDAR_VIEWS, *(p.format(**world.ids) for p in DETAIL_PAGES)]
    found = {}
    for path in dict.fromkeys(paths):
        page.goto(path)
        settle(page)
        lines = violations(page)
        if lines:
            found[path] = lines
    assert found == {}, "\n".join(f"{path}:\n  " + "\n  ".join(lines) for path, lines in found.items())


@pytest.mark.parametrize("role", ["admin", "scheduler", "technician", "viewer"])
def test_the_demo_provinces_pages_pass_axe(page, demo_province, role):
    """The same walk on the demo province as `make run` loads it (issue 25): 213 sites in the boards' grids, the
    roll-call and the pickers, the province-wide meeting's pages one click beyond the menu."""
    import sqlalchemy as sa

    from tests.test_screenshots import sign_in
    from vmeeting.booking.models import Meeting
    from vmeeting.core.extensions import db

    meeting = max(db.session.scalars(sa.select(Meeting)), key=lambda m: m.endpoint_count)
    ids = {"meeting_id": meeting.id, "occurrence_id": meeting.occurrences[0].id,
           "endpoint_id": meeting.chair_endpoint_id}
    page.set_viewport_size({"width": 1366, "height": 768})
    sign_in(page, role)
    hrefs = page.eval_on_selector_all("#mainnav a.nav-link, #mainnav a.dropdown-item",
                                      "links => links.map(a => a.getAttribute('href'))")
    beyond = ["/meetings/{meeting_id}", "/meetings/{meeting_id}/readiness", "/meetings/{meeting_id}/edit",
              "/meetings/{meeting_id}/occurrences/{occurrence_id}/attendance", "/meetings/new",
              "/network/endpoints/{endpoint_id}", "/meetings/{meeting_id}/giay-moi"]
    found, seen = {}, 0
    for path in dict.fromkeys(["/", *hrefs, *CALENDAR_VIEWS, *(p.format(**ids) for p in beyond)]):
        answer = page.goto(path)
        if answer is not None and answer.status == 403:  # not this role's page: the walk of routes checks it
            continue
        settle(page)
        seen += 1
        lines = violations(page)
        if lines:
            found[path] = lines
    assert seen >= 10
    assert found == {}, "\n".join(f"{path}:\n  " + "\n  ".join(lines) for path, lines in found.items())
