"""Idempotency-Key on POST /api/v1/meetings (draft-ietf-httpapi-idempotency-key-header).

A client that lost the answer to its booking retries with the same key and gets
the first answer, marked `Idempotent-Replayed: true`, never a second booking nor
a 409 against its own; the same key with another body is refused with 422.
"""

import json
import threading
import urllib.error
import urllib.request
from datetime import timedelta

import pytest
import sqlalchemy as sa

from tests.booking.conftest import next_monday
from vmeeting.booking.models import IdempotencyKey, Meeting
from vmeeting.core.extensions import db


def body(sites, start, **extra):
    return {"title": "Hội nghị trực tuyến", "starts_at": start.isoformat(),
            "ends_at": (start + timedelta(hours=1)).isoformat(), "chair_endpoint_id": sites["hall"].id,
            "endpoint_ids": [sites["hall"].id, sites["communes"][0].id], **extra}


def meetings():
    """How many meetings are stored, read afresh (a read transaction of the test's would keep its snapshot)."""
    db.session.rollback()
    return db.session.scalar(sa.select(sa.func.count()).select_from(Meeting))


def post(client, headers, key, data):
    return client.post("/api/v1/meetings", headers={**headers, "Idempotency-Key": key}, json=data)


def test_a_retry_gets_the_first_answer_and_books_nothing(client, api_headers, sites):
    headers = api_headers("scheduler")
    data = body(sites, next_monday(8), recurrence="FREQ=WEEKLY;COUNT=2")
    first = post(client, headers, '"8e03978e-40d5-43e8-bc93-6894a57f9324"', data)
    assert first.status_code == 201 and "Idempotent-Replayed" not in first.headers
    again = post(client, headers, '"8e03978e-40d5-43e8-bc93-6894a57f9324"', data)
    assert again.status_code == 201, again.get_json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json() == first.get_json() and again.headers["ETag"] == first.headers["ETag"]
    assert meetings() == 1
    # the body's key order and spacing are not the request's content; the bare form names the same key
    reordered = dict(reversed(list(data.items())))
    assert post(client, headers, "8e03978e-40d5-43e8-bc93-6894a57f9324", reordered).headers["Idempotent-Replayed"] == "true"
    # without a key, the same body is a second booking, refused as a conflict with the first
    assert client.post("/api/v1/meetings", headers=headers, json=data).status_code == 409
    assert meetings() == 1


def test_the_same_key_with_another_body_is_refused_naming_the_field(client, api_headers, sites):
    headers = api_headers("scheduler")
    start = next_monday(8)
    assert post(client, headers, '"k-1"', body(sites, start)).status_code == 201
    reused = post(client, headers, '"k-1"', body(sites, start + timedelta(hours=3)))
    assert reused.status_code == 422, reused.get_json()
    error = reused.get_json()["error"]
    assert error["code"] == "idempotency_key_reused" and "Idempotency-Key" in error["fields"]
    assert error["message"].startswith("Khóa Idempotency-Key này đã dùng")
    assert meetings() == 1


def test_keys_are_each_users_own(client, api_headers, sites):
    start = next_monday(8)
    assert post(client, api_headers("scheduler"), '"shared"', body(sites, start)).status_code == 201
    other = post(client, api_headers("scheduler"), '"shared"', body(sites, start + timedelta(hours=3)))
    assert other.status_code == 201 and "Idempotent-Replayed" not in other.headers
    assert meetings() == 2


def test_a_key_is_kept_24_hours(client, api_headers, sites):
    headers = api_headers("scheduler")
    start = next_monday(8)
    assert post(client, headers, '"daily"', body(sites, start)).status_code == 201
    row = db.session.scalars(sa.select(IdempotencyKey)).one()
    row.created_at -= timedelta(hours=23, minutes=59)
    db.session.commit()
    assert post(client, headers, '"daily"', body(sites, start + timedelta(hours=3))).status_code == 422
    row = db.session.scalars(sa.select(IdempotencyKey)).one()
    row.created_at -= timedelta(minutes=2)
    db.session.commit()
    fresh = post(client, headers, '"daily"', body(sites, start + timedelta(hours=3)))
    assert fresh.status_code == 201 and "Idempotent-Replayed" not in fresh.headers
    assert meetings() == 2
    assert db.session.scalar(sa.select(sa.func.count()).select_from(IdempotencyKey)) == 1


def test_a_refused_booking_keeps_no_key(client, api_headers, sites):
    headers = api_headers("scheduler")
    start = next_monday(8)
    assert client.post("/api/v1/meetings", headers=headers, json=body(sites, start)).status_code == 201
    clash = post(client, headers, '"try-again"', body(sites, start + timedelta(minutes=30)))
    assert clash.status_code == 409
    bad = post(client, headers, '"try-again"', {**body(sites, start + timedelta(hours=3)), "title": ""})
    assert bad.status_code == 400
    assert db.session.scalar(sa.select(sa.func.count()).select_from(IdempotencyKey)) == 0
    assert post(client, headers, '"try-again"', body(sites, start + timedelta(hours=3))).status_code == 201


@pytest.mark.parametrize("value", ['""', '"', '"unterminated', 'two words', '"tiếng việt"', "a,b", '"a"b',
                                   "x" * 256, '"' + "x" * 256 + '"', ""])
def test_a_malformed_key_gets_400_naming_the_header(client, api_headers, sites, value):
    response = post(client, api_headers("scheduler"), value, body(sites, next_monday(8)))
    assert response.status_code == 400, response.get_json()
    assert "Idempotency-Key" in response.get_json()["error"]["fields"]
    assert meetings() == 0


def test_a_quoted_key_may_hold_escapes(client, api_headers, sites):
    headers = api_headers("scheduler")
    data = body(sites, next_monday(8))
    assert post(client, headers, r'"a \"quoted\" key \\ 1"', data).status_code == 201
    assert db.session.scalars(sa.select(IdempotencyKey.key)).one() == r'a "quoted" key \ 1'
    assert post(client, headers, r'"a \"quoted\" key \\ 1"', data).headers["Idempotent-Replayed"] == "true"


def test_simultaneous_requests_with_one_key_book_once(live_server, api_headers, sites):
    """Eight threads send the same keyed booking at once over real HTTP: one booking, eight 201s."""
    token = api_headers("scheduler")["Authorization"]
    payload = json.dumps(body(sites, next_monday(9))).encode()
    barrier = threading.Barrier(8)
    answers = []

    def attempt():
        request = urllib.request.Request(f"{live_server.url}/api/v1/meetings", data=payload, method="POST", headers={
            "Authorization": token, "Content-Type": "application/json", "Idempotency-Key": '"one-booking"'})
        barrier.wait()
        try:
            with urllib.request.urlopen(request, timeout=120) as response:
                answers.append((response.status, response.headers.get("Idempotent-Replayed"),
                                json.loads(response.read())["id"]))
        except urllib.error.HTTPError as error:
            answers.append((error.code, None, error.read().decode()))

    threads = [threading.Thread(target=attempt) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(status for status, _, _ in answers) == [201] * 8, answers
    assert len({meeting_id for _, _, meeting_id in answers}) == 1
    assert sorted(replayed or "" for _, replayed, _ in answers) == [""] + ["true"] * 7
    assert meetings() == 1
