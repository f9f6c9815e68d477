"""Priority classes (issue 27): who may set which, and a higher class displacing lower ones only when asked."""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from tests.booking.conftest import next_monday
from vmeeting.audit.models import AuditEvent
from vmeeting.booking.models import Meeting, Reservation, meeting_endpoints
from vmeeting.core.extensions import db


def body(chair, sites, start, minutes=60, **extra):
    return {"title": extra.pop("title", "Hội nghị trực tuyến"), "starts_at": start.isoformat(),
            "ends_at": (start + timedelta(minutes=minutes)).isoformat(),
            "chair_endpoint_id": chair.id, "endpoint_ids": [s.id for s in sites], **extra}


@pytest.fixture
def people(make_user, district, api_headers):
    """An admin, a province-office scheduler (no home unit) and a district's clerk, with their API headers."""
    clerk = make_user("scheduler", email="vanthu.huyen@example.vn")
    clerk.home_unit_id = district.id
    db.session.commit()
    office = make_user("scheduler", email="vanphong.tinh@example.vn")
    admin = make_user("admin")
    return {"clerk": api_headers(user=clerk), "office": api_headers(user=office), "admin": api_headers(user=admin),
            "clerk_user": clerk}


def _reserved(meeting_id):
    return set(db.session.scalars(sa.select(Reservation.endpoint_id).join(Reservation.occurrence)
                                  .where(sa.literal_column("occurrences.meeting_id") == meeting_id)))


def test_a_meeting_is_local_unless_named_and_answers_its_class(client, people, sites):
    created = client.post("/api/v1/meetings", headers=people["clerk"],
                          json=body(sites["communes"][0], sites["communes"][:1], next_monday(8)))
    assert created.status_code == 201 and created.json["priority"] == "local"
    shown = client.get(f"/api/v1/meetings/{created.json['id']}", headers=people["clerk"])
    assert shown.json["priority"] == "local"
    listed = client.get("/api/v1/meetings", headers=people["clerk"],
                        query_string={"from": next_monday(7).isoformat(), "to": next_monday(12).isoformat()})
    assert [item["priority"] for item in listed.json["items"]] == ["local"]
    internal = client.post("/api/v1/meetings", headers=people["clerk"], json=body(
        sites["communes"][1], sites["communes"][1:2], next_monday(8), priority="internal"))
    assert internal.status_code == 201 and internal.json["priority"] == "internal"


@pytest.mark.parametrize("who, priority, status", [
    ("clerk", "province", 403), ("clerk", "central", 403), ("office", "central", 403),
    ("office", "province", 201), ("admin", "central", 201), ("clerk", "urgent", 400), ("clerk", 3, 400),
])
def test_nobody_sets_a_class_above_their_own(client, people, sites, who, priority, status):
    response = client.post("/api/v1/meetings", headers=people[who],
                           json=body(sites["hall"], [sites["hall"]], next_monday(8), priority=priority))
    assert response.status_code == status, response.json
    if status != 201:
        assert "priority" in response.json["error"]["fields"]
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Meeting)) == 0


def test_a_clerk_may_edit_a_provincial_meeting_but_not_lower_or_raise_its_class(client, people, sites):
    meeting = client.post("/api/v1/meetings", headers=people["office"], json=body(
        sites["hall"], [sites["hall"]], next_monday(8), priority="province")).json
    retitled = client.patch(f"/api/v1/meetings/{meeting['id']}", headers=people["clerk"], json={"title": "Mới"})
    assert retitled.status_code == 200 and retitled.json["priority"] == "province"
    lowered = client.patch(f"/api/v1/meetings/{meeting['id']}", headers=people["clerk"], json={"priority": "local"})
    assert lowered.status_code == 403 and "priority" in lowered.json["error"]["fields"]
    # the class alone is no news for the attendees: recorded, no new SEQUENCE
    raised = client.patch(f"/api/v1/meetings/{meeting['id']}", headers=people["admin"], json={"priority": "central"})
    assert raised.status_code == 200 and raised.json["priority"] == "central"
    assert raised.json["sequence"] == retitled.json["sequence"]


def test_without_the_flag_the_answer_stays_409_and_names_what_is_displaceable(client, people, sites):
    start = next_monday(8)
    low = client.post("/api/v1/meetings", headers=people["clerk"], json=body(
        sites["communes"][0], sites["communes"][:2], start, title="Giao ban huyện")).json
    response = client.post("/api/v1/meetings", headers=people["office"], json=body(
        sites["hall"], [sites["hall"], sites["communes"][1]], start, priority="province"))
    assert response.status_code == 409
    error = response.json["error"]
    assert error["displaceable"] is True
    assert [(c["meeting_id"], c["priority"], c["displaceable"]) for c in error["conflicts"]] == [
        (low["id"], "local", True)]
    assert _reserved(low["id"]) == {sites["communes"][0].id, sites["communes"][1].id}


@pytest.mark.parametrize("lower, higher", [("local", "local"), ("province", "local"), ("local", "internal")])
def test_an_equal_or_lower_class_cannot_displace(client, people, sites, lower, higher):
    start = next_monday(8)
    low = client.post("/api/v1/meetings", headers=people["admin"], json=body(
        sites["communes"][0], sites["communes"][:2], start, priority=lower)).json
    response = client.post("/api/v1/meetings", headers=people["admin"], json=body(
        sites["hall"], [sites["hall"], sites["communes"][1]], start, priority=higher, displace_lower_priority=True))
    assert response.status_code == 409
    assert response.json["error"]["displaceable"] is False
    assert [c["displaceable"] for c in response.json["error"]["conflicts"]] == [False]
    assert _reserved(low["id"]) == {sites["communes"][0].id, sites["communes"][1].id}
    assert db.session.get(Meeting, low["id"]).sequence == 0


def test_one_sitting_not_displaceable_keeps_every_other_in_place(client, people, sites):
    start = next_monday(8)
    local = client.post("/api/v1/meetings", headers=people["admin"], json=body(
        sites["communes"][0], sites["communes"][:1], start)).json
    central = client.post("/api/v1/meetings", headers=people["admin"], json=body(
        sites["communes"][1], sites["communes"][1:2], start, priority="central")).json
    response = client.post("/api/v1/meetings", headers=people["admin"], json=body(
        sites["hall"], [sites["hall"], *sites["communes"][:2]], start, priority="province",
        displace_lower_priority=True))
    assert response.status_code == 409 and response.json["error"]["displaceable"] is False
    flags = {c["meeting_id"]: c["displaceable"] for c in response.json["error"]["conflicts"]}
    assert flags == {local["id"]: True, central["id"]: False}
    assert _reserved(local["id"]) == {sites["communes"][0].id}
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Meeting)) == 2


def test_a_higher_class_takes_the_busy_sites_of_a_single_meeting(client, people, sites):
    start = next_monday(8)
    c = sites["communes"]
    low = client.post("/api/v1/meetings", headers=people["clerk"], json=body(
        c[0], c[:3], start, title="Giao ban huyện")).json
    response = client.post("/api/v1/meetings", headers=people["office"], json=body(
        sites["hall"], [sites["hall"], c[1], c[2]], start + timedelta(minutes=30), priority="province",
        displace_lower_priority=True, title="Hội nghị tỉnh"))
    assert response.status_code == 201, response.json
    assert set(response.json["endpoint_ids"]) == {sites["hall"].id, c[1].id, c[2].id}
    displaced = client.get(f"/api/v1/meetings/{low['id']}", headers=people["clerk"]).json
    assert displaced["status"] == "scheduled" and displaced["sequence"] == 1
    assert displaced["endpoint_ids"] == [c[0].id] and displaced["endpoint_count"] == 1
    assert _reserved(low["id"]) == {c[0].id}
    events = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "displace")
                                .order_by(AuditEvent.id)).all()
    assert [(e.entity_id, e.actor.email) for e in events] == [
        (str(low["id"]), "vanphong.tinh@example.vn"), (str(response.json["id"]), "vanphong.tinh@example.vn")]
    assert "Hội nghị tỉnh" in events[0].summary and "Tỉnh" in events[0].summary
    assert c[1].name in events[0].summary and "Giao ban huyện" in events[1].summary


def test_taking_the_chair_cancels_the_single_meeting(client, people, sites):
    start = next_monday(8)
    c = sites["communes"]
    low = client.post("/api/v1/meetings", headers=people["clerk"], json=body(c[0], c[:2], start)).json
    response = client.post("/api/v1/meetings", headers=people["admin"], json=body(
        sites["hall"], [sites["hall"], c[0]], start, priority="central", displace_lower_priority=True))
    assert response.status_code == 201
    displaced = db.session.get(Meeting, low["id"])
    assert displaced.status == "cancelled" and "Trung ương" in displaced.cancel_reason
    assert _reserved(low["id"]) == set()
    # its sites list stays as booked: the record of what was cancelled
    assert db.session.scalar(sa.select(sa.func.count()).select_from(meeting_endpoints)
                             .where(meeting_endpoints.c.meeting_id == low["id"])) == 2


def test_a_series_loses_the_sites_of_one_sitting_or_that_sitting(client, people, sites):
    start = next_monday(8)
    c = sites["communes"]
    series = client.post("/api/v1/meetings", headers=people["clerk"], json=body(
        c[0], c[:3], start, recurrence="FREQ=WEEKLY;COUNT=3", title="Giao ban tuần")).json
    first, second, third = series["occurrences"]
    taken = client.post("/api/v1/meetings", headers=people["office"], json=body(
        sites["hall"], [sites["hall"], c[2]], start, priority="province", displace_lower_priority=True))
    assert taken.status_code == 201
    chair_taken = client.post("/api/v1/meetings", headers=people["office"], json=body(
        sites["hall"], [sites["hall"], c[0]], start + timedelta(weeks=1), priority="province",
        displace_lower_priority=True))
    assert chair_taken.status_code == 201
    shown = client.get(f"/api/v1/meetings/{series['id']}", headers=people["clerk"]).json
    assert shown["status"] == "scheduled" and shown["sequence"] == 2
    assert [o["status"] for o in shown["occurrences"]] == ["scheduled", "cancelled", "scheduled"]
    assert sorted(shown["endpoint_ids"]) == sorted(e.id for e in c[:3])  # the series keeps its sites
    by_sitting = {}
    for occurrence_id, endpoint_id in db.session.execute(
            sa.select(Reservation.occurrence_id, Reservation.endpoint_id)
            .where(Reservation.occurrence_id.in_([first["id"], second["id"], third["id"]]))):
        by_sitting.setdefault(occurrence_id, set()).add(endpoint_id)
    assert by_sitting == {first["id"]: {c[0].id, c[1].id}, third["id"]: {e.id for e in c[:3]}}


def test_the_displaced_meetings_history_says_who_took_what_and_why(client, people, sites, login, make_user):
    start = next_monday(8)
    c = sites["communes"]
    low = client.post("/api/v1/meetings", headers=people["clerk"], json=body(
        c[0], c[:3], start, title="Giao ban huyện")).json
    high = client.post("/api/v1/meetings", headers=people["office"], json=body(
        sites["hall"], [sites["hall"], c[1]], start, priority="province", displace_lower_priority=True,
        title="Hội nghị tỉnh")).json
    login(people["clerk_user"])
    text = client.get(f"/meetings/{low['id']}").get_data(as_text=True)
    assert "Nhường điểm cầu cho cuộc họp «Hội nghị tỉnh» (hạng Tỉnh)" in text
    assert f"Nhường điểm cầu cho: «Hội nghị tỉnh» (#{high['id']}, Tỉnh)" in text
    assert "Điểm cầu: 3 → 2 (thêm 0, bớt 1)" in text and c[1].name in text
    taker = client.get(f"/meetings/{high['id']}").get_data(as_text=True)
    assert "Lấy điểm cầu của 1 cuộc họp hạng thấp hơn: «Giao ban huyện»" in taker


def test_a_patch_moving_a_higher_meeting_onto_a_lower_one_displaces_only_when_asked(client, people, sites):
    start = next_monday(8)
    c = sites["communes"]
    low = client.post("/api/v1/meetings", headers=people["clerk"], json=body(c[0], c[:2], start)).json
    high = client.post("/api/v1/meetings", headers=people["office"], json=body(
        sites["hall"], [sites["hall"], c[1]], start + timedelta(hours=3), priority="province")).json
    moved = {"starts_at": start.isoformat(), "ends_at": (start + timedelta(hours=1)).isoformat()}
    refused = client.patch(f"/api/v1/meetings/{high['id']}", headers=people["office"], json=moved)
    assert refused.status_code == 409 and refused.json["error"]["displaceable"] is True
    done = client.patch(f"/api/v1/meetings/{high['id']}", headers=people["office"],
                        json={**moved, "displace_lower_priority": True})
    assert done.status_code == 200, done.json
    assert _reserved(low["id"]) == {c[0].id}
    assert db.session.get(Meeting, low["id"]).sequence == 1


def test_a_refusal_after_the_displacement_leaves_nothing_half_written(client, people, sites, make_bridge):
    from vmeeting.outbox.models import OutboxMail

    start = next_monday(8)
    c = sites["communes"]
    low = client.post("/api/v1/meetings", headers=people["clerk"], json=body(c[0], c[:2], start)).json
    tiny = make_bridge(ports=1)  # two sites through one port: refused once the busy site is freed
    response = client.post("/api/v1/meetings", headers=people["office"], json=body(
        sites["hall"], [sites["hall"], c[1]], start, priority="province", displace_lower_priority=True,
        bridge_id=tiny.id))
    assert response.status_code == 409 and response.json["error"]["capacity"]["ports"] == 1
    db.session.expire_all()
    assert _reserved(low["id"]) == {c[0].id, c[1].id} and db.session.get(Meeting, low["id"]).sequence == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)
                             .where(AuditEvent.action == "displace")) == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMail)
                             .where(OutboxMail.meeting_id == low["id"])) == 0
