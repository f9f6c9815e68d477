"""axe-core over the demo province as `make run` loads it (issue 25), per role: the menu's pages and, one click
beyond, the province-wide meeting's pages — 213 sites in the boards' grids, the roll-call and the pickers.

The walk of every page on a small world (tests/test_page_walk.py) checks each route's markup; this one checks
what only the province's size shows (a grid of 213 cells, a picker of 213 sites, a long roll-call).
"""

import pytest
import sqlalchemy as sa

from tests.test_page_walk import AXE, CALENDAR_VIEWS, settle, violations
from tests.test_screenshots import sign_in
from vmeeting.booking.models import Meeting
from vmeeting.core.extensions import db

pytestmark = pytest.mark.browser

BEYOND = ["/meetings/{meeting_id}", "/meetings/{meeting_id}/readiness", "/meetings/{meeting_id}/edit",
          "/meetings/{meeting_id}/occurrences/{occurrence_id}/attendance", "/meetings/new",
          "/network/endpoints/{endpoint_id}", "/meetings/{meeting_id}/giay-moi"]


@pytest.mark.parametrize("role", ["admin", "scheduler", "technician", "viewer"])
def test_the_demo_provinces_pages_pass_axe(page, demo_province, role):
    meeting = max(db.session.scalars(sa.select(Meeting)), key=lambda m: m.endpoint_count)
    ids = {"meeting_id": meeting.id, "occurrence_id": meeting.occurrences[0].id,
           "endpoint_id": meeting.chair_endpoint_id}
    page.context.add_init_script(path=AXE)  # compiled once for the walk
    page.set_viewport_size({"width": 1366, "height": 768})
    sign_in(page, role)
    hrefs = page.eval_on_selector_all("#mainnav a.nav-link, #mainnav a.dropdown-item",
                                      "links => links.map(a => a.getAttribute('href'))")
    found, seen = {}, 0
    for path in dict.fromkeys(["/", *hrefs, *CALENDAR_VIEWS, *(p.format(**ids) for p in BEYOND)]):
        answer = page.goto(path)
        if answer is not None and answer.status == 403:  # not this role's page: the walk of routes checks it
            continue
        settle(page)
        seen += 1
        lines = violations(page)
        if lines:
            found[path] = lines
    assert seen >= 10
    assert found == {}, "\n".join(f"{role}, axe, {path}:\n  " + "\n  ".join(lines) for path, lines in found.items())
