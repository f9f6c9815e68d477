"""In English, an interface shows no Vietnamese: menu, headings, buttons, weekdays (data stays as entered)."""

import re

import pytest

from tests.conftest import browser_sign_in

pytestmark = pytest.mark.browser

#: letters only Vietnamese uses among the languages we show (a-z with its diacritics, and đ)
VIETNAMESE = re.compile(r"[àáảãạăằắẳẵặâầấẩẫậđèéẻẽẹêềếểễệìíỉĩịòóỏõọôồốổỗộơờớởỡợùúủũụưừứửữựỳýỷỹỵ]", re.IGNORECASE)
#: pages whose interface this test holds to English (the others are listed in the report as to do)
PAGES = ["/", "/calendar", "/calendar?view=month", "/calendar?view=day", "/calendar?view=sites"]


def test_english_pages_show_no_vietnamese(page, make_user):
    user = make_user("admin", username="quantri", full_name="Admin")
    browser_sign_in(page, user)
    page.get_by_role("button", name="English").click()
    page.wait_for_url("**/")
    found = {}
    for path in PAGES:
        page.goto(path)
        page.wait_for_load_state("networkidle")
        # the menu and the page; the footer's switch names "Tiếng Việt" in its own language, as it should
        text = page.locator("nav").first.inner_text() + page.locator("main").inner_text() + " " + " ".join(
            page.eval_on_selector_all("nav [title], nav [aria-label], main [title], main [aria-label]", "els => els.map(e => (e.title || '') + ' ' + (e.getAttribute('aria-label') || ''))"))
        words = sorted({w for w in re.findall(r"\w+", text) if VIETNAMESE.search(w)})
        if words:
            found[path] = words
    assert found == {}
