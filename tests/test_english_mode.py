"""In English, an interface shows no Vietnamese: menu, headings, buttons, weekdays, statuses, errors (data stays).

For each role the test signs in, switches to English, visits every page the
menu reaches and the pages one click away (a meeting, an endpoint, a unit, a
user, a board, a roll-call, an incident, the booking form, an error page), and
fails on any word with a Vietnamese letter once the data — names of units,
sites, people, groups, meetings and incidents, as entered — is taken out.
"""

import re

import pytest
import sqlalchemy as sa

from tests.conftest import browser_sign_in, settled
from tests.walks.world import build_world
from vmeeting.core.extensions import db

pytestmark = [pytest.mark.browser, pytest.mark.long]

#: letters only Vietnamese uses among the languages we show (a-z with its diacritics, and đ)
VIETNAMESE = re.compile(r"[àáảãạăằắẳẵặâầấẩẫậđèéẻẽẹêềếểễệìíỉĩịòóỏõọôồốổỗộơờớởỡợùúủũụưừứửữựỳýỷỹỵ]", re.IGNORECASE)
#: words English takes as they are: the Lunar New Year's own name
ENGLISH_LOANS = {"Tết"}
#: the pages one click from the menu ({...}: the world's ids); a role that may not open one sees the 403 page
DETAIL_PAGES = [
    "/meetings/{meeting_id}", "/meetings/{meeting_id}/readiness", "/meetings/{meeting_id}/print",
    "/meetings/{meeting_id}/occurrences/{occurrence_id}/attendance", "/meetings/{meeting_id}/edit",
    "/meetings/new", "/calendar?view=month", "/calendar?view=day", "/calendar?view=sites", "/calendar?view=list",
    "/endpoints/{endpoint_id}", "/network/endpoints/{endpoint_id}", "/incidents/{incident_id}",
    "/units/{unit_id}/edit", "/groups/{group_id}", "/users/{user_id}", "/account",
    "/readiness/report", "/incidents/report", "/reports/attendance", "/meetings/{meeting_id}/giay-moi",
    "/documents/template", "/no-such-page",
]


@pytest.fixture
def world(make_user, make_unit, province, make_bridge, make_endpoint):
    return build_world(make_user, make_unit, province, make_bridge, make_endpoint)


def data_strings():
    """The texts people entered (names, titles), longest first: they stay as written in any language."""
    from vmeeting.auth.models import User
    from vmeeting.booking.models import Meeting
    from vmeeting.booking.sites import district_label
    from vmeeting.outbox.models import OutboxMail
    from vmeeting.network.models import Incident
    from vmeeting.registry.models import AdminUnit, Bridge, Endpoint, EndpointGroup

    texts = set()
    for column in (AdminUnit.name, Endpoint.name, Endpoint.contact_name, Endpoint.address, Meeting.title,
                   Meeting.description, User.full_name, User.agency, EndpointGroup.name, Incident.title,
                   Bridge.name, OutboxMail.subject):  # a mail goes out in Vietnamese: its subject is data
        texts.update(t for t in db.session.scalars(sa.select(column)) if t)
    # the readiness grid names a site short ("xã Hòa Bình" for UBND xã Hòa Bình)
    texts.update(t[5:] for t in list(texts) if t.startswith("UBND "))
    # the pickers name a site's district short ("Chi Lăng" for Huyện Chi Lăng)
    texts.update(district_label(u) for u in db.session.scalars(sa.select(AdminUnit)) if district_label(u))
    return sorted(texts, key=len, reverse=True)


def vietnamese_words(page, data):
    """The words with a Vietnamese letter in the page's menu, content, titles and labels, data taken out."""
    # the footer's switch names "Tiếng Việt" in its own language, as it should
    text = page.locator("nav").first.inner_text() + "\n" + page.locator("main").inner_text() + "\n" + "\n".join(
        page.eval_on_selector_all("nav [title], nav [aria-label], main [title], main [aria-label], "
                                  "main [placeholder], main option",
                                  "els => els.map(e => [e.title, e.getAttribute('aria-label'),"
                                  " e.getAttribute('placeholder'), e.tagName === 'OPTION' ? e.textContent : '']"
                                  ".filter(Boolean).join('\\n'))"))
    text += "\n" + page.title()
    for entered in data:
        text = text.replace(entered, " ")
    return sorted({w for w in re.findall(r"\w+", text) if VIETNAMESE.search(w) and w not in ENGLISH_LOANS})


@pytest.mark.parametrize("role", ["admin", "scheduler", "technician", "viewer"])
def test_english_pages_show_no_vietnamese(page, world, role):
    browser_sign_in(page, world.users[role])
    page.get_by_role("button", name="English").click()
    page.wait_for_url("**/")
    data = data_strings()
    hrefs = page.eval_on_selector_all("#mainnav a.nav-link, #mainnav a.dropdown-item", "links => links.map(a => a.getAttribute('href'))")
    found = {}
    for path in ["/", *hrefs, *(p.format(**world.ids) for p in DETAIL_PAGES)]:
        page.goto(path)
        settled(page)
        words = vietnamese_words(page, data)
        if words:
            found[path] = words
    assert found == {}, "\n".join(f"{path}: {' '.join(words)}" for path, words in found.items())
