"""booking indexes: one fewer written per reservation, one to page the meeting list in order

A national booking writes 10,000 reservations, and each paid for an index on
occurrence_id that uq_reservations_occurrence_endpoint, which leads with the
same column, already gives every query by occurrence. The meeting list, in
order of start, read and sorted every upcoming meeting of the country to show
its first page; an index on (starts_at, id) hands it the page in order.

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-30 13:30:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade():
    op.drop_index("ix_reservations_occurrence_id", table_name="reservations")
    op.create_index("ix_meetings_starts_at", "meetings", ["starts_at", "id"])


def downgrade():
    op.drop_index("ix_meetings_starts_at", table_name="meetings")
    op.create_index("ix_reservations_occurrence_id", "reservations", ["occurrence_id"])
