"""Column types and helpers shared by every capability's models."""

import contextvars
import json
from contextlib import contextmanager
from datetime import datetime, timezone

import sqlalchemy as sa
from flask import request
from sqlalchemy.dialects import postgresql
from sqlalchemy.types import TypeDecorator

from vmeeting.core.extensions import db


#: the largest id a row can have (32-bit on PostgreSQL); a bigger number must not reach a query
MAX_ID = 2**31 - 1


def utcnow():
    """Return the current instant, timezone-aware, in UTC."""
    return datetime.now(timezone.utc)


class UTCDateTime(TypeDecorator):
    """An instant: refuses naive datetimes, stores UTC, reads back aware UTC.

    PostgreSQL keeps the zone itself (timestamptz); SQLite keeps text, so the
    value is normalised to UTC on the way in and marked UTC on the way out.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: instants must carry a zone")
        value = value.astimezone(timezone.utc)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


#: set for requests that change data: SQLite then starts their transaction with
#: BEGIN IMMEDIATE, so a check and the insert it guards run under one write lock
write_intent = contextvars.ContextVar("write_intent", default=False)


@contextmanager
def writing():
    """Start every transaction begun inside the block with SQLite's write lock (BEGIN IMMEDIATE).

    A deferred BEGIN that reads and then writes cannot wait for the lock: when
    another connection committed after its read, SQLite refuses the upgrade at
    once ("database is locked", SQLITE_BUSY_SNAPSHOT) whatever the busy timeout.
    Taken up front, the lock is waited for (busy_timeout) and never refused
    midway. Web requests that change data get this from `_mark_write_intent`;
    the worker runs every tick and lease renewal inside this block. A no-op on
    PostgreSQL, whose row locks need nothing of the kind.
    """
    token = write_intent.set(True)
    try:
        yield
    finally:
        write_intent.reset(token)


def enable_sqlite_pragmas(app):
    """Give SQLite foreign keys, WAL, a busy timeout and serialized write transactions."""
    with app.app_context():
        engine = db.engine
    if engine.dialect.name != "sqlite":
        return

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        # Take transaction control from pysqlite, so that BEGIN is ours to emit.
        dbapi_connection.isolation_level = None
        dbapi_connection.execute("PRAGMA foreign_keys=ON")
        dbapi_connection.execute("PRAGMA busy_timeout=30000")
        if engine.url.database not in (None, "", ":memory:"):
            dbapi_connection.execute("PRAGMA journal_mode=WAL")

    @sa.event.listens_for(engine, "begin")
    def _on_begin(conn):
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write_intent.get() else "BEGIN")

    @app.before_request
    def _mark_write_intent():
        write_intent.set(request.method not in ("GET", "HEAD", "OPTIONS"))

    @app.teardown_request
    def _forget_write_intent(_exc):
        # A thread serves more than its request (a worker thread, a test calling the app):
        # what follows must not take the write lock at every BEGIN.
        write_intent.set(False)


# -- sets of ids and bulk rows at national scale ---------------------------------------------
#
# A national meeting names 10,000 sites. Written as `IN (:id_1, ..., :id_10000)` every query
# carries 10,000 parameters that SQLAlchemy renders and the driver parses one by one (most of a
# second in all); a booking's rows sent one INSERT each cost a round of the server's work each.
# These helpers send one parameter, an array (PostgreSQL) or a JSON list (SQLite), instead.


def one_of(column, ids, bind):
    """Return `column IN ids` with ids bound as one parameter, whatever their number.

    ids: integers; bind: the session's engine or connection (its dialect picks
    the form): PostgreSQL `column = ANY(:ids)`, SQLite `column IN (SELECT value
    FROM json_each(:ids))`.
    """
    ids = [int(i) for i in ids]
    if bind.dialect.name == "postgresql":
        return column == sa.any_(_int_array(ids))
    values = sa.func.json_each(sa.bindparam(None, json.dumps(ids), type_=sa.String, unique=True)).table_valued("value")
    return column.in_(sa.select(values.c.value))


def _int_array(values):
    """An integer[] parameter sent as its text, '{1,2,NULL}': PostgreSQL reads 10,000 of them in C, where the
    driver adapts a Python list element by element (about 10 ms each time at national scale)."""
    text = "{" + ",".join("NULL" if v is None else str(int(v)) for v in values) + "}"
    return sa.cast(sa.bindparam(None, text, type_=sa.Text, unique=True), postgresql.ARRAY(sa.Integer))


def insert_rows(session, table, rows):
    """Insert rows (dicts with the same keys) into table in one statement on PostgreSQL.

    PostgreSQL: `INSERT ... SELECT ... FROM unnest(:col1, :col2, ...)`, one
    array per column whose values differ and one plain parameter for a column
    with one value in every row (a sitting's busy interval), so 10,000 rows are
    one statement and one round trip; the table's constraints (the
    reservations' overlap trigger, once per statement) judge them as usual. SQLite, in
    process: executemany. Raises what the insert raises (IntegrityError).
    """
    if not rows:
        return
    names = list(rows[0])
    if session.get_bind().dialect.name != "postgresql":
        session.execute(sa.insert(table), rows)
        return
    varying, constant = {}, {}
    for name in names:
        values = [row[name] for row in rows]
        if len(rows) > 1 and all(value == values[0] for value in values):
            constant[name] = sa.bindparam(None, values[0], type_=table.c[name].type, unique=True)
        elif isinstance(table.c[name].type, sa.Integer) and all(v is None or type(v) is int for v in values):
            varying[name] = _int_array(values)
        else:
            varying[name] = sa.bindparam(None, values, type_=postgresql.ARRAY(table.c[name].type), unique=True)
    if not varying:  # the same row many times: let the database refuse it as it would the copies
        varying[names[0]] = sa.bindparam(None, [rows[0][names[0]]] * len(rows),
                                         type_=postgresql.ARRAY(table.c[names[0]].type), unique=True)
        del constant[names[0]]
    unnested = sa.func.unnest(*varying.values()).table_valued(*varying).render_derived()
    source = sa.select(*[unnested.c[name] if name in varying else constant[name].label(name) for name in names])
    session.execute(sa.insert(table).from_select(names, source))
