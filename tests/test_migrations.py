"""The schema comes only from the migrations, and they agree with the models."""

import warnings

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from tests.booking.conftest import book, sites  # noqa: F401 (fixtures reused here)
from vmeeting.core.extensions import db


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


def test_agency_and_tentative_answers_migrate_down_and_up(app, book, sites, make_user):
    """0008 adds users' agency and answers that are TENTATIVE or come by mail; going back drops the tentative ones."""
    import sqlalchemy as sa
    from alembic.script import ScriptDirectory
    from flask_migrate import downgrade, upgrade

    from tests.booking.conftest import next_monday

    make_user("scheduler", username="vp", agency="Văn phòng UBND tỉnh Lạng Sơn")
    meeting = book([sites["hall"], sites["communes"][0]], next_monday())
    with db.engine.begin() as conn:
        for email, partstat in (("a@langson.gov.vn", "ACCEPTED"), ("b@langson.gov.vn", "TENTATIVE")):
            conn.execute(sa.text("INSERT INTO invite_responses (meeting_id, email, partstat, comment, sequence,"
                                 " responded_at, source) VALUES (:m, :e, :p, '', 0, :now, 'mail')"),
                         {"m": meeting.id, "e": email, "p": partstat, "now": "2026-01-01 00:00:00"})
    db.session.remove()
    config = app.extensions["migrate"].migrate.get_config(app.extensions["migrate"].directory)
    before = ScriptDirectory.from_config(config).get_revision("0008").down_revision
    try:
        downgrade(revision=before)
        with db.engine.connect() as conn:
            assert conn.execute(sa.text("SELECT partstat FROM invite_responses")).scalars().all() == ["ACCEPTED"]
        assert "agency" not in {c["name"] for c in sa.inspect(db.engine).get_columns("users")}
    finally:
        upgrade()
    with db.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT source FROM invite_responses")).scalars().all() == ["link"]
        assert conn.execute(sa.text("SELECT agency FROM users")).scalars().all() == [""]


def test_the_overlap_rule_migrates_down_and_up(app):
    """0017 trades PostgreSQL's GiST exclusion constraint for a statement-level trigger; going back restores it."""
    import sqlalchemy as sa
    from flask_migrate import downgrade, upgrade

    def rule():
        if db.engine.dialect.name != "postgresql":
            return None
        with db.engine.connect() as conn:
            kinds = conn.execute(sa.text("SELECT contype FROM pg_constraint WHERE conname = 'reservations_no_overlap'"))
            triggers = conn.execute(sa.text("SELECT tgname FROM pg_trigger WHERE tgname LIKE 'reservations_no_overlap%'"
                                            " ORDER BY tgname"))
            return kinds.scalars().all(), triggers.scalars().all()

    db.session.remove()
    after = rule()
    try:
        downgrade(revision="0016")
        assert rule() in (None, (["x"], []))
    finally:
        upgrade()
    assert rule() == after
    assert after in (None, ([], ["reservations_no_overlap_insert", "reservations_no_overlap_update"]))
