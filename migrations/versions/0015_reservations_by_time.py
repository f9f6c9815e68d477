"""reservations: an index by time, for the overlap and slot queries of many sites at once

A booking or a slot search of thousands of sites reads every reservation in a
stretch of time: by (endpoint_id, busy_from) that is one index descent per
site; by (busy_from, busy_until, endpoint_id) it is one range scan whose rows
carry the endpoint, whatever the number of sites. The rows of one booking share
their busy_from, so they land together in this index and cost little to write.

Revision ID: 0015
Revises: 0013
Create Date: 2026-11-30 09:30:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_reservations_busy", "reservations", ["busy_from", "busy_until", "endpoint_id"])


def downgrade():
    op.drop_index("ix_reservations_busy", table_name="reservations")
