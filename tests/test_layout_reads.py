"""Browser tests read the page only once it is ready: layout through the helpers that wait for its
stylesheets, and elements through Playwright's retrying assertions.

A click on a link or a submit button returns as soon as the next document starts. Its elements appear
while it is parsed, and it is unstyled until Bootstrap's stylesheet arrives. A read that does not wait
can meet either: on a loaded CI machine a `btn-lg py-3` button measured 21 px high.
"""

import re
from pathlib import Path

TESTS = Path(__file__).parent

#: a box or a width read straight off Chromium; `box_of` and `sideways_overflow` (tests/conftest.py)
#: wait for the `load` state and the fonts first
RAW_LAYOUT = re.compile(r"\.bounding_box\(|scrollWidth|clientWidth|offsetHeight|offsetWidth|getBoundingClientRect")
#: a one-off look at a locator that answers at once; `expect(locator)` retries until its timeout
ONE_LOOK = re.compile(r"\.(is_visible|is_hidden|is_checked|is_disabled|is_enabled|is_editable)\(\)|\.count\(\)")


def _lines(pattern, files):
    return [f"{path.relative_to(TESTS)}:{number}: {line.strip()}"
            for path in files
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
            if pattern.search(line) and "query(" not in line and "session." not in line]


def _test_files():
    """Every test module but the one defining the helpers, and this one."""
    return [path for path in sorted(TESTS.rglob("*.py")) if path not in (TESTS / "conftest.py", Path(__file__))]


def test_no_test_reads_layout_before_the_page_is_styled():
    assert _lines(RAW_LAYOUT, _test_files()) == []


def test_browser_tests_ask_the_page_through_retrying_assertions():
    browser_tests = [path for path in _test_files() if "mark.browser" in path.read_text(encoding="utf-8")]
    assert browser_tests, "no browser test found"
    assert _lines(ONE_LOOK, browser_tests) == []
