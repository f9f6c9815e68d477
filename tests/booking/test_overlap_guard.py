"""PostgreSQL's own refusal of a double booking (migration 0017), tried from raw connections.

Whatever the application does, the database holds an endpoint busy once at a
time: the statement-level trigger locks the statement's endpoints, then looks for
an overlap with a snapshot taken after the lock. These tests write reservations
with plain SQL, without vmeeting's lock_sites, as a careless script would.
"""

import threading
import time
from datetime import timedelta

import psycopg
import pytest
import sqlalchemy as sa

from tests.booking.conftest import book, next_monday, sites  # noqa: F401 (fixtures)
from vmeeting.booking import changes, conflicts, service
from vmeeting.booking.models import Reservation
from vmeeting.core.errors import Conflict
from vmeeting.core.extensions import db

COLUMNS = "(occurrence_id, endpoint_id, busy_from, busy_until)"
INSERT = f"INSERT INTO reservations {COLUMNS} VALUES (%s, %s, %s, %s)"


@pytest.fixture
def raw(app, database_url):
    """Open plain psycopg connections to the test database (READ COMMITTED unless asked); close them after."""
    if db.session.get_bind().dialect.name != "postgresql":
        pytest.skip("the trigger is PostgreSQL's; SQLite's one write lock serializes the check and the insert")
    opened = []

    def connect(**options):
        url = sa.make_url(database_url).set(drivername="postgresql")
        conn = psycopg.connect(url.render_as_string(hide_password=False), **options)
        opened.append(conn)
        return conn

    yield connect
    for conn in opened:
        conn.close()


@pytest.fixture
def held(book, sites):
    """A meeting at the hall next Monday 08:00–09:00, no set-up time: (hall id, start)."""
    start = next_monday(8)
    book([sites["hall"]], start, setup_minutes=0)
    return sites["hall"].id, start


def occurrence():
    """A new sitting row of its own (a copy of the first one's meeting), so no (sitting, site) pair repeats."""
    with db.engine.begin() as conn:
        return conn.execute(sa.text(
            "INSERT INTO occurrences (meeting_id, original_starts_at, starts_at, ends_at, status, is_moved)"
            " SELECT meeting_id, original_starts_at + (SELECT count(*) FROM occurrences) * interval '1 day',"
            " starts_at, ends_at, status, is_moved FROM occurrences ORDER BY id LIMIT 1 RETURNING id")).scalar_one()


def row(endpoint_id, busy_from, busy_until):
    return occurrence(), endpoint_id, busy_from, busy_until


def refused(conn, *rows):
    """Insert rows in one statement; return the error's (SQLSTATE, constraint), or None if they went in."""
    values = ", ".join(["(%s, %s, %s, %s)"] * len(rows))
    try:
        with conn.cursor() as cursor:
            cursor.execute(f"INSERT INTO reservations {COLUMNS} VALUES {values}",
                           [value for item in rows for value in item])
        conn.commit()
    except psycopg.Error as error:
        conn.rollback()
        return error.sqlstate, error.diag.constraint_name
    return None


OVERLAP = ("23P01", "reservations_no_overlap")


def test_an_overlapping_row_is_refused_and_a_touching_one_is_not(raw, held, sites):
    hall_id, start = held
    conn = raw()
    minutes = timedelta(minutes=1)
    # across the start, inside, around, and the same interval again
    for begin, end in ((-30, 30), (15, 45), (-60, 120), (0, 60)):
        assert refused(conn, row(hall_id, start + begin * minutes, start + end * minutes)) == OVERLAP
    # [from, until): ending exactly when the meeting begins, or beginning when it ends, is no overlap
    assert refused(conn, row(hall_id, start - 60 * minutes, start)) is None
    assert refused(conn, row(hall_id, start + 60 * minutes, start + 120 * minutes)) is None
    # another endpoint at the same time is free
    assert refused(conn, row(sites["communes"][0].id, start, start + 60 * minutes)) is None


def test_a_reservation_begun_up_to_sixteen_hours_earlier_is_found(raw, held, sites):
    """The check looks back by the longest busy interval there can be, and the database keeps intervals that short."""
    _hall_id, start = held
    site, other = sites["communes"][1].id, sites["communes"][2].id
    conn = raw()
    assert conflicts.MAX_BUSY == timedelta(hours=16)
    second = timedelta(seconds=1)
    # as long as a busy interval may be, ending a second into the new one
    assert refused(conn, row(site, start - conflicts.MAX_BUSY + second, start + second)) is None
    assert refused(conn, row(site, start, start + timedelta(minutes=10))) == OVERLAP
    assert refused(conn, row(other, start, start + conflicts.MAX_BUSY + second)) == (
        "23514", "ck_reservations_busy_at_most_16_hours")


def test_two_new_rows_of_one_statement_may_not_overlap_each_other(raw, held, sites):
    _hall_id, start = held
    day = start + timedelta(days=1)
    site = sites["communes"][0].id
    conn = raw()
    assert refused(conn, row(site, day, day + timedelta(hours=1)),
                   row(sites["communes"][1].id, day, day + timedelta(hours=1)),
                   row(site, day + timedelta(minutes=30), day + timedelta(minutes=90))) == OVERLAP
    # nothing of the statement stays
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Reservation)
                             .where(Reservation.busy_from >= day)) == 0


def test_moving_a_row_onto_a_busy_interval_is_refused(raw, held, sites, book):
    _hall_id, start = held
    later = book([sites["hall"]], start + timedelta(hours=3), setup_minutes=0)
    conn = raw()
    with conn.cursor() as cursor:
        with pytest.raises(psycopg.errors.ExclusionViolation):
            cursor.execute("UPDATE reservations SET busy_from = busy_from - interval '3 hours',"
                           " busy_until = busy_until - interval '3 hours' WHERE occurrence_id = %s",
                           (later.occurrences[0].id,))
    conn.rollback()
    with conn.cursor() as cursor:  # moved to end as the first begins: the same statement goes through
        cursor.execute("UPDATE reservations SET busy_from = busy_from - interval '2 hours',"
                       " busy_until = busy_until - interval '2 hours' WHERE occurrence_id = %s",
                       (later.occurrences[0].id,))
    conn.commit()


def _insert_in_thread(conn, values):
    """Start inserting a row on conn in a thread; return (thread, outcome list: the error, or 'ok')."""
    outcome = []

    def run():
        outcome.append(refused(conn, values) or "ok")

    thread = threading.Thread(target=run)
    thread.start()
    return thread, outcome


def _waiting_on_a_lock(conn, pid, seconds=10):
    """Wait until the backend `pid` waits on a lock; return True, or False after `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with conn.cursor() as cursor:
            cursor.execute("SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", (pid,))
            row = cursor.fetchone()
        conn.rollback()
        if row and row[0] == "Lock":
            return True
        time.sleep(0.05)
    return False


@pytest.mark.parametrize("first_ends_with", ["commit", "rollback"])
def test_two_writers_of_one_site_at_once_one_waits_then_one_wins(raw, held, sites, first_ends_with):
    """Neither writer takes vmeeting's lock; the trigger's own lock makes the second wait and then see the first."""
    _hall_id, start = held
    site = sites["communes"][3].id
    later = start + timedelta(days=2)
    first, second, watcher = raw(), raw(), raw()
    with first.cursor() as cursor:
        cursor.execute(INSERT, row(site, later, later + timedelta(hours=1)))  # not committed yet
    thread, outcome = _insert_in_thread(second, row(site, later + timedelta(minutes=30), later + timedelta(hours=2)))
    try:
        assert _waiting_on_a_lock(watcher, second.info.backend_pid), "the second writer did not wait for the first"
        assert outcome == []
    finally:
        getattr(first, first_ends_with)()
        thread.join(10)
    assert outcome == [OVERLAP if first_ends_with == "commit" else "ok"]
    rows = db.session.scalars(sa.select(Reservation.busy_from).where(Reservation.endpoint_id == site)).all()
    assert len(rows) == 1


def test_a_writer_at_repeatable_read_is_refused(raw, held, sites):
    """Its snapshot predates the lock, so it could miss a rival's rows: it is not trusted to write."""
    _hall_id, start = held
    conn = raw()
    conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
    far = start + timedelta(days=5)
    with pytest.raises(psycopg.errors.InvalidTransactionState):
        with conn.cursor() as cursor:
            cursor.execute(INSERT, row(sites["communes"][0].id, far, far + timedelta(hours=1)))
    conn.rollback()


def test_a_booking_that_slipped_past_the_check_gets_the_retry_answer(held, sites, monkeypatch):
    """If the application's own check missed a rival (here: told to see nothing), the database still refuses."""
    hall_id, start = held
    if db.session.get_bind().dialect.name != "postgresql":
        pytest.skip("PostgreSQL's trigger")
    monkeypatch.setattr(changes, "find_conflicts", lambda *args, **kwargs: ([], []))
    choice = service.resolve_sites(endpoint_ids=[hall_id])
    data = {"title": "Trùng giờ", "starts_at": start, "ends_at": start + timedelta(hours=1),
            "chair_endpoint_id": hall_id}
    with pytest.raises(Conflict, match="vừa được đặt cho cuộc họp khác"):
        service.book_meeting(data, choice)
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Reservation)) == 1


def test_a_temporary_table_named_reservations_does_not_stand_in_for_the_real_one(raw, held):
    """The function's search_path puts the migration's schema before pg_temp."""
    hall_id, start = held
    conn = raw()
    with conn.cursor() as cursor:
        cursor.execute("SELECT quote_ident(current_schema())")
        schema = cursor.fetchone()[0]
        cursor.execute(f"CREATE TEMP TABLE reservations (LIKE {schema}.reservations)")
        cursor.execute("CREATE TEMP TABLE endpoints (id integer)")
        with pytest.raises(psycopg.errors.ExclusionViolation):
            cursor.execute(INSERT.replace("INTO reservations", f"INTO {schema}.reservations"),
                           row(hall_id, start, start + timedelta(minutes=30)))
    conn.rollback()


def test_read_uncommitted_is_read_committed_and_may_write(raw, held, sites):
    _hall_id, start = held
    conn = raw()
    conn.isolation_level = psycopg.IsolationLevel.READ_UNCOMMITTED
    far = start + timedelta(days=6)
    assert refused(conn, row(sites["communes"][0].id, far, far + timedelta(hours=1))) is None
