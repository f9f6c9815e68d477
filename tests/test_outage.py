"""A database outage answers 503 (the API's error shape, and a page), and the app recovers when it returns.

The outage is real: PostgreSQL is told to refuse connections to the database
and its open ones are terminated; SQLite's file is moved away (a directory
stands in its place, which SQLite cannot open) and the process's connections
to it closed, as when a disk goes away.
"""

import contextlib
import os
import shutil
import threading

import pytest
import sqlalchemy as sa

from tests.conftest import _make_app
from vmeeting.core.extensions import db


@contextlib.contextmanager
def database_away(database_url):
    """Make the test run's database unreachable inside the block; bring it back afterwards."""
    url = sa.make_url(database_url)
    if url.get_backend_name() == "postgresql":
        server = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
        name = url.database
        with server.connect() as conn:
            conn.exec_driver_sql(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS false')
            conn.exec_driver_sql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                 "WHERE datname = %s AND pid <> pg_backend_pid()", (name,))
        try:
            yield
        finally:
            with server.connect() as conn:
                conn.exec_driver_sql(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS true')
            server.dispose()
    else:
        path = url.database
        moved = [(p, p + ".away") for p in (path, path + "-wal", path + "-shm") if os.path.exists(p)]
        db.engine.dispose()  # WAL is checkpointed and the files closed before they move
        for source, target in moved:
            os.rename(source, target)
        os.mkdir(path)
        db.engine.dispose()
        try:
            yield
        finally:
            shutil.rmtree(path)
            for source, target in moved:
                os.rename(target, source)


@pytest.fixture
def signed_in(client, login_as, api_headers):
    """Sign the client in as a scheduler and return bearer headers of another."""
    login_as("scheduler")
    return api_headers("scheduler")


def test_an_outage_answers_503_and_the_app_recovers(app, client, database_url, signed_in):
    assert client.get("/api/v1/units", headers=signed_in).status_code == 200
    assert client.get("/calendar").status_code == 200

    with database_away(database_url):
        api = client.get("/api/v1/units", headers=signed_in)
        assert api.status_code == 503
        assert api.get_json()["error"]["code"] == "database_unavailable"
        assert api.headers["Retry-After"]
        page = client.get("/calendar")
        assert page.status_code == 503
        assert "Không kết nối được cơ sở dữ liệu" in page.get_data(as_text=True)
        assert client.get("/healthz").status_code == 503
        # a form post too: nothing is half-written, the answer is the same
        assert client.post("/api/v1/endpoints", json={"code": "X"}, headers=signed_in).status_code == 503
        db.session.remove()

    # The pool notices the dead connections (pre-ping) and opens new ones: no restart needed.
    assert client.get("/healthz").get_json() == {"status": "ok", "database": "ok"}
    assert client.get("/api/v1/units", headers=signed_in).status_code == 200
    assert client.get("/calendar").status_code == 200


def _real_deadlock(database_url):
    """Deadlock two PostgreSQL transactions for real (advisory locks taken in opposite orders); return the
    SQLAlchemy error of the one the server chose as its victim."""
    engine = sa.create_engine(database_url)
    both_hold_one = threading.Barrier(2)
    errors = []

    def take(first, second):
        try:
            with engine.begin() as conn:
                conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({first})")
                both_hold_one.wait(timeout=10)
                conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({second})")
        except sa.exc.DBAPIError as error:
            errors.append(error)

    threads = [threading.Thread(target=take, args=pair) for pair in ((91001, 91002), (91002, 91001))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    engine.dispose()
    assert len(errors) == 1, errors
    return errors[0]


def test_a_transaction_refused_for_a_concurrent_one_is_409_to_retry_not_an_outage(database_url, api_headers):
    """PostgreSQL refuses one of two transactions that wait on each other (a booking displacing a meeting while
    someone edits it): the refused request wrote nothing and may be sent again, so it is 409
    `transaction_conflict` with Retry-After, not the 503 of a database that is away."""
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite's one write lock serializes writers: no deadlock between them")
    refused = _real_deadlock(database_url)
    assert refused.orig.sqlstate == "40P01"

    def deadlocked():
        raise refused

    signed_in = api_headers("scheduler")
    app = _make_app(database_url)  # an app of its own: the suite's may have served requests, and takes no new route
    app.add_url_rule("/api/v1/deadlocked", "deadlocked_api", deadlocked)
    app.add_url_rule("/deadlocked", "deadlocked_page", deadlocked)
    client = app.test_client()
    answer = client.get("/api/v1/deadlocked", headers=signed_in)
    assert answer.status_code == 409 and answer.headers["Retry-After"] == "1"
    assert answer.get_json()["error"]["code"] == "transaction_conflict"
    page = client.get("/deadlocked")
    assert page.status_code == 409 and "thử lại" in page.get_data(as_text=True)
    assert client.get("/api/v1/units", headers=signed_in).status_code == 200  # nothing is away
