"""Incidents through the API and the service: roles, validation, resolving; booking warnings; GET /network."""

import sqlalchemy as sa

from tests.booking.conftest import next_working_day
from tests.network.conftest import point
from vmeeting.core.database import utcnow
from vmeeting.core.extensions import db
from vmeeting.network import service
from vmeeting.network.models import Incident, NetworkState


def body(response):
    return response.get_json()


def open_one(client, headers, endpoint_id, **extra):
    return client.post("/api/v1/incidents", headers=headers,
                       json={"endpoint_id": endpoint_id, "title": "Mất tiếng", "severity": "major",
                             "note": "Micro không nhận", **extra})


def test_a_technician_opens_and_resolves_incidents_of_own_sites_only(net, client, api_headers):
    tech_a = api_headers(user=net.tech_a)
    response = open_one(client, tech_a, net.communes[0].id)
    assert response.status_code == 201
    incident = body(response)
    assert incident["status"] == "open" and incident["source"] == "manual"
    assert incident["opened_by"] == net.tech_a.id and incident["severity"] == "major"
    assert open_one(client, tech_a, net.communes[2].id).status_code == 403  # tech_b's site
    tech_b = api_headers(user=net.tech_b)
    assert client.post(f"/api/v1/incidents/{incident['id']}/resolve", headers=tech_b,
                       json={"resolution": "x"}).status_code == 403
    response = client.post(f"/api/v1/incidents/{incident['id']}/resolve", headers=tech_a,
                           json={"resolution": "Thay dây micro"})
    assert response.status_code == 200
    assert body(response)["status"] == "resolved" and body(response)["resolution"] == "Thay dây micro"
    again = client.post(f"/api/v1/incidents/{incident['id']}/resolve", headers=tech_a, json={"resolution": "y"})
    assert again.status_code == 409


def test_schedulers_and_admins_open_incidents_anywhere_viewers_never(net, client, api_headers):
    for role in ("scheduler", "admin"):
        assert open_one(client, api_headers(role), net.communes[3].id).status_code == 201
    assert open_one(client, api_headers("viewer"), net.communes[3].id).status_code == 403
    assert client.get("/api/v1/incidents", headers=api_headers("viewer")).status_code == 200
    assert client.get("/api/v1/incidents").status_code == 401


def test_bad_incidents_are_refused_naming_each_field_and_nothing_is_stored(net, client, api_headers):
    headers = api_headers("scheduler")
    response = client.post("/api/v1/incidents", headers=headers,
                           json={"endpoint_id": "x", "title": " ", "severity": "huge", "note": 5})
    assert response.status_code == 400
    assert set(body(response)["error"]["fields"]) == {"endpoint_id", "title", "severity", "note"}
    assert client.post("/api/v1/incidents", headers=headers, json={"endpoint_id": 2**40, "title": "a"}
                       ).status_code == 400
    assert client.post("/api/v1/incidents", headers=headers, data="nope").status_code == 400
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Incident)) == 0
    incident = body(open_one(client, headers, net.communes[0].id))
    response = client.post(f"/api/v1/incidents/{incident['id']}/resolve", headers=headers, json={"resolution": ""})
    assert response.status_code == 400 and "resolution" in body(response)["error"]["fields"]
    assert client.post("/api/v1/incidents/99999999999/resolve", headers=headers,
                       json={"resolution": "a"}).status_code == 404


def test_incidents_are_listed_with_filters(net, client, api_headers, make_unit, district):
    headers = api_headers("scheduler")
    first = body(open_one(client, headers, net.communes[0].id))
    body(open_one(client, headers, net.hall.id))
    client.post(f"/api/v1/incidents/{first['id']}/resolve", headers=headers, json={"resolution": "xong"})
    listed = body(client.get("/api/v1/incidents", headers=headers))
    assert listed["total"] == 2
    assert body(client.get("/api/v1/incidents?open=1", headers=headers))["total"] == 1
    only = body(client.get(f"/api/v1/incidents?endpoint_id={net.communes[0].id}", headers=headers))
    assert [i["id"] for i in only["items"]] == [first["id"]]
    in_district = body(client.get(f"/api/v1/incidents?unit_id={district.id}", headers=headers))
    assert [i["endpoint_id"] for i in in_district["items"]] == [net.communes[0].id]
    assert client.get("/api/v1/incidents?open=maybe", headers=headers).status_code == 400
    assert client.get("/api/v1/incidents?unit_id=999999", headers=headers).status_code == 400


def test_get_network_answers_every_active_site_with_the_summary(net, client, api_headers, live_peers, district):
    point(net.communes[0], live_peers[0].uri)
    service.sweep()
    headers = api_headers("viewer")
    data = body(client.get("/api/v1/network", headers=headers))
    assert data["summary"] == {"up": 1, "down": 0, "unknown": 4} and data["total"] == 5
    by_id = {i["endpoint_id"]: i for i in data["items"]}
    up = by_id[net.communes[0].id]
    assert up["state"] == "up" and up["rtt_ms"] is not None and up["since"] and up["last_checked_at"]
    assert by_id[net.hall.id] == {"endpoint_id": net.hall.id, "state": "unknown", "since": None,
                                  "last_checked_at": None, "last_seen_at": None, "rtt_ms": None, "error": None}
    narrowed = body(client.get(f"/api/v1/network?unit_id={district.id}", headers=headers))
    assert narrowed["summary"]["unknown"] == 3 and net.hall.id not in {i["endpoint_id"] for i in narrowed["items"]}
    assert client.get("/api/v1/network?unit_id=abc", headers=headers).status_code == 400
    assert client.get("/api/v1/network?per_page=501", headers=headers).status_code == 400
    assert client.get("/api/v1/network").status_code == 401


def _mark_down(endpoint):
    db.session.add(NetworkState(endpoint_id=endpoint.id, state="down", since=utcnow(), failures=2,
                                error="Không phản hồi sau 3 giây."))
    db.session.commit()


def test_booking_a_site_down_or_with_an_open_incident_warns_and_still_books(net, client, api_headers):
    _mark_down(net.communes[0])
    headers = api_headers("scheduler")
    body(open_one(client, headers, net.communes[1].id, title="Màn hình hỏng"))
    starts = next_working_day(8)
    response = client.post("/api/v1/meetings", headers=headers, json={
        "title": "Giao ban", "starts_at": starts.isoformat(), "ends_at": starts.replace(hour=9).isoformat(),
        "chair_endpoint_id": net.hall.id, "endpoint_ids": [net.hall.id, *[c.id for c in net.communes]]})
    assert response.status_code == 201, body(response)
    warnings = body(response)["warnings"]
    warnings = [w for w in warnings if w["endpoint_id"] is not None]  # the sites' (a late giấy mời aside)
    assert [(w["endpoint_id"], w["kind"]) for w in warnings] == [(net.communes[0].id, "down"),
                                                                 (net.communes[1].id, "incident")]
    assert "Màn hình hỏng" in warnings[1]["message"]
    meeting_id = body(response)["id"]
    moved = client.patch(f"/api/v1/meetings/{meeting_id}", headers=headers,
                         json={"endpoint_ids": [net.hall.id, net.communes[2].id]})
    assert moved.status_code == 200
    assert [w for w in body(moved)["warnings"] if w["endpoint_id"] is not None] == []


def _soon_meeting(net, book):
    from datetime import timedelta
    starts = (utcnow() + timedelta(hours=2)).replace(second=0, microsecond=0)
    return book([net.hall, *net.communes], starts, title="Giao ban trực tuyến", allow_non_working_time=True)


def test_a_technicians_issue_before_a_meeting_opens_one_incident(net, client, api_headers, book):
    meeting = _soon_meeting(net, book)
    headers = api_headers(user=net.tech_a)
    for note in ("Camera không lên hình", "Vẫn chưa lên hình"):
        response = client.put(f"/api/v1/meetings/{meeting.id}/readiness/{net.communes[0].id}", headers=headers,
                              json={"status": "issue", "note": note})
        assert response.status_code == 200
    incidents = db.session.scalars(sa.select(Incident)).all()
    assert [(i.endpoint_id, i.source, i.title, i.opened_by_id) for i in incidents] == [
        (net.communes[0].id, "readiness", "Camera không lên hình", net.tech_a.id)]  # once, while it is open
    client.put(f"/api/v1/meetings/{meeting.id}/readiness/{net.communes[1].id}", headers=headers,
               json={"status": "ready", "checks": {}})
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Incident)) == 1


def test_the_escalation_mail_and_the_board_list_sites_down_and_open_incidents(net, client, api_headers, book,
                                                                               login_as):
    from vmeeting.readiness import escalation
    from vmeeting.readiness import service as readiness

    meeting = _soon_meeting(net, book)
    _mark_down(net.communes[0])
    open_one(client, api_headers("scheduler"), net.communes[2].id, title="Loa rè")
    occurrence = meeting.occurrences[0]
    mails = escalation.escalation_mails(occurrence, readiness.sites(occurrence.id))
    assert mails
    text = mails[0].text
    assert f"{net.communes[0].name}: mất kết nối từ" in text and "Loa rè" in text
    login_as("viewer")
    board = client.get(f"/meetings/{meeting.id}/readiness").get_data(as_text=True)
    # the board lists them among its problems by kind (readiness.verdict): down, and the open incident
    down = board[board.index('data-problem-list="down"'):]
    assert f'data-endpoint-id="{net.communes[0].id}"' in down[:down.index("</ul>")]
    incident = board[board.index('data-problem-list="incident"'):]
    assert f'data-endpoint-id="{net.communes[2].id}"' in incident[:incident.index("</ul>")] and "Loa rè" in incident
