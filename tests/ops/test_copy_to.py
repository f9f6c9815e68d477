"""`flask db copy-to URL`: every table, ids and sequences kept, onto the other backend; never onto a filled one."""

import re

import pytest
import sqlalchemy as sa

from config import TestingConfig
from tests.booking.conftest import book, next_monday, sites  # noqa: F401 (fixtures reused here)
from tests.conftest import _postgres_base_url
from tests.pg import create_postgres_database
from vmeeting import create_app
from vmeeting.core.extensions import db


@pytest.fixture
def other_backend(database_url, tmp_path):
    """An empty, unmigrated database on the backend the test's app is not on: its URL."""
    if database_url.startswith("sqlite"):
        url, drop = create_postgres_database(_postgres_base_url(), "vmeeting_copy")
        yield url
        drop()
    else:
        yield f"sqlite:///{tmp_path / 'copy.db'}"


def _rows(engine):
    """Every row of every table of the models, in primary-key order: {table: [tuple, …]}."""
    with engine.connect() as conn:
        return {table.name: [tuple(row) for row in conn.execute(sa.select(table).order_by(*table.primary_key))]
                for table in db.metadata.sorted_tables}


def _without_stamp(ics):
    """The calendar without its DTSTAMP lines (the instant it was made: now, at each download)."""
    return re.sub(rb"DTSTAMP:[0-9TZ]+\r\n", b"", ics)


def _filled(sites, book, make_user, api_headers, client):
    """A database with a unit tree, sites, users, a booked meeting with its invites in the outbox and audit rows."""
    make_user("viewer")
    headers = api_headers("scheduler")
    meeting = book([sites["hall"], *sites["communes"]], next_monday(9), title="Giao ban quý IV")
    ics = client.get(f"/api/v1/meetings/{meeting.id}/invite.ics", headers=headers)
    assert ics.status_code == 200
    return meeting.id, headers, ics.data


def test_copy_to_the_other_backend_keeps_every_row_and_id(app, runner, client, sites, book, make_user, api_headers,
                                                         other_backend):
    meeting_id, headers, ics = _filled(sites, book, make_user, api_headers, client)
    db.session.commit()

    result = runner.invoke(args=["db", "copy-to", other_backend])
    assert result.exit_code == 0, result.output
    assert "Copied" in result.output

    target = create_app(TestingConfig, {"SQLALCHEMY_DATABASE_URI": other_backend})
    with target.app_context():
        target_engine = db.engine
        copied = _rows(target_engine)
        with app.app_context():
            original = _rows(db.engine)
        assert {t: len(r) for t, r in copied.items()} == {t: len(r) for t, r in original.items()}
        assert copied == original
        assert sum(len(r) for r in copied.values()) > 20
        again = target.test_client().get(f"/api/v1/meetings/{meeting_id}/invite.ics", headers=headers)
        assert again.status_code == 200
        assert _without_stamp(again.data) == _without_stamp(ics)
        # the next row of each table gets an id past the copied ones (PostgreSQL's sequences were set)
        from vmeeting.registry.models import AdminUnit

        largest = db.session.scalar(sa.select(sa.func.max(AdminUnit.id)))
        unit = AdminUnit(code="CHEP1", name="Xã Sau Khi Chép", kind="xã", level="commune")
        db.session.add(unit)
        db.session.commit()
        assert unit.id == largest + 1
        target_engine.dispose()


def test_copy_to_refuses_a_database_that_holds_rows(app, runner, sites, other_backend):
    db.session.commit()
    assert runner.invoke(args=["db", "copy-to", other_backend]).exit_code == 0
    target = create_app(TestingConfig, {"SQLALCHEMY_DATABASE_URI": other_backend})
    with target.app_context():
        before = _rows(db.engine)
        db.engine.dispose()

    result = runner.invoke(args=["db", "copy-to", other_backend])
    assert result.exit_code != 0
    assert "not empty" in result.output and "units" in result.output
    with target.app_context():
        assert _rows(db.engine) == before
        db.engine.dispose()


def test_copy_to_refuses_an_address_that_is_not_a_database(app, runner):
    result = runner.invoke(args=["db", "copy-to", "not a url"])
    assert result.exit_code != 0
    assert "not a database URL" in result.output
    assert "Traceback" not in result.output
