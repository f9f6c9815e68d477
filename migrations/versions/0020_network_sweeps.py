"""network_sweeps: one row per sweep of every site, with its start, end and findings

The sweep's duration was known only inside the worker that ran it; `/metrics`
is served by the web processes. Each sweep now records when it started and
ended, how many sites it probed, how many answered, went down and came back,
in the transaction that writes its results; the records are kept a week.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07 17:00:00

"""
import sqlalchemy as sa
from alembic import op

from vmeeting.core.database import UTCDateTime


# revision identifiers, used by Alembic.
revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "network_sweeps",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("finished_at", UTCDateTime(), nullable=False),
        sa.Column("probed", sa.Integer(), nullable=False),
        sa.Column("unprobed", sa.Integer(), nullable=False),
        sa.Column("answered", sa.Integer(), nullable=False),
        sa.Column("went_down", sa.Integer(), nullable=False),
        sa.Column("came_up", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_network_sweeps")),
    )
    op.create_index(op.f("ix_network_sweeps_finished_at"), "network_sweeps", ["finished_at"])


def downgrade():
    op.drop_index(op.f("ix_network_sweeps_finished_at"), table_name="network_sweeps")
    op.drop_table("network_sweeps")
