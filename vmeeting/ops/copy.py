"""`flask db copy-to URL`: move an installation's data to another database (CONTRACT.md, "CLI").

An office that started on `make run`'s SQLite moves to PostgreSQL with one
command, and back when a test needs it: every table of the models is copied
row for row with its ids, in one transaction on the target, and PostgreSQL's
sequences are set past the largest id so the next row does not collide. The
target is migrated to head first when it is not there yet; it must be empty.
"""

import click
import sqlalchemy as sa
from flask import current_app
from flask.cli import with_appcontext

from vmeeting.core.extensions import db
from vmeeting.ops.health import database_revisions, migration_heads

#: rows read and written at a time
BATCH_ROWS = 1000
#: Alembic's own table, which the target's migration fills
ALEMBIC_TABLE = "alembic_version"


class CopyRefused(click.ClickException):
    """The copy did not start (the source or the target is not fit); nothing was written."""


def copy_database(source_engine, target_engine, metadata):
    """Copy every table of metadata from source_engine into target_engine's empty tables, ids kept.

    Both databases must be at the migrations' head. Tables go in dependency
    order, rows in primary-key order, in one transaction on the target (foreign
    keys checked at its end on SQLite; on PostgreSQL, as a superuser, triggers
    and foreign keys are left out for the copy: the rows were consistent at the
    source). Returns {table name: rows copied}. Raises CopyRefused when the
    source holds a table the models do not know or the target holds any row.
    """
    tables = metadata.sorted_tables
    known = {table.name for table in tables} | {ALEMBIC_TABLE}
    unknown = sorted(set(sa.inspect(source_engine).get_table_names()) - known)
    if unknown:
        raise CopyRefused(f"the source has tables the models do not know: {', '.join(unknown)}; "
                          "upgrade the code to the version that made them")
    with target_engine.connect() as conn:
        filled = [table.name for table in tables
                  if conn.execute(sa.select(sa.literal(1)).select_from(table).limit(1)).first() is not None]
    if filled:
        raise CopyRefused(f"the target database is not empty (rows in {', '.join(filled[:5])}"
                          f"{'…' if len(filled) > 5 else ''}); copy only into a new, empty database")
    counts = {}
    source_options = {"isolation_level": "REPEATABLE READ"} if source_engine.dialect.name == "postgresql" else {}
    with source_engine.connect().execution_options(**source_options) as source, target_engine.begin() as target:
        _relax_checks(target)
        for table in tables:
            counts[table.name] = _copy_table(source, target, table)
        if target.dialect.name == "postgresql":
            _set_sequences(target, tables)
    return counts


def _relax_checks(target):
    if target.dialect.name == "sqlite":
        target.exec_driver_sql("PRAGMA defer_foreign_keys = ON")
    elif target.dialect.name == "postgresql" and target.exec_driver_sql("SHOW is_superuser").scalar() == "on":
        target.exec_driver_sql("SET LOCAL session_replication_role = replica")


def _copy_table(source, target, table):
    query = sa.select(table).order_by(*table.primary_key.columns)
    copied = 0
    for rows in source.execution_options(yield_per=BATCH_ROWS).execute(query).partitions():
        target.execute(table.insert(), [dict(row._mapping) for row in rows])
        copied += len(rows)
    return copied


def _set_sequences(target, tables):
    """Set each table's id sequence so that its next value is past the largest id copied."""
    for table in tables:
        for column in table.primary_key.columns:
            sequence = target.execute(sa.select(sa.func.pg_get_serial_sequence(table.name, column.name))).scalar()
            if sequence is None:
                continue
            largest = target.execute(sa.select(sa.func.max(column))).scalar()
            target.execute(sa.select(sa.func.setval(sequence, largest or 1, largest is not None)))


def _migrate_to_head(app, engine):
    """Upgrade the database of engine to the migrations' head (migrations/env.py runs on the connection given)."""
    from alembic import command

    migrate = app.extensions["migrate"]
    config = migrate.migrate.get_config(migrate.directory)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


@click.command("copy-to")
@click.argument("url")
@with_appcontext
def copy_to(url):
    """Copy every table of this database into the empty database at URL (ids and sequences kept)."""
    app = current_app._get_current_object()
    try:
        target_url = sa.make_url(url)
    except sa.exc.ArgumentError as error:
        raise CopyRefused(f"URL is not a database URL: {error}") from None
    shown = target_url.render_as_string(hide_password=True)
    heads = migration_heads(app)
    with db.engine.connect() as conn:
        if database_revisions(conn) != heads:
            raise CopyRefused("the source database is not at the migrations' head; run `flask db upgrade` first")
    target_engine = sa.create_engine(target_url)
    try:
        try:
            with target_engine.connect() as conn:
                at_head = database_revisions(conn) == heads
        except sa.exc.OperationalError as error:
            raise CopyRefused(f"cannot reach {shown}: {error.orig}") from None
        if not at_head:
            click.echo(f"Migrating {shown} to head…")
            _migrate_to_head(app, target_engine)
        counts = copy_database(db.engine, target_engine, db.metadata)
    finally:
        target_engine.dispose()
    click.echo(f"Copied {sum(counts.values())} rows of {len(counts)} tables to {shown}.")


def register(app):
    """Add `copy-to` to Flask-Migrate's `db` command group (the group is Flask-Migrate's, shared by every app)."""
    from flask_migrate.cli import db as db_group

    db_group.add_command(copy_to)
