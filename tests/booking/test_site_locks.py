"""lock_sites, seen from a second connection: what a booking holds until it commits (PostgreSQL).

FOR NO KEY UPDATE on the bridges and the endpoints: another writer of the same rows waits (NOWAIT
fails at once), a foreign-key check of another writer (KEY SHARE) does not. SQLite needs none of
it: the request's write transaction already holds the database's one write lock.
"""

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import OperationalError

from vmeeting.booking.conflicts import lock_sites
from vmeeting.core.extensions import db


@pytest.fixture
def other(app, database_url):
    """A second connection to the test database, outside the app's session."""
    if db.session.get_bind().dialect.name != "postgresql":
        pytest.skip("row locks are PostgreSQL's; SQLite serializes writers with its one write lock")
    engine = sa.create_engine(database_url)
    yield engine
    engine.dispose()


def taken(engine, table, row_id, mode="NO KEY UPDATE"):
    """Tell whether another transaction holds a lock on the row that `mode` would wait for."""
    with engine.connect() as conn:
        try:
            conn.exec_driver_sql(f"SELECT id FROM {table} WHERE id = {int(row_id)} FOR {mode} NOWAIT")
        except OperationalError:
            return True
        finally:
            conn.rollback()
    return False


def test_a_booking_holds_its_sites_and_their_bridges_until_it_commits(other, make_endpoint, make_bridge):
    bridge, spare_bridge = make_bridge(), make_bridge()
    site, no_bridge, bystander = make_endpoint(bridge_id=bridge.id), make_endpoint(), make_endpoint()
    lock_sites([site, no_bridge])
    assert taken(other, "endpoints", site.id) and taken(other, "endpoints", no_bridge.id)
    assert taken(other, "bridges", bridge.id)
    assert not taken(other, "endpoints", bystander.id) and not taken(other, "bridges", spare_bridge.id)
    # NO KEY: another writer's foreign-key check on these rows goes on
    assert not taken(other, "endpoints", site.id, "KEY SHARE") and not taken(other, "bridges", bridge.id, "KEY SHARE")
    db.session.commit()
    assert not taken(other, "endpoints", site.id) and not taken(other, "bridges", bridge.id)


def test_the_meeting_bridge_is_held_instead_of_the_sites_own(other, make_endpoint, make_bridge):
    own, meeting_bridge = make_bridge(), make_bridge()
    site = make_endpoint(bridge_id=own.id)
    lock_sites([site], meeting_bridge_id=meeting_bridge.id)
    assert taken(other, "bridges", meeting_bridge.id) and not taken(other, "bridges", own.id)
    assert taken(other, "endpoints", site.id)
    db.session.rollback()


def test_sqlite_takes_no_row_lock(app, make_endpoint):
    if db.session.get_bind().dialect.name != "sqlite":
        pytest.skip("the SQLite case")
    site = make_endpoint()
    statements = []

    def seen(conn, cursor, statement, *args):
        statements.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", seen)
    try:
        assert lock_sites([site]) is None
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", seen)
    assert statements == []
