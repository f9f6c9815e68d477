"""Roll-call fixtures: a sitting under way across the booking fixtures' sites, the chair's technician."""

from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import pytest

from tests.booking.conftest import book, sites  # noqa: F401 (fixtures used here)
from vmeeting.core.extensions import db
from vmeeting.registry import service as registry


@pytest.fixture
def roll(sites, book, make_user):
    """A meeting starting in 20 minutes (its set-up window has begun): the hall chairs, four communes attend."""
    organizer = make_user("scheduler", full_name="Văn phòng UBND tỉnh")
    chair_tech = make_user("technician", full_name="Kỹ thuật viên tỉnh")
    other_tech = make_user("technician", full_name="Kỹ thuật viên xã")
    registry.update_endpoint(sites["hall"], {"technician_id": chair_tech.id})
    registry.update_endpoint(sites["communes"][0], {"technician_id": other_tech.id})
    db.session.commit()
    starts = (datetime.now(timezone.utc) + timedelta(minutes=20)).replace(second=0, microsecond=0)
    meeting = book([sites["hall"], *sites["communes"]], starts, actor=organizer, title="Giao ban trực tuyến",
                   allow_non_working_time=True)
    return SimpleNamespace(meeting=meeting, occurrence=meeting.occurrences[0], organizer=organizer,
                           chair_tech=chair_tech, other_tech=other_tech, hall=sites["hall"],
                           communes=sites["communes"])
