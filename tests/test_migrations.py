"""The schema comes only from the migrations, and they agree with the models."""

import warnings

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from vmeeting.extensions import db


def test_models_and_migrations_agree(app):
    with db.engine.connect() as conn, warnings.catch_warnings():
        # SQLite's reflection cannot read an index on an expression (lower(code)); PostgreSQL's can,
        # and tests/registry/test_codes.py shows the index at work on both.
        warnings.filterwarnings("ignore", "Skipped unsupported reflection of expression-based index")
        warnings.filterwarnings("ignore", "autogenerate skipping metadata-specified expression-based index")
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        differences = compare_metadata(context, db.metadata)
    assert differences == [], f"models differ from migrations; run `flask db migrate`: {differences}"


def test_migrations_are_at_head(app):
    from alembic.script import ScriptDirectory
    from flask_migrate import Migrate

    config = app.extensions["migrate"].migrate.get_config(app.extensions["migrate"].directory)
    heads = ScriptDirectory.from_config(config).get_heads()
    with db.engine.connect() as conn:
        current = MigrationContext.configure(conn).get_current_heads()
    assert set(current) == set(heads)
    assert Migrate


def test_plain_outbox_mails_migrate_down_and_up(app):
    """0006 lets an outbox row go without an iTIP method; going back drops those rows and keeps the invites."""
    import sqlalchemy as sa
    from flask_migrate import downgrade, upgrade

    rows = [{"key": "invite", "method": "REQUEST"}, {"key": "plain", "method": None}]
    columns = ("recipient, recipient_name, sequence, subject, message, status, attempt_count, next_attempt_at,"
               " last_error, created_at")
    with db.engine.begin() as conn:
        for row in rows:
            conn.execute(sa.text(f'INSERT INTO outbox_mails ("key", method, {columns}) VALUES (:key, :method,'
                                 " 'a@b.vn', '', 0, 's', 'm', 'pending', 0, :now, '', :now)"),
                         {**row, "now": "2026-01-01 00:00:00"})
    db.session.remove()
    try:
        downgrade(revision="0005")
        with db.engine.connect() as conn:
            assert conn.execute(sa.text('SELECT "key" FROM outbox_mails')).scalars().all() == ["invite"]
    finally:
        upgrade()
    method = next(c for c in sa.inspect(db.engine).get_columns("outbox_mails") if c["name"] == "method")
    assert method["nullable"] is True
