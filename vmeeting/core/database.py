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
#: set for requests that only read (READ_METHODS): a statement that writes is refused (WriteInRead)
read_only = contextvars.ContextVar("read_only", default=False)

#: the HTTP methods that must not change anything (RFC 9110 section 9.2.1, "safe methods"); every other one
#: is taken to write, and its transaction takes SQLite's write lock at BEGIN
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
#: the first words of the SQL statements that write (SQLite and PostgreSQL)
_WRITING_WORDS = frozenset({"INSERT", "UPDATE", "DELETE", "REPLACE", "MERGE", "UPSERT"})


class WriteInRead(RuntimeError):
    """A request that only reads (GET, HEAD, OPTIONS) sent a statement that writes in a transaction begun as a read.

    A programming error, refused before the database sees it: on SQLite its
    transaction began as a read, and a read cannot become a write once another
    connection has written ("database is locked" at once, whatever the busy
    timeout), so it would fail only under load. Record what a read must record
    in a short writer of its own (`writing()` on another connection; see
    auth.service.record_token_use).
    """


@contextmanager
def writing():
    """Start every transaction begun inside the block with SQLite's write lock (BEGIN IMMEDIATE).

    A deferred BEGIN that reads and then writes cannot wait for the lock: when
    another connection committed after its read, SQLite refuses the upgrade at
    once ("database is locked", SQLITE_BUSY_SNAPSHOT) whatever the busy timeout.
    Taken up front, the lock is waited for (busy_timeout) and never refused
    midway. Web requests that change data get this from their HTTP method
    (`init_app`); the worker runs every tick and lease renewal inside this
    block, the CLI every command that writes. Inside a read request it marks a
    short writer of its own (on another connection) as allowed to write. Takes
    no lock on PostgreSQL, whose row locks need nothing of the kind.
    """
    token = write_intent.set(True)
    try:
        yield
    finally:
        write_intent.reset(token)


def init_app(app):
    """Install the database rules of DESIGN.md ("The embedded database") on app's engine and requests.

    Every request that is not a read (READ_METHODS) writes: on SQLite its
    transaction takes the write lock at BEGIN and waits for it within the busy
    timeout. A read request never writes: a statement that would is refused
    with WriteInRead, on every database, unless its transaction began inside
    `writing()` (a short writer of its own, on another connection).
    """
    with app.app_context():
        engine = db.engine
    enable_sqlite_pragmas(engine)

    @sa.event.listens_for(engine, "begin")
    def _note_intent(conn):
        conn.info["began_writing"] = write_intent.get()

    @sa.event.listens_for(engine, "before_cursor_execute")
    def _refuse_writes_in_reads(conn, _cursor, statement, _parameters, context, _executemany):
        if read_only.get() and not conn.info.get("began_writing") and _writes(statement, context):
            raise WriteInRead(f"{request.method} {request.path} would write: {statement[:200]}")

    @app.before_request
    def _mark_intent():
        writes = request.method not in READ_METHODS
        write_intent.set(writes)
        read_only.set(not writes)

    @app.teardown_request
    def _forget_intent(_exc):
        # A thread serves more than its request (a worker thread, a test calling the app):
        # what follows must neither take the write lock at every BEGIN nor be refused its writes.
        write_intent.set(False)
        read_only.set(False)


def began_writing(session):
    """Tell whether the session's transaction began inside `writing()` (on SQLite: it holds the write lock).

    Begins the session's transaction if none is under way (then as `write_intent` says).
    """
    return bool(session.connection().info.get("began_writing"))


def _writes(statement, context):
    """Tell whether a statement about to be sent changes data (DML compiled or written as text)."""
    if context is not None and (context.isinsert or context.isupdate or context.isdelete):
        return True
    words = statement.lstrip(" \t\n(").split(None, 1)
    return bool(words) and words[0].upper() in _WRITING_WORDS


def enable_sqlite_pragmas(engine):
    """Give a SQLite engine foreign keys, WAL, a busy timeout and BEGIN IMMEDIATE under `writing()`.

    Does nothing to another database.
    """
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


# -- sets of ids and bulk rows at national scale ---------------------------------------------
#
# A national meeting names 10,000 sites. Written as `IN (:id_1, ..., :id_10000)` every query
# carries 10,000 parameters that SQLAlchemy renders and the driver parses one by one (most of a
# second in all); a booking's rows sent one INSERT each cost a round of the server's work each.
# These helpers send one parameter, an array (PostgreSQL) or a JSON list (SQLite), instead.


def one_of(column, ids, bind):
    """Return `column IN ids` with ids bound as one parameter, whatever their number.

    ids: integers; bind: the session's engine or connection (its dialect picks
    the form): PostgreSQL `column IN (SELECT unnest(:ids))`, SQLite `column IN
    (SELECT value FROM json_each(:ids))`. Both are semi-joins, which the planner
    hashes: `column = ANY(:ids)` was hashed only while the array was a constant of
    the plan, and psycopg prepares a statement from its fifth run on, whose
    generic plan then compared each row with the array one element at a time
    (2,138 sites: 12 ms, then 800 ms from the fifth slot search on; the cost grew
    with rows × ids, issue 24).
    """
    ids = [int(i) for i in ids]
    if bind.dialect.name == "postgresql":
        return column.in_(sa.select(sa.func.unnest(_int_array(ids))))
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
