"""A higher-priority booking displacing a lower one (issue 27): the mails it sends, counted at a real SMTP server."""

from collections import Counter
from datetime import timedelta

import icalendar

from tests.booking.conftest import next_monday
from tests.invites.conftest import calendar_part
from vmeeting.core.extensions import db
from vmeeting.outbox.delivery import deliver_outbox


def _delivered(smtp):
    """Deliver what is due and return [(recipient, message)] received by this call."""
    before = len(smtp.messages)
    deliver_outbox()
    return smtp.messages[before:]


def _kind(message):
    """What a mail is: its iTIP method and, for a CANCEL, whether it names one sitting; "notice" without a calendar."""
    if message.get_content_type() == "text/plain" or not any(
            part.get_content_type() == "text/calendar" for part in message.walk()):
        return "notice"
    calendar = icalendar.Calendar.from_ical(calendar_part(message))
    (event,) = calendar.walk("VEVENT")
    return f"{calendar['METHOD']}:{event['SUMMARY']}" + (":sitting" if "RECURRENCE-ID" in event else "")


def _text(message):
    part = message.get_body(preferencelist=("plain",))
    return part.get_content()


def _body(chair, sites, start, **extra):
    return {"title": extra.pop("title"), "starts_at": start.isoformat(),
            "ends_at": (start + timedelta(hours=1)).isoformat(), "chair_endpoint_id": chair.id,
            "endpoint_ids": [s.id for s in sites], **extra}


def _clerk(make_user, district, api_headers):
    clerk = make_user("scheduler", email="vanthu.huyen@example.vn", full_name="Lê Thị Văn Thư")
    clerk.home_unit_id = district.id
    db.session.commit()
    return api_headers(user=clerk)


def test_a_central_meeting_taking_two_sites_sends_exactly_the_mails_of_the_change(
        app, smtp, invited, client, make_user, district, api_headers):
    c = invited["communes"]
    clerk = _clerk(make_user, district, api_headers)
    start = next_monday(8)
    low = client.post("/api/v1/meetings", headers=clerk,
                      json=_body(c[0], c[:3], start, title="Giao ban huyện")).json
    assert Counter(rcpt for rcpt, _m in _delivered(smtp)) == Counter(
        {"xa0@langson.gov.vn": 1, "ktv.chilang@example.vn": 1, "xa1@langson.gov.vn": 1, "xa2@langson.gov.vn": 1})

    admin = api_headers(user=make_user("admin", full_name="Quản trị tỉnh"))
    taken = client.post("/api/v1/meetings", headers=admin, json=_body(
        invited["hall"], [invited["hall"], c[1], c[2]], start, title="Hội nghị Chính phủ", priority="central",
        displace_lower_priority=True))
    assert taken.status_code == 201, taken.json

    received = _delivered(smtp)
    assert Counter((rcpt, _kind(m)) for rcpt, m in received) == Counter({
        # the new meeting's invites
        ("vanphong@langson.gov.vn", "REQUEST:Hội nghị Chính phủ"): 1,
        ("lanhdao@langson.gov.vn", "REQUEST:Hội nghị Chính phủ"): 1,
        ("ktv.chilang@example.vn", "REQUEST:Hội nghị Chính phủ"): 1,
        ("xa1@langson.gov.vn", "REQUEST:Hội nghị Chính phủ"): 1,
        ("xa2@langson.gov.vn", "REQUEST:Hội nghị Chính phủ"): 1,
        # the displaced meeting: a CANCEL to the lost sites' people, the update to those who stay
        ("xa1@langson.gov.vn", "CANCEL:Giao ban huyện"): 1,
        ("xa2@langson.gov.vn", "CANCEL:Giao ban huyện"): 1,
        ("xa0@langson.gov.vn", "REQUEST:Giao ban huyện"): 1,
        ("ktv.chilang@example.vn", "REQUEST:Giao ban huyện"): 1,
        # and its booker, at once
        ("vanthu.huyen@example.vn", "notice"): 1,
    })
    (notice,) = [m for rcpt, m in received if rcpt == "vanthu.huyen@example.vn"]
    text = _text(notice)
    assert "Giao ban huyện" in notice["Subject"]
    assert "«Hội nghị Chính phủ» (hạng Trung ương)" in text and "Quản trị tỉnh" in text
    assert c[1].name in text and c[2].name in text and "bỏ 2 điểm cầu" in text
    assert "Giờ trống gần nhất" in text and f"/meetings/{low['id']}" in text
    free = [line for line in text.splitlines() if line.startswith("- Thứ")]
    assert 1 <= len(free) <= 3
    for rcpt, message in received:
        if _kind(message) == "REQUEST:Giao ban huyện":
            assert int(icalendar.Calendar.from_ical(calendar_part(message)).walk("VEVENT")[0]["SEQUENCE"]) == 1

    assert _delivered(smtp) == []  # exactly once: a second run sends nothing
    history = client.get(f"/api/v1/meetings/{low['id']}", headers=clerk).json
    assert history["sequence"] == 1 and history["endpoint_count"] == 1


def test_taking_the_chair_cancels_the_meeting_for_everyone_and_tells_the_booker(
        app, smtp, invited, client, make_user, district, api_headers):
    c = invited["communes"]
    clerk = _clerk(make_user, district, api_headers)
    start = next_monday(9)
    client.post("/api/v1/meetings", headers=clerk, json=_body(c[0], c[:2], start, title="Họp xã"))
    _delivered(smtp)
    office = api_headers(user=make_user("scheduler"))
    taken = client.post("/api/v1/meetings", headers=office, json=_body(
        invited["hall"], [invited["hall"], c[0]], start + timedelta(minutes=30), title="Họp tỉnh", priority="province",
        displace_lower_priority=True))
    assert taken.status_code == 201
    received = [(rcpt, _kind(m)) for rcpt, m in _delivered(smtp) if "Họp tỉnh" not in m["Subject"]]
    assert Counter(received) == Counter({
        ("xa0@langson.gov.vn", "CANCEL:Họp xã"): 1, ("ktv.chilang@example.vn", "CANCEL:Họp xã"): 1,
        ("xa1@langson.gov.vn", "CANCEL:Họp xã"): 1, ("vanthu.huyen@example.vn", "notice"): 1})
    assert _delivered(smtp) == []


def test_a_series_sitting_losing_a_site_cancels_that_sitting_for_its_people_only(
        app, smtp, invited, client, make_user, district, api_headers):
    c = invited["communes"]
    clerk = _clerk(make_user, district, api_headers)
    start = next_monday(14)
    client.post("/api/v1/meetings", headers=clerk, json=_body(
        c[0], c[:3], start, title="Giao ban tuần", recurrence="FREQ=WEEKLY;COUNT=3"))
    _delivered(smtp)
    admin = api_headers(user=make_user("admin"))
    taken = client.post("/api/v1/meetings", headers=admin, json=_body(
        invited["hall"], [invited["hall"], c[2]], start + timedelta(weeks=1), title="Họp khẩn", priority="central",
        displace_lower_priority=True))
    assert taken.status_code == 201
    received = [(rcpt, _kind(m)) for rcpt, m in _delivered(smtp) if "Họp khẩn" not in m["Subject"]]
    assert Counter(received) == Counter({("xa2@langson.gov.vn", "CANCEL:Giao ban tuần:sitting"): 1,
                                         ("vanthu.huyen@example.vn", "notice"): 1})
    assert _delivered(smtp) == []
