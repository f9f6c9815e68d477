"""approvals: users.approves, meetings.status pending, the approvals table

Issue 27: a booking that names sites outside the booker's scope is pending until each
owning unit approves it; a user with `approves` answers for their home unit and the units
under it. One row per (meeting, approving unit).

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-07 20:00:00

"""
import sqlalchemy as sa
from alembic import op

from vmeeting.core.database import UTCDateTime


# revision identifiers, used by Alembic.
revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None

#: batch mode reflects the altered table alone (endpoints' expression index cannot be reflected)
NO_REFERRED = {"resolve_fks": False}


def _meeting_statuses(old, new):
    """Change the CHECK of meetings.status from `status IN old` to `status IN new`.

    PostgreSQL: drop and add the constraint. SQLite cannot alter a CHECK, and batch mode's copy of
    meetings would drop the old table, whose implicit DELETE cascades to occurrences, reservations,
    answers… (foreign keys are on). SQLite's own procedure for a changed CHECK is used instead
    (https://www.sqlite.org/lang_altertable.html, "Making Other Kinds Of Table Schema Changes"): the
    table's stored CREATE statement is edited, the schema version bumped, and the rows checked.
    """
    if op.get_bind().dialect.name != "sqlite":
        op.drop_constraint(op.f("ck_meetings_status"), "meetings", type_="check")
        op.create_check_constraint(op.f("ck_meetings_status"), "meetings", f"status IN {new}")
        return
    bind = op.get_bind()
    version = bind.exec_driver_sql("PRAGMA schema_version").scalar()
    bind.exec_driver_sql("PRAGMA writable_schema=ON")
    bind.exec_driver_sql("UPDATE sqlite_master SET sql = replace(sql, ?, ?) WHERE type = 'table' AND name = 'meetings'",
                         (f"status IN {old}", f"status IN {new}"))
    stored = bind.exec_driver_sql("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'meetings'").scalar()
    if f"status IN {new}" not in stored:  # the CHECK was not written as expected: change nothing
        bind.exec_driver_sql("PRAGMA writable_schema=OFF")
        raise RuntimeError(f"meetings' CHECK of status is not `status IN {old}`: {stored!r}")
    bind.exec_driver_sql(f"PRAGMA schema_version={int(version) + 1}")
    bind.exec_driver_sql("PRAGMA writable_schema=OFF")
    problems = bind.exec_driver_sql("PRAGMA integrity_check").scalars().all()
    assert problems == ["ok"], problems


def upgrade():
    with op.batch_alter_table("users", reflect_kwargs=NO_REFERRED) as batch:
        batch.add_column(sa.Column("approves", sa.Boolean(), nullable=False, server_default=sa.false()))
    _meeting_statuses("('scheduled', 'cancelled')", "('scheduled', 'pending', 'cancelled')")
    op.create_table(
        "approvals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("endpoint_ids", sa.JSON(), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("requested_by_id", sa.Integer(), nullable=True),
        sa.Column("requested_at", UTCDateTime(), nullable=False),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("decided_at", UTCDateTime(), nullable=True),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.Column("invites_sent", sa.Boolean(), nullable=False),
        sa.CheckConstraint("status IN ('pending', 'approved', 'refused')", name=op.f("ck_approvals_status")),
        sa.ForeignKeyConstraint(["meeting_id"], ["meetings.id"], name=op.f("fk_approvals_meeting_id_meetings"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["unit_id"], ["admin_units.id"], name=op.f("fk_approvals_unit_id_admin_units")),
        sa.ForeignKeyConstraint(["requested_by_id"], ["users.id"], name=op.f("fk_approvals_requested_by_id_users")),
        sa.ForeignKeyConstraint(["decided_by_id"], ["users.id"], name=op.f("fk_approvals_decided_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_approvals")),
        sa.UniqueConstraint("meeting_id", "unit_id", name="uq_approvals_meeting_unit"),
    )
    op.create_index(op.f("ix_approvals_unit_id"), "approvals", ["unit_id"])
    op.create_index("ix_approvals_status_unit", "approvals", ["status", "unit_id"])


def downgrade():
    op.drop_index("ix_approvals_status_unit", table_name="approvals")
    op.drop_index(op.f("ix_approvals_unit_id"), table_name="approvals")
    op.drop_table("approvals")
    # a pending meeting cannot stay so: it is taken as scheduled (it holds its sites as one)
    op.execute("UPDATE meetings SET status = 'scheduled' WHERE status = 'pending'")
    _meeting_statuses("('scheduled', 'pending', 'cancelled')", "('scheduled', 'cancelled')")
    with op.batch_alter_table("users", reflect_kwargs=NO_REFERRED) as batch:
        batch.drop_column("approves")
