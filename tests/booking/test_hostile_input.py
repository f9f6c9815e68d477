"""What an outside attack found after the working-year and hardening work: each a kind, each refused with 400."""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from tests.booking.conftest import next_monday
from tests.booking.test_api import body
from tests.conftest import count
from vmeeting.booking import series
from vmeeting.booking.models import Meeting, Occurrence, Reservation
from vmeeting.core.extensions import db


def test_a_meeting_cannot_be_moved_into_the_past(client, api_headers, sites):
    """PATCH to 2020 used to answer 200, cancel the sitting and free its sites; now 400 and nothing changes."""
    headers = api_headers("scheduler")
    ids = [sites["hall"].id, sites["communes"][0].id]
    created = client.post("/api/v1/meetings", headers=headers, json=body(sites, next_monday(9), endpoint_ids=ids))
    meeting_id = created.get_json()["id"]
    reservations = count(Reservation)
    moved = client.patch(f"/api/v1/meetings/{meeting_id}", headers=headers,
                         json={"starts_at": "2020-01-01T09:00:00+07:00", "ends_at": "2020-01-01T10:00:00+07:00"})
    assert moved.status_code == 400 and "starts_at" in moved.get_json()["error"]["fields"]
    db.session.expire_all()
    meeting = db.session.get(Meeting, meeting_id)
    assert meeting.sequence == 0 and [o.status for o in meeting.occurrences] == ["scheduled"]
    assert count(Reservation) == reservations


def test_a_series_not_yet_begun_cannot_be_moved_into_the_past(client, api_headers, sites):
    headers = api_headers("scheduler")
    created = client.post("/api/v1/meetings", headers=headers, json=body(
        sites, next_monday(9), endpoint_ids=[sites["hall"].id], recurrence="FREQ=WEEKLY;COUNT=6",
        allow_non_working_time=True))
    meeting_id = created.get_json()["id"]
    start = next_monday(9) - timedelta(days=28 * 3)
    moved = client.patch(f"/api/v1/meetings/{meeting_id}", headers=headers, json={
        "starts_at": start.isoformat(), "ends_at": (start + timedelta(hours=1)).isoformat()})
    assert moved.status_code == 400 and "starts_at" in moved.get_json()["error"]["fields"]
    assert count(Occurrence) == 6 and {o.status for o in db.session.scalars(sa.select(Occurrence))} == {"scheduled"}


@pytest.mark.parametrize("rule", [
    "FREQ=WEEKLY;INTERVAL=0;COUNT=3",
    "FREQ=WEEKLY;INTERVAL=99999999999999999999;COUNT=3",
    "FREQ=WEEKLY;COUNT=2\nEXDATE:20270303",
    "FREQ=WEEKLY;COUNT=2;COUNT=4",
])
def test_a_broken_rule_is_refused_naming_recurrence(client, api_headers, sites, rule):
    answer = client.post("/api/v1/meetings", headers=api_headers("scheduler"), json=body(
        sites, next_monday(9), endpoint_ids=[sites["hall"].id], recurrence=rule))
    assert answer.status_code == 400, answer.get_json()
    assert "recurrence" in answer.get_json()["error"]["fields"]
    assert count(Meeting) == 0


@pytest.mark.parametrize("payload", [
    '{"title": "a\\ud800b"}',            # a lone surrogate: no database can store it
    '{"title": "a\\u0000b"}',            # NUL: PostgreSQL's text cannot hold it
    "[" * 5000 + "]" * 5000,              # Python's parser recurses until it fails
    '{"title": ' + "[" * 20 + "]" * 20 + "}",
])
def test_bodies_no_database_can_take_answer_400_on_every_write(client, api_headers, sites, payload):
    headers = {**api_headers("admin"), "Content-Type": "application/json"}
    for method, path in (("POST", "/api/v1/meetings"), ("PATCH", f"/api/v1/endpoints/{sites['hall'].id}"),
                         ("POST", "/api/v1/holidays")):
        answer = client.open(path, method=method, headers=headers, data=payload)
        assert answer.status_code == 400, (path, answer.status_code)
        assert answer.get_json()["error"]["code"]
    assert count(Meeting) == 0


def test_the_last_day_of_the_month_never_warns_of_short_months(app, sites):
    start = next_monday(9)
    assert series.short_month_warning("FREQ=MONTHLY;BYMONTHDAY=-1;COUNT=3", start) == ""
    assert series.short_month_warning("FREQ=MONTHLY;BYMONTHDAY=31;COUNT=3", start)
