"""working calendar: declared days off and working days; the reason a meeting or a sitting was cancelled

Revision ID: 0011
Revises: 0006
Create Date: 2026-11-30 06:30:00

"""
from alembic import op
import sqlalchemy as sa

from vmeeting.core.database import UTCDateTime


# revision identifiers, used by Alembic.
revision = "0011"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "declared_days",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint("kind IN ('day_off', 'working_day')", name=op.f("ck_declared_days_kind")),
        sa.ForeignKeyConstraint(["created_by_id"], ["users.id"], name=op.f("fk_declared_days_created_by_id_users")),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_declared_days")),
    )
    with op.batch_alter_table("meetings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("cancel_reason", sa.String(length=500), nullable=True))
    with op.batch_alter_table("occurrences", schema=None) as batch_op:
        batch_op.add_column(sa.Column("cancel_reason", sa.String(length=500), nullable=True))


def downgrade():
    with op.batch_alter_table("occurrences", schema=None) as batch_op:
        batch_op.drop_column("cancel_reason")
    with op.batch_alter_table("meetings", schema=None) as batch_op:
        batch_op.drop_column("cancel_reason")
    op.drop_table("declared_days")
