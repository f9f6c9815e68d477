"""Numbers and dates a client sends, read only within what the database and the calendar can hold.

An id past PostgreSQL's 32-bit integer (or past SQLite's 64 bits) makes the
driver fail instead of finding nothing; a date near year 1 or 9999 makes date
arithmetic overflow. Everything a client sends goes through one of these
readers first, so such values answer 404 (a path) or 400 (a field), never 500:

- path segments: `IdConverter`, installed as the app's `int` converter;
- query strings: `query_id`, `query_page`, `query_date` as the `type=` of
  `request.args.get` (a value out of range reads as absent);
- JSON bodies and form fields: `as_id`, and `check_instant` for instants.
"""

from datetime import date, datetime

from werkzeug.routing import IntegerConverter

from vmeeting.core.database import MAX_ID
from vmeeting.core.text import say

#: the days a person may name: wide enough for any record, far from datetime's limits (year 1 to 9999),
#: so a window of a year around any of them can be computed
MIN_DAY = date(1900, 1, 1)
MAX_DAY = date(2999, 12, 31)
#: far beyond any real list, and keeps a row offset inside a 64-bit integer
MAX_PAGE = 1_000_000


class IdConverter(IntegerConverter):
    """The `int` of every route: a row id; one out of range reads as 0, which no row has, so the view's
    own lookup answers 404 as for any missing row.

    Refusing the value in the converter instead would make werkzeug answer 405
    where the same path takes other methods (the rule of the other method matched).
    """

    def to_python(self, value):
        # 19 digits already exceed 64 bits: a longer run is not even read (int() refuses past 4300 digits).
        if len(value) > 19:
            return 0
        number = int(value)
        return number if number <= MAX_ID else 0


def as_id(raw):
    """Return raw (int or digit text) as a whole number, None when empty, 0 when out of range.

    0 matches no row, so a lookup answers "not found" where the database
    would have failed. Raise ValueError for anything that is not a whole
    number: booleans, fractions, other text.
    """
    if type(raw) is int:  # the common case first: a JSON number (bool, a subclass, is refused below)
        return raw if 0 <= raw <= MAX_ID else 0
    if raw in (None, ""):
        return None
    if isinstance(raw, bool):
        raise ValueError(f"not a whole number: {raw!r}")
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)
    elif isinstance(raw, str) and raw.strip().isascii() and raw.strip().isdigit():
        raw = int(raw.strip()) if len(raw.strip()) <= 19 else MAX_ID + 1
    if not isinstance(raw, int):
        raise ValueError(f"not a whole number: {raw!r}")
    return raw if 0 <= raw <= MAX_ID else 0


def _bounded_int(text, maximum):
    text = (text or "").strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 19 or not 1 <= int(text) <= maximum:
        raise ValueError(f"not a whole number from 1 to {maximum}: {text!r}")
    return int(text)


def query_id(text):
    """Read a query-string id (1 to MAX_ID); raise ValueError, which `request.args.get` turns into absent."""
    return _bounded_int(text, MAX_ID)


def query_page(text):
    """Read a query-string page number (1 to MAX_PAGE); raise ValueError otherwise."""
    return _bounded_int(text, MAX_PAGE)


def query_date(text):
    """Read a query-string day, YYYY-MM-DD, between MIN_DAY and MAX_DAY; raise ValueError otherwise."""
    return check_day(datetime.strptime((text or "").strip(), "%Y-%m-%d").date())


def check_day(day):
    """Return day if it lies between MIN_DAY and MAX_DAY; raise ValueError (a Vietnamese `say` sentence) otherwise."""
    if not MIN_DAY <= day <= MAX_DAY:
        raise ValueError(say("Ngày phải từ %(first)s đến %(last)s.", first=MIN_DAY.strftime("%d/%m/%Y"),
                             last=MAX_DAY.strftime("%d/%m/%Y")))
    return day


def check_instant(instant):
    """Return the instant if its day lies between MIN_DAY and MAX_DAY; raise ValueError otherwise.

    The day is read as written (before any change of zone), which the change of
    zone itself could not do near year 1 or 9999.
    """
    check_day(instant.date())
    return instant
