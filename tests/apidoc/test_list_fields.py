"""Every list field of every JSON write refuses a non-list: 400 naming the field, nothing stored.

The fields are read from the OpenAPI document itself (each write's body
schema, its properties declared arrays), so a list field added to a write is
held to this without a new test. Issue 24: `"attendees": "a@b.vn"` booked, and
a string `contact_emails` in an endpoint PATCH was stored.
"""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from tests.booking.conftest import next_monday
from vmeeting.apidoc.document import API_PREFIX, DOCUMENT
from vmeeting.booking.models import Meeting
from vmeeting.core.extensions import db
from vmeeting.core.jsonapi import NOT_A_LIST, list_fields
from vmeeting.registry.models import Endpoint

SCHEMAS = DOCUMENT["components"]["schemas"]


def _resolve(schema):
    while "$ref" in schema:
        schema = SCHEMAS[schema["$ref"].rsplit("/", 1)[1]]
    return schema


def list_field_cases():
    """(method, path, field) for every array property of every JSON write's body in the document."""
    cases = []
    for path, item in DOCUMENT["paths"].items():
        for method, operation in item.items():
            if method not in ("post", "put", "patch"):
                continue  # "parameters" is a list
            schema = operation.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
            if schema:
                cases += [(method, path, name) for name in list_fields(_resolve(schema))]
    return cases


CASES = list_field_cases()


def test_the_document_has_the_list_fields_of_the_issue():
    assert {("post", "/meetings", "attendees"), ("patch", "/meetings/{meeting_id}", "attendees"),
            ("patch", "/endpoints/{endpoint_id}", "contact_emails"),
            ("post", "/endpoints", "contact_emails")} <= set(CASES)


@pytest.fixture
def world(client, api_headers, make_endpoint, province):
    """An endpoint and a meeting on it, for the paths' ids, and an admin's headers (every write is theirs)."""
    headers = api_headers("admin")
    endpoint = make_endpoint("UBND tỉnh Lạng Sơn", unit=province, category="provincial",
                             contact_emails=["vp@example.vn"])
    start = next_monday(8)
    meeting = client.post(f"{API_PREFIX}/meetings", headers=headers, json={
        "title": "Giao ban", "starts_at": start.isoformat(), "ends_at": (start + timedelta(hours=1)).isoformat(),
        "chair_endpoint_id": endpoint.id, "endpoint_ids": [endpoint.id], "attendees": ["a@example.vn"]})
    assert meeting.status_code == 201, meeting.get_json()
    meeting = meeting.get_json()
    ids = {"endpoint_id": endpoint.id, "meeting_id": meeting["id"], "occurrence_id": meeting["occurrences"][0]["id"]}
    return {"headers": headers, "ids": ids, "endpoint": endpoint, "meeting_id": meeting["id"]}


def snapshot(world):
    db.session.expire_all()
    endpoint = db.session.get(Endpoint, world["endpoint"].id)
    meeting = db.session.get(Meeting, world["meeting_id"])
    return (db.session.scalar(sa.select(sa.func.count()).select_from(Meeting)), endpoint.contact_emails,
            meeting.attendees, meeting.sequence)


@pytest.mark.parametrize("method, path, field", CASES)
@pytest.mark.parametrize("value", ["a@b.vn", {"0": "a@b.vn"}, None])
def test_a_list_field_sent_as_anything_else_is_refused_naming_it(client, world, method, path, field, value):
    before = snapshot(world)
    response = client.open(API_PREFIX + path.format(**world["ids"]), method=method.upper(),
                           headers=world["headers"], json={field: value})
    assert response.status_code == 400, (response.status_code, response.get_json())
    fields = response.get_json()["error"]["fields"]
    assert field in fields, fields
    if field in ("attendees", "contact_emails"):
        assert fields[field] == NOT_A_LIST
    assert snapshot(world) == before


def test_lists_still_book_and_patch(client, world):
    """The check is of the JSON type only: a list (one item or none) goes through as before."""
    headers, ids = world["headers"], world["ids"]
    response = client.patch(f"{API_PREFIX}/endpoints/{ids['endpoint_id']}", headers=headers,
                            json={"contact_emails": ["ld@example.vn"]})
    assert response.status_code == 200 and response.get_json()["contact_emails"] == ["ld@example.vn"]
    response = client.patch(f"{API_PREFIX}/meetings/{ids['meeting_id']}", headers=headers,
                            json={"attendees": ["b@example.vn"]})
    assert response.status_code == 200 and response.get_json()["attendees"] == ["b@example.vn"]
    response = client.patch(f"{API_PREFIX}/meetings/{ids['meeting_id']}", headers=headers, json={"attendees": []})
    assert response.status_code == 200 and response.get_json()["attendees"] == []
