"""Every page a role reaches from the menu, and the pages one click beyond, walked once per role with four checks.

The walk signs in up to three Chromium pages and takes each page through the
checks that concern it:

- **axe** (Vietnamese, 1366×768): axe-core 4 (tests/vendor/axe-core, vendored for
  the tests only: the app never serves it) with the WCAG 2 A and AA rules, once the
  page has drawn itself (the calendar's views, the pickers' Tom Select, the boards'
  first poll). Any violation fails, with the rule, its help text and where it was
  found; nothing is excluded: a vendored widget's markup is fixed or wrapped by the
  app's own script instead (calendar.js, sitepicker.js).
- **desktop width** (the same visit, and the English page's): the page does not
  scroll sideways at 1366×768.
- **phone width** (Vietnamese, 390×844 with touch): the page does not scroll sideways.
- **English** (after the footer's switch, in a session of its own): no word with a
  Vietnamese letter in the menu, content, titles and labels once the data — names
  of units, sites, people, groups, meetings and incidents, as entered — is taken out.

The pages: the today board and every link of the role's menu (all four checks);
the calendar's other views (its toolbar's buttons); a meeting with its board,
roll-call, print view, giấy mời and booking form; an endpoint and its network page,
an incident, a unit, a group, a user, the account, the reports, the template, an
error page (a role that may not open one sees the 403 page, which must pass too) —
axe, both languages at the desktop's width; and a busy week — a province-wide
meeting with a long title, a second one, an incident with a long title — whose
pages and dated calendar views get axe and must fit both screens. The walk is cut
into these parts, a test each, so that xdist runs them beside one another; each
failure names the role, the check and the page.
"""

import re
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.booking.conftest import book, next_monday  # noqa: F401 (fixture)
from tests.conftest import _browser_context, browser_sign_in, settled, sideways_overflow
from tests.walks.world import build_world
from vmeeting.core.extensions import db

pytestmark = [pytest.mark.browser, pytest.mark.long]

DESKTOP = {"width": 1366, "height": 768}
AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
#: the rule sets axe-core tags WCAG 2.0, 2.1 and 2.2 success criteria with, levels A and AA
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
#: the calendar's other views (its toolbar's buttons): one click beyond the menu's calendar
CALENDAR_VIEWS = ["/calendar?view=week", "/calendar?view=month", "/calendar?view=day", "/calendar?view=list",
                  "/calendar?view=sites"]
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
#: letters only Vietnamese uses among the languages we show (a-z with its diacritics, and đ)
VIETNAMESE = re.compile(r"[àáảãạăằắẳẵặâầấẩẫậđèéẻẽẹêềếểễệìíỉĩịòóỏõọôồốổỗộơờớởỡợùúủũụưừứửữựỳýỷỹỵ]", re.IGNORECASE)
#: words English takes as they are: the Lunar New Year's own name
ENGLISH_LOANS = {"Tết"}


# -- the checks ---------------------------------------------------------------------------

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


def data_strings():
    """The texts people entered (names, titles), longest first: they stay as written in any language."""
    from vmeeting.auth.models import User
    from vmeeting.booking.models import Meeting
    from vmeeting.booking.sites import district_label
    from vmeeting.network.models import Incident
    from vmeeting.outbox.models import OutboxMail
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


def settle(page):
    """Wait until the page has loaded and drawn what its scripts fetch (the calendar its toolbar)."""
    settled(page)
    if page.evaluate("() => document.getElementById('calendar') !== null"):
        page.locator("#calendar .ec-toolbar").wait_for()
        settled(page)


def menu(page):
    """The paths the signed-in menu links to, in its order."""
    hrefs = page.eval_on_selector_all("#mainnav a.nav-link, #mainnav a.dropdown-item",
                                      "links => links.map(a => a.getAttribute('href'))")
    assert hrefs, "the menu is empty"
    return hrefs


# -- the world ----------------------------------------------------------------------------

@pytest.fixture
def world(make_user, make_unit, province, make_bridge, make_endpoint, book):  # noqa: F811 (fixture)
    """The walks' world (tests/walks/world.py) and a busy week beside it; `busy` lists the week's pages."""
    from vmeeting.network import service as network
    from vmeeting.registry.models import AdminUnit

    world = build_world(make_user, make_unit, province, make_bridge, make_endpoint)
    district = db.session.get(AdminUnit, world.ids["district_id"])
    bridge_id = world.sites[0].bridge_id
    hall = make_endpoint("UBND tỉnh Lạng Sơn", unit=province, bridge_id=bridge_id, category="provincial")
    communes = [*world.sites, *(make_endpoint(f"UBND xã {name}", unit=make_unit(f"Xã {name}", "xã", parent=district),
                                              bridge_id=bridge_id) for name in ("Mai Sao", "Vân An"))]
    # in the afternoons: the world's own meeting takes a site at 9:00 on the next working day
    monday = next_monday(14)
    big = book([hall, *communes], monday, title="Hội nghị trực tuyến toàn tỉnh triển khai nhiệm vụ năm 2027")
    book([communes[0]], monday + timedelta(days=1, hours=2), title="Tiếp công dân định kỳ")
    occurrence = big.occurrences[0]
    incident = network.open_incident(world.users["admin"], {
        "endpoint_id": hall.id, "title": "Mất hình từ camera chính của hội trường tầng 3", "severity": "major"})
    db.session.commit()
    world.busy = [
        f"/meetings/{big.id}", f"/meetings/{big.id}/readiness", f"/meetings/{big.id}/print",
        f"/meetings/{big.id}/occurrences/{occurrence.id}/attendance", f"/meetings/{big.id}/edit", "/meetings/new",
        f"/calendar?view=sites&date={monday.date()}", f"/calendar?view=month&date={monday.date()}",
        f"/calendar?view=list&date={monday.date()}", f"/endpoints/{hall.id}", f"/network/endpoints/{hall.id}",
        f"/incidents/{incident.id}", "/incidents/report", "/readiness/report", "/reports/attendance"]
    return world


@pytest.fixture
def english_page(chromium, live_server):
    """A desktop page of its own browser context (its own session, so its own language)."""
    context = _browser_context(chromium, live_server, viewport=DESKTOP)
    yield context.new_page()
    context.close()


# -- the walk ---------------------------------------------------------------------------

#: the walk's parts (each a test of its own, so that they overlap under xdist): the pages of each, and the
#: pages of each that the phone and the English page take (None: the Vietnamese desktop page's own)
PARTS = ["menu", "calendar", "meeting", "registry", "busy week"]
_MEETING = ("/meetings/",)
_CALENDAR = ("/calendar",)


def _pages(part, world, menu_of):
    """{"desktop": paths, "phone": paths, "English": paths} of the part; menu_of(check) reads a page's menu."""
    detail = [p.format(**world.ids) for p in DETAIL_PAGES]
    if part == "menu":
        return {check: ["/", *menu_of(check)] for check in ("desktop", "phone", "English")}
    if part == "busy week":
        return {"desktop": world.busy, "phone": world.busy, "English": []}
    if part == "calendar":
        mine = [p for p in detail if p.startswith(_CALENDAR)]
        return {"desktop": [*CALENDAR_VIEWS, *mine], "phone": [], "English": mine}
    if part == "meeting":
        mine = [p for p in detail if p.startswith(_MEETING)]
    else:  # registry, network, people, reports, documents, the error page
        mine = [p for p in detail if not p.startswith(_MEETING + _CALENDAR)]
    return {"desktop": mine, "phone": [], "English": mine}


def _signed_in(request, fixture, user):
    page = request.getfixturevalue(fixture)
    if fixture == "page":
        page.set_viewport_size(DESKTOP)
        page.context.add_init_script(path=AXE)  # compiled once for the walk, not sent again with every page
    browser_sign_in(page, user)
    if fixture == "english_page":
        page.get_by_role("button", name="English").click()
        page.wait_for_url("**/")
    return page


@pytest.mark.parametrize("part", PARTS)
@pytest.mark.parametrize("role", ["admin", "scheduler", "technician", "viewer"])
def test_every_page_of_the_role(request, live_server, world, role, part):
    """A part of the role's walk: axe and the desktop width in Vietnamese, the phone's width, English text."""
    user = world.users[role]
    pages = {}

    def opened(name):  # the browser pages the part needs, signed in as it first needs each
        if name not in pages:
            pages[name] = _signed_in(request, {"desktop": "page", "phone": "phone_page",
                                               "English": "english_page"}[name], user)
        return pages[name]

    paths = _pages(part, world, lambda name: menu(opened(name)))
    failures = []  # (check, path, what was found)
    for path in dict.fromkeys(paths["desktop"]):
        page = opened("desktop")
        page.goto(path)
        settle(page)
        failures += [("axe", path, line) for line in violations(page)]
        if extra := sideways_overflow(page):
            failures.append(("desktop width", path, f"scrolls {extra} px sideways"))
    for path in dict.fromkeys(paths["phone"]):
        phone = opened("phone")
        phone.goto(path)
        settle(phone)
        if extra := sideways_overflow(phone):
            failures.append(("phone width", path, f"scrolls {extra} px sideways"))
    data = data_strings() if paths["English"] else []
    for path in dict.fromkeys(paths["English"]):
        english = opened("English")
        english.goto(path)
        settle(english)
        if words := vietnamese_words(english, data):
            failures.append(("English", path, "Vietnamese words: " + " ".join(words)))
        if extra := sideways_overflow(english):
            failures.append(("desktop width in English", path, f"scrolls {extra} px sideways"))
    assert failures == [], "\n".join(f"{role}, {check}, {path}: {found}" for check, path, found in failures)
