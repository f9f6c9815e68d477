"""Every refusal of booking, through the service and the API, leaves nothing written and says why in Vietnamese.

Issue 23, part 3: validate_meeting's limits (title, description, 12 hours, a chair
in maintenance, an inactive bridge), every refusal of a sitting move, editing a
cancelled meeting, and a series whose every sitting is skipped.
"""

from datetime import timedelta, timezone

import pytest
import sqlalchemy as sa

from tests.booking.conftest import next_monday
from tests.conftest import csrf_token, page_text
from vmeeting.booking import service
from vmeeting.booking.models import Meeting, Occurrence, Reservation
from vmeeting.core.database import writing
from vmeeting.core.errors import Conflict, ValidationError
from vmeeting.core.extensions import db


def stored():
    """(meetings, sittings, reservations) stored, read afresh."""
    db.session.rollback()
    return tuple(db.session.scalar(sa.select(sa.func.count()).select_from(model))
                 for model in (Meeting, Occurrence, Reservation))


def api_body(sites, start, minutes=60, **extra):
    return {"title": "Giao ban", "starts_at": start.isoformat(),
            "ends_at": (start + timedelta(minutes=minutes)).isoformat(), "chair_endpoint_id": sites["hall"].id,
            "endpoint_ids": [sites["hall"].id], **extra}


# -- validate_meeting's limits ----------------------------------------------------------------


def _limits(sites, make_bridge):
    """(name, fields changed, the field named, its reason) for each limit, with what it needs set up."""
    maintenance = sites["communes"][1]
    maintenance.status = "maintenance"
    stopped = make_bridge(ports=10)
    stopped.is_active = False
    db.session.commit()
    start = next_monday(7)
    return [
        ("title of 301 characters", {"title": "T" * 301}, "title", "Tên cuộc họp tối đa 300 ký tự."),
        ("no title", {"title": "   "}, "title", "Nhập tên cuộc họp."),
        ("description of 20,001 characters", {"description": "x" * 20001}, "description",
         "Nội dung tối đa 20000 ký tự."),
        ("12 hours and a minute", {"ends_at": start + timedelta(hours=12, minutes=1)}, "ends_at",
         "Một cuộc họp dài tối đa 12 giờ."),
        ("a chair in maintenance", {"chair_endpoint_id": maintenance.id}, "chair_endpoint_id",
         "Điểm cầu chủ tọa đang bảo trì hoặc ngừng sử dụng."),
        ("an inactive bridge", {"bridge_id": stopped.id}, "bridge_id", "Không có cầu MCU này (hoặc cầu đã ngừng)."),
    ], start


def test_validate_meetings_limits_through_the_service(app, sites, make_bridge):
    limits, start = _limits(sites, make_bridge)
    hall = sites["hall"]
    for name, changed, field, reason in limits:
        data = {"title": "Giao ban", "starts_at": start.astimezone(timezone.utc),
                "ends_at": (start + timedelta(hours=12)).astimezone(timezone.utc), "chair_endpoint_id": hall.id}
        data.update({k: v.astimezone(timezone.utc) if hasattr(v, "tzinfo") else v for k, v in changed.items()})
        with writing(), pytest.raises(ValidationError) as refused:
            service.book_meeting(data, service.resolve_sites(endpoint_ids=[hall.id]),
                                 choices=service.BookingChoices(allow_non_working_time=True))
        assert refused.value.fields == {field: reason}, name
        assert stored() == (0, 0, 0), name
    # the limits themselves are allowed: 300 characters, 20,000, exactly 12 hours
    with writing():
        meeting = service.book_meeting({
            "title": "T" * 300, "description": "x" * 20000, "starts_at": start.astimezone(timezone.utc),
            "ends_at": (start + timedelta(hours=12)).astimezone(timezone.utc), "chair_endpoint_id": hall.id},
            service.resolve_sites(endpoint_ids=[hall.id]), choices=service.BookingChoices(allow_non_working_time=True))
        db.session.commit()
    assert meeting.ends_at - meeting.starts_at == timedelta(hours=12)


def test_validate_meetings_limits_through_the_api(client, api_headers, sites, make_bridge):
    limits, start = _limits(sites, make_bridge)
    headers = api_headers("scheduler")
    for name, changed, field, reason in limits:
        data = api_body(sites, start, minutes=12 * 60, allow_non_working_time=True)
        data.update({k: v.isoformat() if hasattr(v, "isoformat") else v for k, v in changed.items()})
        response = client.post("/api/v1/meetings", headers=headers, json=data)
        assert response.status_code == 400, (name, response.get_json())
        assert response.get_json()["error"]["fields"] == {field: reason}, name
        assert stored() == (0, 0, 0), name
    limit = client.post("/api/v1/meetings", headers=headers, json=api_body(
        sites, start, minutes=12 * 60, allow_non_working_time=True, title="T" * 300, description="x" * 20000))
    assert limit.status_code == 201, limit.get_json()


# -- every refusal of a sitting move --------------------------------------------------------


@pytest.fixture
def series(client, api_headers, sites, make_bridge):
    """A weekly series of three at the hall through a one-port bridge, Mondays 08:00; two meetings that block:
    the hall on Monday at 14:00, another site on the same bridge at 10:00. Returns (headers, meeting JSON)."""
    headers = api_headers("scheduler")
    tiny = make_bridge(ports=1)
    monday = next_monday(8)
    made = client.post("/api/v1/meetings", headers=headers, json=api_body(
        sites, monday, recurrence="FREQ=WEEKLY;COUNT=3", bridge_id=tiny.id)).get_json()
    assert client.post("/api/v1/meetings", headers=headers, json=api_body(
        sites, monday.replace(hour=14))).status_code == 201
    assert client.post("/api/v1/meetings", headers=headers, json=api_body(
        sites, monday.replace(hour=10), chair_endpoint_id=sites["communes"][1].id,
        endpoint_ids=[sites["communes"][1].id], bridge_id=tiny.id)).status_code == 201
    return headers, made


def _at(start, minutes=60):
    """A move's body: from start, for minutes."""
    return {"starts_at": start.isoformat(), "ends_at": (start + timedelta(minutes=minutes)).isoformat()}


MONDAY = next_monday(8)
SATURDAY = MONDAY + timedelta(days=5)
REFUSALS = [
    # (name, body, status, error code, field, message start)
    ("no start", {"ends_at": MONDAY.isoformat()}, 400, "validation_error", "starts_at", "Nhập thời gian"),
    ("a time without an offset", {"starts_at": "2030-01-07T08:00:00", "ends_at": "2030-01-07T09:00:00"}, 400,
     "validation_error", "starts_at", "Thời gian phải theo ISO 8601"),
    ("an end before the start", _at(MONDAY.replace(hour=15), -30), 400, "validation_error", "ends_at",
     "Giờ kết thúc phải sau giờ bắt đầu."),
    ("longer than 12 hours", {**_at(MONDAY.replace(hour=6), 12 * 60 + 1), "allow_non_working_time": True}, 400,
     "validation_error", "ends_at", "Một cuộc họp dài tối đa 12 giờ."),
    ("a year the calendar does not know", {"starts_at": "1999-06-01T08:00:00+07:00",
                                           "ends_at": "1999-06-01T09:00:00+07:00"}, 400,
     "validation_error", "starts_at", "Thời gian phải trong các năm"),
    ("in the past", _at(MONDAY - timedelta(days=400)), 400, "validation_error", "starts_at", "Buổi họp lúc"),
    ("allow_non_working_time not a boolean", {**_at(MONDAY.replace(hour=15)), "allow_non_working_time": "yes"},
     400, "validation_error", "allow_non_working_time", "Phải là true hoặc false."),
    ("on a Saturday", _at(SATURDAY), 409, "non_working_time", None, "Buổi họp"),
    ("onto a busy site", _at(MONDAY.replace(hour=14)), 409, "conflict", None, "1 điểm cầu đã bận"),
    ("onto a full bridge", _at(MONDAY.replace(hour=10)), 409, "conflict", None, "Cầu MCU"),
    ("onto its own next sitting", _at(MONDAY + timedelta(days=7)), 409, "conflict", None, "1 điểm cầu đã bận"),
]


@pytest.mark.parametrize("name, data, status, code, field, message", REFUSALS, ids=[r[0] for r in REFUSALS])
def test_every_refusal_of_a_move_through_the_api(client, series, name, data, status, code, field, message):
    headers, made = series
    first = made["occurrences"][0]
    before = stored()
    response = client.patch(f"/api/v1/meetings/{made['id']}/occurrences/{first['id']}", headers=headers, json=data)
    assert response.status_code == status, response.get_json()
    error = response.get_json()["error"]
    assert error["code"] == code
    said = error["fields"][field] if field else error["message"]
    assert said.startswith(message), said
    assert stored() == before
    after = client.get(f"/api/v1/meetings/{made['id']}", headers=headers).get_json()
    assert after["sequence"] == made["sequence"] and after["occurrences"] == made["occurrences"]


def test_a_move_refused_as_stale_or_cancelled_or_elsewhere(client, series):
    headers, made = series
    meeting_id, (first, second, third) = made["id"], made["occurrences"]
    path = f"/api/v1/meetings/{meeting_id}/occurrences"
    later = _at(MONDAY.replace(hour=16))
    # an If-Match naming an older version: 412, nothing moved (CONTRACT.md: the move takes If-Match)
    assert client.patch(f"/api/v1/meetings/{meeting_id}", headers=headers, json={"title": "Đổi tên"}).status_code == 200
    stale = client.patch(f"{path}/{first['id']}", headers={**headers, "If-Match": f'"meeting-{meeting_id}-v0"'},
                         json=later)
    assert stale.status_code == 412 and stale.get_json()["error"]["code"] == "precondition_failed"
    assert stale.get_json()["error"]["changes"][0]["fields"] == ["title"]
    stale_cancel = client.post(f"{path}/{second['id']}/cancel", json={"confirm": True},
                               headers={**headers, "If-Match": f'"meeting-{meeting_id}-v0"'})
    assert stale_cancel.status_code == 412
    current = client.patch(f"{path}/{first['id']}", headers={**headers, "If-Match": f'"meeting-{meeting_id}-v1"'},
                           json=later)
    assert current.status_code == 200 and current.headers["ETag"] == f'"meeting-{meeting_id}-v2"'
    # a cancelled sitting, then a cancelled meeting
    assert client.post(f"{path}/{second['id']}/cancel", headers=headers, json={"confirm": True}).status_code == 200
    refused = client.patch(f"{path}/{second['id']}", headers=headers, json=later)
    assert refused.status_code == 409 and refused.get_json()["error"]["message"] == "Buổi họp đã bị hủy, không thể dời."
    assert client.post(f"/api/v1/meetings/{meeting_id}/cancel", headers=headers, json={"confirm": True}).status_code == 200
    refused = client.patch(f"{path}/{third['id']}", headers=headers, json=later)
    assert refused.status_code == 409 and refused.get_json()["error"]["message"] == "Buổi họp đã bị hủy, không thể dời."
    # a sitting of another meeting, or none
    other = client.post("/api/v1/meetings", headers=headers, json={
        "title": "Khác", "starts_at": (MONDAY + timedelta(days=1)).isoformat(),
        "ends_at": (MONDAY + timedelta(days=1, hours=1)).isoformat(), "chair_endpoint_id": made["chair_endpoint_id"],
        "endpoint_ids": [made["chair_endpoint_id"]]}).get_json()
    assert client.patch(f"{path}/{other['occurrences'][0]['id']}", headers=headers, json=later).status_code == 404
    assert client.patch(f"{path}/999999", headers=headers, json=later).status_code == 404


def test_every_refusal_of_a_move_through_the_service(app, sites, book):
    series = book([sites["hall"]], next_monday(8), recurrence="FREQ=WEEKLY;COUNT=2")
    book([sites["hall"]], next_monday(14))
    first = series.occurrences[0]
    cases = [
        ((MONDAY.replace(hour=15), MONDAY.replace(hour=14)), ValidationError, {"ends_at"}),
        ((MONDAY.replace(hour=6), MONDAY.replace(hour=18, minute=1)), ValidationError, {"ends_at"}),
        ((MONDAY.replace(hour=15).replace(tzinfo=None), MONDAY.replace(hour=16).replace(tzinfo=None)),
         ValidationError, {"starts_at", "ends_at"}),
        ((MONDAY - timedelta(days=400), MONDAY - timedelta(days=400, hours=-1)), ValidationError, {"starts_at"}),
        ((SATURDAY, SATURDAY + timedelta(hours=1)), Conflict, None),
        ((MONDAY.replace(hour=14), MONDAY.replace(hour=15)), Conflict, None),
    ]
    for (starts_at, ends_at), kind, fields in cases:
        with writing(), pytest.raises(kind) as refused:
            service.move_occurrence(first, starts_at, ends_at)
        if fields:
            assert set(refused.value.fields) == fields
        db.session.rollback()
        assert (first.starts_at, first.is_moved, series.sequence) == (next_monday(8), False, 0)


# -- a cancelled meeting, and a series with no sitting left ---------------------------------


def test_a_cancelled_meeting_cannot_be_edited(client, api_headers, login_as, sites, book):
    meeting = book([sites["hall"]], next_monday(8))
    headers = api_headers("scheduler")
    assert client.post(f"/api/v1/meetings/{meeting.id}/cancel", headers=headers, json={"confirm": True}).status_code == 200
    patched = client.patch(f"/api/v1/meetings/{meeting.id}", headers=headers, json={"title": "Hồi sinh"})
    assert patched.status_code == 409
    assert patched.get_json()["error"]["message"] == "Cuộc họp đã bị hủy, không thể sửa."
    db.session.rollback()
    meeting = db.session.get(Meeting, meeting.id)
    with writing(), pytest.raises(Conflict):
        service.update_meeting(meeting, {"title": "Hồi sinh"})
    db.session.rollback()
    assert (meeting.title, meeting.status, meeting.sequence) == ("Giao ban", "cancelled", 1)
    # the page: the edit form is not offered, and a post to it changes nothing
    login_as("scheduler")
    shown = client.get(f"/meetings/{meeting.id}/edit", follow_redirects=True)
    assert "Cuộc họp đã bị hủy, không thể sửa." in page_text(shown)
    posted = client.post(f"/meetings/{meeting.id}/edit", data={
        "csrf_token": csrf_token(client, "/meetings/new"), "title": "Hồi sinh", "action": "book"})
    assert posted.status_code == 302
    db.session.rollback()
    assert db.session.get(Meeting, meeting.id).title == "Giao ban"


def test_a_series_whose_every_sitting_is_skipped_is_refused(client, api_headers, sites, book):
    headers = api_headers("scheduler")
    saturday = next_monday(8) + timedelta(days=5)
    weekends = api_body(sites, saturday, recurrence="FREQ=WEEKLY;BYDAY=SA,SU;COUNT=4", skip_non_working=True)
    reason = "Mọi buổi của chuỗi họp đều bị bỏ qua; hãy chọn ngày giờ khác."
    response = client.post("/api/v1/meetings", headers=headers, json=weekends)
    assert response.status_code == 400 and response.get_json()["error"]["fields"] == {"recurrence": reason}
    assert stored() == (0, 0, 0)
    # every sitting busy, skipped one by one: the same
    monday = next_monday(8)
    book([sites["hall"]], monday, recurrence="FREQ=WEEKLY;COUNT=3")
    before = stored()
    busy = client.post("/api/v1/meetings", headers=headers, json=api_body(
        sites, monday, recurrence="FREQ=WEEKLY;COUNT=3", skip_conflicting=True))
    assert busy.status_code == 400 and busy.get_json()["error"]["fields"] == {"recurrence": reason}
    assert stored() == before
    # through the service
    with writing(), pytest.raises(ValidationError) as refused:
        service.book_meeting({"title": "Cuối tuần", "starts_at": saturday.astimezone(timezone.utc),
                              "ends_at": (saturday + timedelta(hours=1)).astimezone(timezone.utc),
                              "chair_endpoint_id": sites["hall"].id, "recurrence": "FREQ=WEEKLY;BYDAY=SA,SU;COUNT=4"},
                             service.resolve_sites(endpoint_ids=[sites["hall"].id]),
                             choices=service.BookingChoices(skip_non_working=True))
    assert refused.value.fields == {"recurrence": reason}
    assert stored() == before
