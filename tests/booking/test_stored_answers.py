"""A change that was stored is answered as stored: nothing after the commit reads the database.

Issue 23: a booking committed, then a read for the answer (the meeting read back,
its sites' warnings) met a dropped connection and answered 503; the client's
retry then met its own booking as a 409. Every write of booking, through the API
and the pages, now builds its answer before it commits. Shown three ways: no
statement after the commit on any of them (both databases), and the real
failures: PostgreSQL's backend terminated after the commit with the database
refusing new connections, SQLite's write lock held by another writer.
"""

import sqlite3
from datetime import timedelta

import psycopg
import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from tests.booking.conftest import next_monday
from tests.conftest import csrf_token
from vmeeting.booking.models import Meeting
from vmeeting.core.extensions import db


def api_body(sites, start, **extra):
    return {"title": "Hội nghị trực tuyến", "starts_at": start.isoformat(),
            "ends_at": (start + timedelta(hours=1)).isoformat(), "chair_endpoint_id": sites["hall"].id,
            "endpoint_ids": [sites["hall"].id, sites["communes"][0].id], **extra}


def _writes(client, api_headers, login_as, sites, book):
    """Each write route of booking, as a callable answering (status, what it should be)."""
    start = next_monday(8)
    series = book([sites["hall"], sites["communes"][1]], start + timedelta(days=1), recurrence="FREQ=WEEKLY;COUNT=3")
    single = book([sites["communes"][2]], start + timedelta(days=2))
    other = book([sites["communes"][3]], start + timedelta(days=3), recurrence="FREQ=WEEKLY;COUNT=3")
    third = book([sites["communes"][3]], start + timedelta(days=4))
    first, second = series.occurrences[0], series.occurrences[1]
    moved_to = first.starts_at + timedelta(hours=6)
    headers = api_headers("scheduler")
    keyed = {**headers, "Idempotency-Key": '"a-retry-safe-booking"'}
    login_as("scheduler")
    token = csrf_token(client, "/meetings/new")
    return {
        "POST /api/v1/meetings": lambda: client.post("/api/v1/meetings", headers=headers, json=api_body(sites, start)),
        "POST /api/v1/meetings with a key": lambda: client.post(
            "/api/v1/meetings", headers=keyed, json=api_body(sites, start + timedelta(hours=3))),
        "PATCH /api/v1/meetings/{id}": lambda: client.patch(
            f"/api/v1/meetings/{series.id}", headers=headers, json={"title": "Giao ban tuần (đổi)"}),
        "PATCH …/occurrences/{id}": lambda: client.patch(
            f"/api/v1/meetings/{series.id}/occurrences/{first.id}", headers=headers,
            json={"starts_at": moved_to.isoformat(), "ends_at": (moved_to + timedelta(hours=1)).isoformat()}),
        "POST …/occurrences/{id}/cancel": lambda: client.post(
            f"/api/v1/meetings/{series.id}/occurrences/{second.id}/cancel", headers=headers, json={"confirm": True}),
        "POST /api/v1/meetings/{id}/cancel": lambda: client.post(
            f"/api/v1/meetings/{single.id}/cancel", headers=headers, json={"confirm": True}),
        "POST /meetings/new": lambda: client.post("/meetings/new", data={
            "csrf_token": token, "title": "Họp từ biểu mẫu", "day": (start + timedelta(days=7)).strftime("%d/%m/%Y"),
            "start_time": "08:00", "end_time": "09:00", "chair_endpoint_id": str(sites["hall"].id),
            "setup_minutes": "30", "action": "book", "endpoint_ids": str(sites["hall"].id)}),
        "POST /meetings/{id}/occurrences/{id}/move": lambda: client.post(
            f"/meetings/{other.id}/occurrences/{other.occurrences[0].id}/move", data={
                "csrf_token": token, "day": (start + timedelta(days=3)).strftime("%d/%m/%Y"),
                "start_time": "14:00", "end_time": "15:00", "version": "0"}),
        "POST /meetings/{id}/cancel (page)": lambda: client.post(
            f"/meetings/{third.id}/cancel", data={"csrf_token": token, "confirm": "y", "reason": "Đổi lịch",
                                                    "version": "0"}),
        "POST /calendar/move": lambda: client.post("/calendar/move", headers={"X-CSRFToken": token}, json={
            "occurrence_id": other.occurrences[1].id,
            "starts_at": (other.occurrences[1].starts_at + timedelta(hours=6)).isoformat(),
            "ends_at": (other.occurrences[1].starts_at + timedelta(hours=7)).isoformat(), "version": "1"}),
    }


def test_no_write_of_booking_reads_the_database_after_its_commit(client, api_headers, login_as, sites, book,
                                                                 after_commit_statements):
    for name, write in _writes(client, api_headers, login_as, sites, book).items():
        after_commit_statements.clear()
        response = write()
        assert response.status_code in (200, 201, 302), (name, response.status_code, response.get_data(as_text=True))
        assert after_commit_statements == [], (name, after_commit_statements)


@pytest.fixture
def cut_after_booking_commit(app, database_url):
    """Arm a real failure for the moment a booking (a new meeting) has committed; yield a flag it sets.

    PostgreSQL: the request's backend is terminated (pg_terminate_backend) and the
    database refuses new connections (ALLOW_CONNECTIONS false) until the test ends.
    SQLite: another connection takes the write lock (BEGIN IMMEDIATE) and holds it,
    as the embedded worker does while it delivers, and the app waits 0.2 s for a
    lock instead of 30 s.
    """
    engine = db.engine
    backend = engine.dialect.name
    state = {"cut": False, "pid": None, "armed": False}
    holder = {}
    url = sa.make_url(database_url)

    def on_flush(session, _context):
        if any(isinstance(item, Meeting) for item in session.new):
            state["armed"] = True
            if backend == "postgresql":
                state["pid"] = session.connection().connection.dbapi_connection.info.backend_pid

    def on_commit(session):
        if not state["armed"] or state["cut"]:
            return
        state["cut"] = True
        if backend == "postgresql":
            with psycopg.connect(url.set(drivername="postgresql", database="postgres")
                                 .render_as_string(hide_password=False), autocommit=True) as admin:
                admin.execute(f'ALTER DATABASE "{url.database}" ALLOW_CONNECTIONS false')
                admin.execute("SELECT pg_terminate_backend(%s, 5000)", (state["pid"],))
        else:
            holder["conn"] = sqlite3.connect(url.database, isolation_level=None)
            holder["conn"].execute("BEGIN IMMEDIATE")

    def short_wait(dbapi_connection, _record, _proxy):
        dbapi_connection.execute("PRAGMA busy_timeout=200")

    def release():
        """End the failure: the database takes connections again, the lock is let go; a fresh session."""
        if not holder.get("released"):
            holder["released"] = True
            sa.event.remove(Session, "after_flush", on_flush)
            sa.event.remove(Session, "after_commit", on_commit)
            if backend == "sqlite":
                sa.event.remove(engine, "checkout", short_wait)
                if "conn" in holder:
                    holder["conn"].rollback()
                    holder["conn"].close()
            else:
                with psycopg.connect(url.set(drivername="postgresql", database="postgres")
                                     .render_as_string(hide_password=False), autocommit=True) as admin:
                    admin.execute(f'ALTER DATABASE "{url.database}" ALLOW_CONNECTIONS true')
            db.session.remove()
            engine.dispose()

    state["release"] = release
    sa.event.listen(Session, "after_flush", on_flush)
    sa.event.listen(Session, "after_commit", on_commit)
    if backend == "sqlite":
        sa.event.listen(engine, "checkout", short_wait)
    try:
        yield state
    finally:
        release()


def test_a_booking_stored_before_the_connection_drops_answers_201(client, api_headers, sites,
                                                                 cut_after_booking_commit):
    headers = api_headers("scheduler")
    site_ids = sorted([sites["hall"].id, sites["communes"][0].id])
    response = client.post("/api/v1/meetings", headers=headers, json=api_body(sites, next_monday(8)))
    assert cut_after_booking_commit["cut"], "the failure was never armed"
    assert response.status_code == 201, response.get_json()
    answer = response.get_json()
    assert answer["title"] == "Hội nghị trực tuyến" and len(answer["occurrences"]) == 1
    assert sorted(answer["endpoint_ids"]) == site_ids
    assert response.headers["ETag"] == f'"meeting-{answer["id"]}-v0"'
    cut_after_booking_commit["release"]()
    assert db.session.get(Meeting, answer["id"]).uid == answer["uid"]


def test_a_booked_form_stored_before_the_connection_drops_goes_to_its_page(client, login_as, sites,
                                                                           cut_after_booking_commit):
    login_as("scheduler")
    start = next_monday(8)
    response = client.post("/meetings/new", data={
        "csrf_token": csrf_token(client, "/meetings/new"), "title": "Họp từ biểu mẫu",
        "day": start.strftime("%d/%m/%Y"), "start_time": "08:00", "end_time": "09:00",
        "chair_endpoint_id": str(sites["hall"].id), "setup_minutes": "30", "action": "book", "endpoint_ids": str(sites["hall"].id)})
    assert cut_after_booking_commit["cut"]
    assert response.status_code == 302 and "/meetings/" in response.headers["Location"], response.status_code
    cut_after_booking_commit["release"]()
    meeting_id = int(response.headers["Location"].rstrip("/").rsplit("/", 1)[1])
    assert db.session.get(Meeting, meeting_id).title == "Họp từ biểu mẫu"
