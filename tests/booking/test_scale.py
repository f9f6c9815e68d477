"""The shape of the work at national scale: the statements a booking, a page or a search sends
do not grow with the number of sites or sittings.

Counts, not timings (bench/ measures time, in one run, as ratios): each test does the same work
for a few sites and for several times as many, and expects the same number of SQL statements.
A query per site, a lazy load per row in a template, an INSERT per reservation would each show
up here as a count that grows.
"""

from contextlib import contextmanager
from datetime import timedelta

import pytest
import sqlalchemy as sa

from tests.booking.conftest import next_monday
from vmeeting.booking import service
from vmeeting.core.extensions import db


@contextmanager
def counted():
    """Yield the list of SQL statements sent to the database inside the block (an executemany is one)."""
    statements = []

    def record(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", record)


@pytest.fixture
def many_sites(make_endpoint, make_bridge):
    """Two dozen active endpoints on two bridges with room for all."""
    bridges = [make_bridge(ports=100), make_bridge(ports=100)]
    return [make_endpoint(bridge_id=bridges[n % 2].id) for n in range(24)]


def _booking_body(sites, start, title):
    return {"title": title, "starts_at": start.isoformat(), "ends_at": (start + timedelta(hours=1)).isoformat(),
            "chair_endpoint_id": sites[0].id, "endpoint_ids": [e.id for e in sites]}


def _with_token_used(client, headers):
    """headers, their token's use already recorded: a token's first use in a minute writes it (auth.service),
    which the first of two counted requests would otherwise pay alone."""
    assert client.get("/api/v1/meetings", headers=headers).status_code == 200
    return headers


def test_a_booking_sends_as_many_statements_for_24_sites_as_for_3(client, api_headers, many_sites):
    """The listeners included: the invites' compact outbox rows are one INSERT, whatever the recipients."""
    headers = _with_token_used(client, api_headers("scheduler"))
    counts = []
    for day, sites in enumerate((many_sites[:3], many_sites)):
        body = _booking_body(sites, next_monday(8) + timedelta(days=day), f"Họp {day}")
        with counted() as statements:
            answer = client.post("/api/v1/meetings", headers=headers, json=body)
        assert answer.status_code == 201, answer.get_json()
        assert len(answer.get_json()["endpoint_ids"]) == len(sites)
        counts.append(len(statements))
    assert counts[0] == counts[1], counts


def test_a_series_writes_its_reservations_in_one_statement_per_booking(app, client, api_headers, many_sites,
                                                                       monkeypatch):
    monkeypatch.setitem(app.extensions["vmeeting.hooks"], service.change_listeners.name, [])
    body = _booking_body(many_sites, next_monday(8), "Giao ban tuần")
    body["recurrence"] = "FREQ=WEEKLY;COUNT=4"
    headers = api_headers("scheduler")
    with counted() as statements:
        answer = client.post("/api/v1/meetings", headers=headers, json=body)
    assert answer.status_code == 201, answer.get_json()
    inserts = [s for s in statements if s.lstrip().upper().startswith("INSERT INTO RESERVATIONS")]
    assert len(inserts) == 1  # 4 sittings × 24 sites, one statement
    assert db.session.scalar(sa.text("SELECT count(*) FROM reservations")) == 4 * 24


def test_the_slot_finder_sends_as_many_statements_for_24_sites_as_for_3(client, api_headers, many_sites):
    headers = _with_token_used(client, api_headers("viewer"))
    start = next_monday(0)
    counts = []
    for sites in (many_sites[:3], many_sites):
        query = {"endpoint_ids": ",".join(str(e.id) for e in sites), "from": start.isoformat(),
                 "to": (start + timedelta(days=2)).isoformat(), "limit": 3}
        with counted() as statements:
            answer = client.get("/api/v1/slots", headers=headers, query_string=query)
        assert answer.status_code == 200 and answer.get_json()["total"] == 3
        counts.append(len(statements))
    assert counts[0] == counts[1], counts


def test_the_meeting_page_of_a_large_meeting_costs_the_same_whatever_its_size(client, login_as, many_sites,
                                                                             make_endpoint, book):
    sites = many_sites + [make_endpoint(bridge_id=many_sites[0].bridge_id) for _ in range(40)]
    middle = book(sites[:32], next_monday(8), title="Tỉnh")
    large = book(sites, next_monday(8) + timedelta(days=1), title="Toàn quốc")
    login_as("viewer")
    client.get("/meetings")  # the session's first page after sign-in writes to it; not the meeting page's work
    counts = []
    for meeting in (middle, large):
        db.session.expire_all()  # each request loads its signed-in user alike (the tests share one session)
        with counted() as statements:
            page = client.get(f"/meetings/{meeting.id}")
        assert page.status_code == 200
        html = page.get_data(as_text=True)
        assert f'data-fragment-src="/meetings/{meeting.id}/sites"' in html
        assert f'data-fragment-src="/meetings/{meeting.id}/invites-panel"' in html
        counts.append(len(statements))
    assert counts[0] == counts[1], counts
    section_counts = []
    for meeting, size in ((middle, 32), (large, 64)):
        db.session.expire_all()  # each request loads its meeting alike (the tests share one session)
        with counted() as statements:
            section = client.get(f"/meetings/{meeting.id}/sites").get_data(as_text=True)
        assert section.count("list-group-item") == size
        section_counts.append(len(statements))
    assert section_counts[0] == section_counts[1], section_counts
    panel = client.get(f"/meetings/{large.id}/invites-panel")
    assert panel.status_code == 200 and 'data-testid="invites-panel"' in panel.get_data(as_text=True)


def test_the_week_calendar_sends_as_many_statements_for_20_sittings_as_for_2(client, login_as, many_sites, book):
    monday = next_monday(8)
    login_as("viewer")
    client.get("/meetings")
    path = f"/calendar?view=week&date={monday.date().isoformat()}"
    book(many_sites[:2], monday, title="Họp 0")
    book(many_sites[2:4], monday + timedelta(days=1), title="Họp 1")
    with counted() as statements:
        assert client.get(path).status_code == 200
    few = len(statements)
    for n in range(18):
        book([many_sites[4 + n]], monday + timedelta(days=n % 5, hours=n // 5), title=f"Họp {n + 2}",
             chair=many_sites[4 + n], allow_non_working_time=True)
    with counted() as statements:
        html = client.get(path).get_data(as_text=True)
    assert len(statements) == few
    assert "20 buổi họp" in html
