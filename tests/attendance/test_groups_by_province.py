"""Past registry.areas.MOST_DISTRICT_GROUPS districts (a national meeting's ~700), the roll-call and the meeting
page's summary group a meeting's sites by province, so that their weight stays flat (`make bench`).

On the demo province as `make run` loads it, the limit lowered below its twelve groups: one province of 213.
"""

import re

import sqlalchemy as sa

from tests.conftest import page_text
from vmeeting.booking.models import Meeting
from vmeeting.core.extensions import db
from vmeeting.registry import areas


def _province_meeting():
    meeting = max(db.session.scalars(sa.select(Meeting)), key=lambda m: m.endpoint_count)
    assert meeting.endpoint_count == 213
    return meeting


def test_the_roll_call_and_the_summary_group_by_province_past_the_limit(app, demo_province, client, login_as,
                                                                        monkeypatch):
    meeting = _province_meeting()
    sitting = meeting.occurrences[0]
    login_as("scheduler")
    roll = f"/meetings/{meeting.id}/occurrences/{sitting.id}/attendance"
    assert len(re.findall(r'data-testid="district"', page_text(client.get(roll)))) == 12
    monkeypatch.setattr(areas, "MOST_DISTRICT_GROUPS", 5)
    body = page_text(client.get(roll))
    groups = re.findall(r'data-testid="district" data-district-id="(\d+)"', body)
    province = db.session.scalar(sa.select(areas.AdminUnit).where(areas.AdminUnit.level == "province"))
    assert groups == [str(province.id)] and "1 tỉnh" in body
    from vmeeting.booking import views

    views._bodies.clear()  # the page's body is kept per process for the meeting as it stands, whatever the limit
    summary = page_text(client.get(f"/meetings/{meeting.id}"))
    badges = re.search(r'data-testid="site-districts">(.*?)</div>', summary, re.S).group(1)
    assert re.findall(r'badge[^>]*>\s*([^<]+?) <strong>(\d+)</strong>', badges) == [(province.name, "213")]
    # "all present" of that group marks the whole sitting's sites once the roll is open (the same heads)
    from vmeeting.attendance import service

    assert [(head.id, len(ids)) for head, ids in service.district_groups(sitting)] == [(province.id, 213)]
    assert sum(n for counts in service.counts(sitting)[1].values() for n in counts.values()) == 213
