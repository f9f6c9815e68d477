"""meeting_priority: a meeting's priority class (central, province, local, internal)

A booking of a higher class may displace the sittings of lower classes, when asked to
explicitly (issue 27, booking.priority). Existing meetings are `local`, the default.

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-07 20:00:00

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None


def upgrade():
    # plain ADD COLUMN with its check, no batch copy of the table: on SQLite (foreign keys on) dropping the old
    # meetings table would delete every sitting, reservation and answer that hangs on it
    op.add_column("meetings", sa.Column(
        "priority", sa.String(length=20), sa.CheckConstraint("priority IN ('central', 'province', 'local', 'internal')",
                                                             name=op.f("ck_meetings_priority")),
        nullable=False, server_default="local"))


def downgrade():
    # the check belongs to the column: SQLite's DROP COLUMN and PostgreSQL's drop it with the column
    op.drop_column("meetings", "priority")
