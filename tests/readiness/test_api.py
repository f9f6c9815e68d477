"""The readiness API (CONTRACT.md): the board's JSON, a confirmation, a probe round now."""

import pytest

from tests.readiness.conftest import ALL_CHECKS
from vmeeting.core.extensions import db
from vmeeting.registry import service as registry


def url(sitting, endpoint=None):
    base = f"/api/v1/meetings/{sitting.meeting.id}"
    return f"{base}/readiness/{endpoint.id}" if endpoint else f"{base}/readiness"


def test_board_json_has_the_contract_shape(client, api_headers, sitting):
    response = client.get(url(sitting), headers=api_headers("viewer"))
    assert response.status_code == 200
    body = response.get_json()
    # each site counted once by its one verdict (issue 24): the counts add up to the sites
    counts = {"down": 0, "unreachable": 0, "issue": 0, "incident": 0, "pending": 5, "ready": 0}
    assert body["summary"] == {**counts, "total": 5, "verdicts": counts}
    assert body["occurrence"]["id"] == sitting.occurrence.id
    item = body["items"][0]
    assert {"endpoint_id", "status", "checks", "note", "probe", "confirmed_by", "confirmed_at"} <= set(item)
    assert set(item["probe"]) >= {"reachable", "rtt_ms", "checked_at", "error"}
    other = client.get(url(sitting) + "?occurrence_id=999999", headers=api_headers("viewer"))
    assert other.status_code == 404 and other.get_json()["error"]["code"] == "not_found"
    assert client.get(url(sitting)).status_code == 401


def test_technician_confirms_own_site_only(client, api_headers, sitting):
    headers = api_headers(user=sitting.tech_a)
    own = client.put(url(sitting, sitting.communes[0]), headers=headers,
                     json={"status": "ready", "checks": ALL_CHECKS})
    assert own.status_code == 200, own.get_json()
    assert own.get_json()["status"] == "ready" and own.get_json()["confirmed_by"] == sitting.tech_a.id
    other = client.put(url(sitting, sitting.communes[2]), headers=headers, json={"status": "issue", "note": "x"})
    assert other.status_code == 403 and other.get_json()["error"]["code"] == "forbidden"
    summary = client.get(url(sitting), headers=headers).get_json()["summary"]
    assert summary["ready"] == 1 and summary["issue"] == 0


@pytest.mark.parametrize("role, status", [("viewer", 403), ("scheduler", 200), ("admin", 200)])
def test_who_may_confirm_any_site(client, api_headers, sitting, role, status):
    response = client.put(url(sitting, sitting.communes[2]), headers=api_headers(role),
                          json={"status": "issue", "note": "Không lên hình"})
    assert response.status_code == status


def test_bad_confirmations(client, api_headers, sitting, make_endpoint):
    headers = api_headers("scheduler")
    bad = client.put(url(sitting, sitting.communes[0]), headers=headers, json={"status": "ready", "checks": {}})
    assert bad.status_code == 400 and "checks" in bad.get_json()["error"]["fields"]
    assert client.put(url(sitting, sitting.communes[0]), headers=headers, data="x").status_code == 400
    outsider = make_endpoint("Không dự họp")
    assert client.put(url(sitting, outsider), headers=headers, json={"status": "issue", "note": "x"}).status_code == 404


def test_probe_now(client, api_headers, sitting, app, sip_peers):
    app.config["PROBE_TIMEOUT_SECONDS"] = 1.0
    registry.update_endpoint(sitting.communes[0], {"sip_uri": sip_peers[0].uri})
    db.session.commit()
    path = f"/api/v1/meetings/{sitting.meeting.id}/probe"
    assert client.post(path, headers=api_headers("viewer")).status_code == 403
    response = client.post(path, headers=api_headers(user=sitting.tech_a))
    assert response.status_code == 200
    body = response.get_json()
    by_id = {i["endpoint_id"]: i for i in body["items"]}
    assert by_id[sitting.communes[0].id]["probe"]["reachable"] is True
    assert body["summary"]["unreachable"] == 4  # the others point at closed ports


def test_probe_refused_for_a_cancelled_meeting(client, api_headers, sitting):
    from vmeeting.booking import service as booking

    booking.cancel_meeting(sitting.meeting)
    db.session.commit()
    response = client.post(f"/api/v1/meetings/{sitting.meeting.id}/probe", headers=api_headers("scheduler"))
    assert response.status_code == 409 and response.get_json()["error"]["code"] == "conflict"


def test_an_occurrence_id_beyond_any_row_is_400_on_that_field(client, api_headers, sitting):
    for value in (10**30, 2**31):
        response = client.put(url(sitting, sitting.communes[0]), headers=api_headers("scheduler"),
                              json={"occurrence_id": value, "status": "issue", "note": "Mất tiếng"})
        assert response.status_code == 400, response.get_json()
        assert "occurrence_id" in response.get_json()["error"]["fields"]
    too_big = client.get(url(sitting) + f"?occurrence_id={10**30}", headers=api_headers("viewer"))
    assert too_big.status_code == 400 and "occurrence_id" in too_big.get_json()["error"]["fields"]


@pytest.mark.parametrize("checks", [[], "", 0, False, "camera"])
def test_checks_of_the_wrong_type_are_400_on_checks(client, api_headers, sitting, checks):
    response = client.put(url(sitting, sitting.communes[0]), headers=api_headers("scheduler"),
                          json={"status": "issue", "note": "Mất tiếng", "checks": checks})
    assert response.status_code == 400
    assert set(response.get_json()["error"]["fields"]) == {"checks"}


def test_probe_now_with_addresses_older_rows_may_hold(client, api_headers, sitting, app, sip_peers):
    """Addresses the registry now refuses, written before it did: each is that site's error, not a 500."""
    app.config["PROBE_TIMEOUT_SECONDS"] = 1.0
    registry.update_endpoint(sitting.communes[0], {"sip_uri": sip_peers[0].uri})
    sitting.communes[1].sip_uri = "sip:phònghọp@127.0.0.1"  # straight onto the row, as an old import left it
    sitting.communes[2].sip_uri = "sip:room@ubnd..langson.gov.vn"
    sitting.communes[3].sip_uri = "sip:room@ubnd.langson.invalid"
    db.session.commit()
    response = client.post(f"/api/v1/meetings/{sitting.meeting.id}/probe", headers=api_headers("scheduler"))
    assert response.status_code == 200, response.get_data(as_text=True)
    by_id = {i["endpoint_id"]: i["probe"] for i in response.get_json()["items"]}
    assert by_id[sitting.communes[0].id]["reachable"] is True
    assert by_id[sitting.communes[1].id]["error"].startswith("Địa chỉ SIP chỉ được gồm chữ không dấu")
    assert "ubnd..langson.gov.vn" in by_id[sitting.communes[2].id]["error"]
    assert by_id[sitting.communes[3].id]["error"].startswith("Không phân giải được tên miền «ubnd.langson.invalid»")
