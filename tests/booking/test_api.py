"""The meetings and slots API, and the double-booking guarantee under concurrent requests."""

import json
import threading
import urllib.error
import urllib.request
from datetime import timedelta

import pytest
import sqlalchemy as sa

from tests.booking.conftest import next_monday
from vmeeting.booking.models import Meeting, Reservation
from vmeeting.core.extensions import db


def body(sites, start, minutes=60, **extra):
    return {"title": "Hội nghị trực tuyến", "starts_at": start.isoformat(),
            "ends_at": (start + timedelta(minutes=minutes)).isoformat(),
            "chair_endpoint_id": sites["hall"].id, **extra}


def test_book_then_conflict_with_details(client, api_headers, sites):
    headers = api_headers("scheduler")
    start = next_monday(8)
    ids = [sites["hall"].id, sites["communes"][0].id]
    created = client.post("/api/v1/meetings", json=body(sites, start, endpoint_ids=ids), headers=headers)
    assert created.status_code == 201, created.get_json()
    meeting = created.get_json()
    assert meeting["sequence"] == 0 and sorted(meeting["endpoint_ids"]) == sorted(ids)
    assert meeting["starts_at"].endswith("+00:00")

    clash = client.post("/api/v1/meetings", json=body(sites, start + timedelta(minutes=30),
                                                      endpoint_ids=[sites["communes"][0].id]), headers=headers)
    assert clash.status_code == 409
    error = clash.get_json()["error"]
    assert error["code"] == "conflict"
    assert {(c["endpoint_id"], c["meeting_id"]) for c in error["conflicts"]} == {
        (sites["hall"].id, meeting["id"]), (sites["communes"][0].id, meeting["id"])}
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Meeting)) == 1


def test_capacity_answer(client, api_headers, sites, make_bridge):
    tiny = make_bridge(ports=1)
    response = client.post("/api/v1/meetings", headers=api_headers("scheduler"),
                           json=body(sites, next_monday(8), unit_ids=[sites["communes"][0].unit.parent_id],
                                     bridge_id=tiny.id))
    assert response.status_code == 409
    assert response.get_json()["error"]["capacity"]["ports"] == 1


@pytest.mark.parametrize("field, value", [
    ("starts_at", "2026-12-07T08:00:00"),  # no offset
    ("starts_at", "tomorrow"),
    ("ends_at", "2020-01-01T00:00:00+07:00"),  # before the start
    ("chair_endpoint_id", 999999),
    ("endpoint_ids", [999999]),
    ("recurrence", "FREQ=WEEKLY"),
    ("attendees", ["not-an-address"]),
    ("all_endpoints", "yes"),
    ("chair_endpoint_id", "5"),
    ("bridge_id", "1"),
    ("endpoint_ids", "5"),
    ("endpoint_ids", ["5"]),
    ("unit_ids", [True]),
    ("group_ids", {"1": 1}),
])
def test_bad_fields_get_400_naming_them(client, api_headers, sites, field, value):
    data = body(sites, next_monday(8), endpoint_ids=[sites["hall"].id])
    data[field] = value
    response = client.post("/api/v1/meetings", json=data, headers=api_headers("scheduler"))
    assert response.status_code == 400, response.get_json()
    assert field in response.get_json()["error"]["fields"]


@pytest.mark.parametrize("role, status", [("viewer", 403), ("technician", 403), ("scheduler", 201), ("admin", 201)])
def test_only_office_staff_book(client, api_headers, sites, role, status):
    response = client.post("/api/v1/meetings", json=body(sites, next_monday(8), endpoint_ids=[sites["hall"].id]),
                           headers=api_headers(role))
    assert response.status_code == status


def test_list_window_patch_and_cancel(client, api_headers, sites):
    headers = api_headers("scheduler")
    start = next_monday(8)
    meeting = client.post("/api/v1/meetings", headers=headers, json=body(
        sites, start, endpoint_ids=[sites["hall"].id], recurrence="FREQ=WEEKLY;COUNT=3")).get_json()
    listed = client.get("/api/v1/meetings", headers=api_headers("viewer"), query_string={
        "from": start.isoformat(), "to": (start + timedelta(days=15)).isoformat()}).get_json()
    assert listed["total"] == 3 and {i["id"] for i in listed["items"]} == {meeting["id"]}
    by_endpoint = client.get("/api/v1/meetings", headers=headers, query_string={
        "from": start.isoformat(), "to": (start + timedelta(days=30)).isoformat(),
        "endpoint_id": sites["communes"][0].id}).get_json()
    assert by_endpoint["total"] == 0

    patched = client.patch(f"/api/v1/meetings/{meeting['id']}", headers=headers,
                           json={"title": "Giao ban tuần (đổi)", "endpoint_ids": [sites["hall"].id, sites["communes"][1].id]})
    assert patched.status_code == 200
    assert patched.get_json()["sequence"] == 1 and len(patched.get_json()["endpoint_ids"]) == 2

    cancelled = client.post(f"/api/v1/meetings/{meeting['id']}/cancel", headers=headers, json={"confirm": True})
    assert cancelled.get_json()["status"] == "cancelled"
    assert client.get(f"/api/v1/meetings/{meeting['id']}", headers=headers).get_json()["status"] == "cancelled"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Reservation)) == 0


def test_a_patch_keeps_the_meetings_own_sites_in_maintenance_but_adds_none(client, api_headers, sites):
    headers = api_headers("scheduler")
    hall, kept, other = sites["hall"], sites["communes"][0], sites["communes"][1]
    meeting = client.post("/api/v1/meetings", headers=headers, json=body(
        sites, next_monday(8), endpoint_ids=[hall.id, kept.id])).get_json()
    kept.status = other.status = "maintenance"
    db.session.commit()
    patched = client.patch(f"/api/v1/meetings/{meeting['id']}", headers=headers,
                           json={"endpoint_ids": [hall.id, kept.id], "title": "Giao ban (đổi tên)"})
    assert patched.status_code == 200, patched.get_json()
    assert sorted(patched.get_json()["endpoint_ids"]) == sorted([hall.id, kept.id])
    refused = client.patch(f"/api/v1/meetings/{meeting['id']}", headers=headers,
                           json={"endpoint_ids": [hall.id, kept.id, other.id]})
    assert refused.status_code == 400 and "endpoint_ids" in refused.get_json()["error"]["fields"]


def test_move_and_cancel_one_occurrence(client, api_headers, sites):
    headers = api_headers("scheduler")
    start = next_monday(8)
    meeting = client.post("/api/v1/meetings", headers=headers, json=body(
        sites, start, endpoint_ids=[sites["hall"].id], recurrence="FREQ=WEEKLY;COUNT=3")).get_json()
    first, second = meeting["occurrences"][:2]
    moved = client.patch(f"/api/v1/meetings/{meeting['id']}/occurrences/{first['id']}", headers=headers, json={
        "starts_at": (start + timedelta(hours=6)).isoformat(), "ends_at": (start + timedelta(hours=7)).isoformat()})
    assert moved.status_code == 200
    assert moved.get_json()["occurrences"][0]["is_moved"] is True
    cancelled = client.post(f"/api/v1/meetings/{meeting['id']}/occurrences/{second['id']}/cancel", headers=headers,
                            json={"confirm": True})
    assert [o["status"] for o in cancelled.get_json()["occurrences"]] == ["scheduled", "cancelled", "scheduled"]
    assert client.post(f"/api/v1/meetings/{meeting['id']}/occurrences/999999/cancel", headers=headers,
                       json={"confirm": True}).status_code == 404


def test_slots(client, api_headers, sites):
    headers = api_headers("scheduler")
    monday = next_monday(8)
    client.post("/api/v1/meetings", headers=headers, json=body(sites, monday, minutes=120, endpoint_ids=[sites["hall"].id]))
    response = client.get("/api/v1/slots", headers=headers, query_string={
        "endpoint_ids": f"{sites['hall'].id},{sites['communes'][0].id}", "duration_minutes": 60,
        "from": monday.replace(hour=0).isoformat(), "to": (monday + timedelta(days=3)).isoformat(), "limit": 2})
    assert response.status_code == 200, response.get_json()
    starts = [item["starts_at"] for item in response.get_json()["items"]]
    assert starts == [monday.replace(hour=10, minute=30).isoformat().replace("+07:00", "+00:00").replace("T10:30", "T03:30"),
                      monday.replace(hour=14, minute=0).isoformat().replace("+07:00", "+00:00").replace("T14:00", "T07:00")]
    bad = client.get("/api/v1/slots", headers=headers, query_string={"endpoint_ids": "x", "from": "2026-12-01T08:00"})
    assert bad.status_code == 400


def test_twenty_simultaneous_bookings_one_wins(live_server, api_headers, sites):
    """Through the real HTTP stack, many threads book the same site at once."""
    target_id = sites["communes"][0].id
    start = next_monday(9)
    tokens = [api_headers("scheduler")["Authorization"] for _ in range(4)]
    barrier = threading.Barrier(20)
    statuses = []

    def attempt(i):
        payload = json.dumps({"title": f"Họp {i}", "starts_at": start.isoformat(),
                              "ends_at": (start + timedelta(hours=1)).isoformat(),
                              "chair_endpoint_id": target_id, "endpoint_ids": [target_id]}).encode()
        request = urllib.request.Request(f"{live_server.url}/api/v1/meetings", data=payload, method="POST",
                                         headers={"Authorization": tokens[i % 4], "Content-Type": "application/json"})
        barrier.wait()
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                statuses.append(response.status)
        except urllib.error.HTTPError as error:
            statuses.append(error.code)

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [201] + [409] * 19
    db.session.expire_all()
    rows = db.session.execute(sa.select(Reservation.busy_from, Reservation.busy_until)
                              .where(Reservation.endpoint_id == target_id)).all()
    assert len(rows) == 1


@pytest.mark.parametrize("raw", [2**31, 2**63, 10**30])
def test_an_id_too_large_for_the_database_is_named_as_sent(client, api_headers, sites, raw):
    data = body(sites, next_monday(8), endpoint_ids=[sites["hall"].id, raw])
    response = client.post("/api/v1/meetings", json=data, headers=api_headers("scheduler"))
    assert response.status_code == 400
    assert response.get_json()["error"]["fields"]["endpoint_ids"] == f"Không có điểm cầu mã số {raw}."


@pytest.mark.parametrize("written", ["0001-01-01T08:00:00+07:00", "9999-12-31T20:00:00-07:00", "1999-06-01T08:00:00Z"])
def test_a_real_date_outside_the_years_gets_the_range_reason(client, api_headers, sites, written):
    data = body(sites, next_monday(8), endpoint_ids=[sites["hall"].id])
    data["starts_at"] = written
    response = client.post("/api/v1/meetings", json=data, headers=api_headers("scheduler"))
    assert response.status_code == 400
    assert response.get_json()["error"]["fields"]["starts_at"].startswith("Thời gian phải trong các năm")
