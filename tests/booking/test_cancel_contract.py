"""The API's cancels need {"confirm": true}, and the OpenAPI document says so: the body, its schema, the 400."""

import jsonschema
import pytest

from tests.booking.conftest import next_monday
from tests.booking.test_api import body
from vmeeting.apidoc.document import DOCUMENT

CANCELS = ["/meetings/{meeting_id}/cancel", "/meetings/{meeting_id}/occurrences/{occurrence_id}/cancel"]


def cancel_schema():
    return {**DOCUMENT["components"]["schemas"]["CancelInput"], "$defs": {}}


@pytest.mark.parametrize("path", CANCELS)
def test_the_document_gives_each_cancel_its_required_body_and_the_400(path):
    operation = DOCUMENT["paths"][path]["post"]
    request_body = operation["requestBody"]
    assert request_body["required"] is True
    assert request_body["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/CancelInput"}
    assert "400" in operation["responses"] and "confirm" in operation["description"]


@pytest.mark.parametrize("sent, allowed", [
    ({"confirm": True}, True), ({"confirm": True, "reason": "Trùng lịch"}, True),
    ({}, False), ({"confirm": False}, False), ({"confirm": 1}, False), ({"confirm": "true"}, False),
    ({"confirm": True, "reason": 5}, False),
])
def test_what_the_document_allows_is_what_the_api_takes(client, api_headers, sites, sent, allowed):
    assert (not list(jsonschema.Draft202012Validator(cancel_schema()).iter_errors(sent))) is allowed
    headers = api_headers("scheduler")
    meeting = client.post("/api/v1/meetings", headers=headers, json=body(
        sites, next_monday(8), endpoint_ids=[sites["hall"].id], recurrence="FREQ=WEEKLY;COUNT=2")).get_json()
    occurrence_id = meeting["occurrences"][0]["id"]
    for path in (f"/api/v1/meetings/{meeting['id']}/occurrences/{occurrence_id}/cancel",
                 f"/api/v1/meetings/{meeting['id']}/cancel"):
        response = client.post(path, headers=headers, json=sent)
        assert response.status_code == (200 if allowed else 400), response.get_json()
        if not allowed:
            assert set(response.get_json()["error"]["fields"]) <= {"confirm", "reason"}
