"""outbox: plain mails without a calendar part (the readiness escalation); method becomes optional

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25 14:02:10.118204

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade():
    # SQLite cannot alter a column: batch mode copies the table, its checks and indexes included.
    with op.batch_alter_table("outbox_mails", schema=None) as batch_op:
        batch_op.alter_column("method", existing_type=sa.String(length=10), nullable=True)


def downgrade():
    # The older schema has no room for a mail without a calendar: plain mails go with it.
    op.execute("DELETE FROM outbox_mails WHERE method IS NULL")
    with op.batch_alter_table("outbox_mails", schema=None) as batch_op:
        batch_op.alter_column("method", existing_type=sa.String(length=10), nullable=False)
