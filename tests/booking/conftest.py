"""Booking fixtures: a small district with bridges and a meeting factory."""

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from vmeeting.booking import service
from vmeeting.extensions import db

VN = ZoneInfo("Asia/Ho_Chi_Minh")


def local(year, month, day, hour, minute=0):
    """An aware instant from Lạng Sơn wall-clock time."""
    return datetime(year, month, day, hour, minute, tzinfo=VN)


def next_monday(hour=8):
    """Next week's Monday at hour, local: always in the future, always a working day."""
    today = datetime.now(VN).date()
    monday = today + timedelta(days=7 - today.weekday())
    return datetime(monday.year, monday.month, monday.day, hour, tzinfo=VN)


@pytest.fixture
def district(make_unit, province):
    return make_unit("Huyện Chi Lăng", "huyện", parent=province, code="185")


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

    def do_book(endpoints, starts_at, minutes=60, chair=None, actor=None, skip_busy=False, **fields):
        choice = service.resolve_sites(endpoint_ids=[e.id for e in endpoints])
        data = {"title": fields.pop("title", "Giao ban"), "starts_at": starts_at.astimezone(timezone.utc),
                "ends_at": (starts_at + timedelta(minutes=minutes)).astimezone(timezone.utc),
                "chair_endpoint_id": (chair or endpoints[0]).id, **fields}
        meeting = service.book_meeting(data, choice, actor=actor, skip_busy=skip_busy)
        db.session.commit()
        return meeting

    return do_book
