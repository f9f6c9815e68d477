"""`GET /readyz`: whether this process may take traffic (CONTRACT.md, "Coming with the open issues").

`/healthz` (home) tells that the app and its database answer; `/readyz` also
tells a load balancer that the schema is the one the code expects: the
database's Alembic revisions are the migrations' heads. No sign-in: it shows
no data, only `{"status": "ok"}` or 503 with a short reason.
"""

import sqlalchemy as sa
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Blueprint, current_app, jsonify

from vmeeting.core.extensions import db

bp = Blueprint("ops_health", __name__)


def migration_heads(app):
    """The migrations' head revisions (a frozenset of str), read from migrations/ once per app."""
    heads = app.extensions.get("ops_migration_heads")
    if heads is None:
        migrate = app.extensions["migrate"]
        config = migrate.migrate.get_config(migrate.directory)
        heads = app.extensions["ops_migration_heads"] = frozenset(ScriptDirectory.from_config(config).get_heads())
    return heads


def database_revisions(connection):
    """The revisions the database is at (a frozenset of str; empty for a database never migrated)."""
    return frozenset(MigrationContext.configure(connection).get_current_heads())


@bp.get("/readyz")
def readyz():
    """200 `{"status": "ok"}` when the database answers and its migrations are at head; else 503 with the reason.

    Reasons: `database_unreachable`, `migrations_behind` (with `database` and
    `code` revisions). One connection and one query of alembic_version.
    """
    heads = migration_heads(current_app)
    try:
        with db.engine.connect() as connection:
            current = database_revisions(connection)
    except sa.exc.SQLAlchemyError:
        return jsonify({"status": "error", "reason": "database_unreachable"}), 503
    if current != heads:
        return jsonify({"status": "error", "reason": "migrations_behind",
                        "database": sorted(current), "code": sorted(heads)}), 503
    return jsonify({"status": "ok"})
