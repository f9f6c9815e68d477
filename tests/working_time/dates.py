"""Dates of the coming Vietnamese year, found from the `holidays` package so the tests never age.

The issue's cases name 2027 (Tết 04–10/02/2027, 30/4, 2/9); these helpers give
exactly those while they are ahead, and the same days of a later year after.
"""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import holidays

VN = ZoneInfo("Asia/Ho_Chi_Minh")


def today():
    return datetime.now(VN).date()


def coming(month, day, weekday=None):
    """The next date with this month and day, at least a week ahead (and on `weekday`, if given)."""
    year = today().year
    while True:
        found = date(year, month, day)
        if found > today() + timedelta(days=7) and (weekday is None or found.weekday() == weekday):
            return found
        year += 1


def tet_working_days():
    """The weekdays of the next Tết holiday wholly ahead: (year, [dates]); 2027: 04, 05, 08, 09, 10/02."""
    year = today().year
    while True:
        days = sorted(d for d, name in holidays.country_holidays("VN", years=year, language="vi").items()
                      if "Tết" in name and "Dương" not in name)
        if days and days[0] > today() + timedelta(days=7):
            return year, [d for d in days if d.weekday() < 5]
        year += 1


def at(day, hour, minute=0):
    """An aware local instant on a day."""
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=VN)


def new_year_weekday():
    """The next 1 January on a weekday at least three weeks ahead (2027: a Friday)."""
    year = today().year + 1
    while True:
        day = date(year, 1, 1)
        if day.weekday() < 5 and day > today() + timedelta(days=21):
            return day
        year += 1
