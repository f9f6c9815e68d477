"""Booking fixtures: a small district with bridges and a meeting factory."""

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import holidays
import pytest

from vmeeting.booking import service
from vmeeting.core.database import writing
from vmeeting.core.extensions import db

VN = ZoneInfo("Asia/Ho_Chi_Minh")


def local(year, month, day, hour, minute=0):
    """An aware instant from Lạng Sơn wall-clock time."""
    return datetime(year, month, day, hour, minute, tzinfo=VN)


#: weeks of working days after next_monday(): room for the tests' weekly series
CLEAR_WEEKS = 6


def _is_working(day):
    return day.weekday() < 5 and day not in holidays.country_holidays("VN", years=day.year)


def next_monday(hour=8, minute=0):
    """A coming Monday at hour, local, followed by CLEAR_WEEKS weeks without a holiday on a weekday.

    Always in the future and in working time, whatever day the suite runs: a
    test's weekly series from it never meets Tết or Quốc khánh by accident.
    """
    today = datetime.now(VN).date()
    monday = today + timedelta(days=7 - today.weekday())
    while not all(_is_working(monday + timedelta(days=d)) for d in range(7 * CLEAR_WEEKS) if d % 7 < 5):
        monday += timedelta(days=7)
    return datetime(monday.year, monday.month, monday.day, hour, minute, tzinfo=VN)


def next_working_day(hour=8, minute=0):
    """The next working day (by Vietnam's public holidays) after today, at hour, local."""
    day = datetime.now(VN).date() + timedelta(days=1)
    while not _is_working(day):
        day += timedelta(days=1)
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=VN)


@pytest.fixture
def sites(make_endpoint, make_unit, district, province, make_bridge):
    """A provincial hall and four commune sites of one district, on one 10-port bridge."""
    bridge = make_bridge(ports=10)
    hall = make_endpoint("UBND tỉnh Lạng Sơn", unit=province, bridge_id=bridge.id, category="provincial")
    communes = [
        make_endpoint(f"UBND xã {name}", unit=make_unit(f"Xã {name}", "xã", parent=district),
                      bridge_id=bridge.id)
        for name in ("Hòa Bình", "Quang Lang", "Mai Sao", "Vân An")
    ]
    return {"hall": hall, "communes": communes, "bridge": bridge}


@pytest.fixture
def book(app):
    """Book a meeting through the service and commit; returns the meeting."""

    def do_book(endpoints, starts_at, minutes=60, chair=None, actor=None, skip_busy=False,
                allow_non_working_time=False, skip_non_working=False, skip_conflicting=False, **fields):
        # As a request that writes does: end what the test has read, and take SQLite's write lock up front
        # (BEGIN IMMEDIATE). A deferred transaction that read before a worker's commit (the embedded
        # scheduler of `make run`) is refused its first write at once, whatever the busy timeout.
        db.session.commit()
        with writing():
            choice = service.resolve_sites(endpoint_ids=[e.id for e in endpoints])
            choices = service.BookingChoices(allow_non_working_time=allow_non_working_time, skip_busy=skip_busy,
                                             skip_non_working=skip_non_working, skip_conflicting=skip_conflicting)
            data = {"title": fields.pop("title", "Giao ban"), "starts_at": starts_at.astimezone(timezone.utc),
                    "ends_at": (starts_at + timedelta(minutes=minutes)).astimezone(timezone.utc),
                    "chair_endpoint_id": (chair or endpoints[0]).id, **fields}
            meeting = service.book_meeting(data, choice, actor=actor, choices=choices)
            db.session.commit()
        return meeting

    return do_book


def move_into_the_past(meeting, delta):
    """Shift a booked meeting, its sittings and reservations by delta (negative: into the past), and commit.

    Nothing books in the past (the booking rules refuse it): a test that needs a
    meeting that already took place books it ahead, then lets time pass this way.
    """
    import sqlalchemy as sa

    from vmeeting.booking.models import Reservation

    occurrence_ids = [o.id for o in meeting.occurrences]
    for reservation in db.session.scalars(sa.select(Reservation).where(Reservation.occurrence_id.in_(occurrence_ids))):
        reservation.busy_from += delta
        reservation.busy_until += delta
    for occurrence in meeting.occurrences:
        occurrence.starts_at += delta
        occurrence.ends_at += delta
        occurrence.original_starts_at += delta
    meeting.starts_at += delta
    meeting.ends_at += delta
    db.session.commit()
    return meeting
