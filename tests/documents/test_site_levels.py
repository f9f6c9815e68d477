"""One counting of a meeting's sites by level (registry.areas.count_site_levels), on every page that says it.

The demo province as `make run` loads it holds the units of 2025: no district level, so its province-wide
meeting of 213 sites reads the same on the meeting page, in the giấy mời and in the invite's text: the
chair, 1 other provincial site, 211 commune sites (the 11 former district halls sit in communes now).
"""

import re

import sqlalchemy as sa

from tests.conftest import page_text
from vmeeting.booking.models import Meeting
from vmeeting.core.extensions import db
from vmeeting.documents.letter import letter_context
from vmeeting.invites.notice import places_text
from vmeeting.registry.areas import count_site_levels, site_level


def test_the_level_is_the_units_and_the_chair_is_counted_apart():
    assert site_level("district") == "district" and site_level("commune") == "commune"
    counts = count_site_levels([(True, "province", 1), (False, "province", 1), (False, "commune", 200),
                                (False, "commune", 11)])
    assert counts == {"chair": 1, "levels": {"province": 1, "commune": 211}, "total": 213}
    # a unit's row holding the chair among others counts it once, apart
    assert count_site_levels([(True, "district", 1), (False, "district", 3)])["levels"] == {"district": 3}
    assert count_site_levels([])["total"] == 0


def test_the_meeting_page_the_giay_moi_and_the_invite_count_the_same_levels(app, demo_province, client, login_as):
    meeting = max(db.session.scalars(sa.select(Meeting)), key=lambda m: m.endpoint_count)
    assert meeting.endpoint_count == 213
    login_as("scheduler")
    body = page_text(client.get(f"/meetings/{meeting.id}"))
    levels = re.search(r'data-testid="site-levels"><strong>(\d+)</strong>\s*<span[^>]*>\(([^)]*)\)', body)
    assert levels.group(1) == "213"
    assert levels.group(2) == "chủ tọa 1 · cấp tỉnh 1 · cấp xã 211"  # no district level since 07/2025

    context = letter_context(meeting)
    letter = "\n".join(str(value) for value in context.values())
    assert "Tại các điểm cầu cấp tỉnh (1 điểm cầu)" in letter and "Tại các điểm cầu cấp xã (211 điểm cầu)" in letter
    assert "cấp huyện" not in letter

    invite = places_text(meeting, meeting.endpoints)
    assert invite.startswith("Điểm cầu chủ tọa: ")
    assert "Cấp tỉnh (1 điểm cầu)" in invite and "Cấp xã (211 điểm cầu)" in invite and "Cấp huyện" not in invite
