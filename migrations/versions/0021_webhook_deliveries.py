"""webhook_deliveries: each outbox mail repeated as a signed JSON POST to WEBHOOK_URL

An SMS brandname or Zalo ZNS gateway of the province takes the notices from a
webhook: one row per mail, delivered with the mail's own retries and claims.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-07 17:40:00

"""
import sqlalchemy as sa
from alembic import op

from vmeeting.core.database import UTCDateTime


# revision identifiers, used by Alembic.
revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("mail_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("attempt_count", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UTCDateTime(), nullable=False),
        sa.Column("claimed_by", sa.String(length=200), nullable=True),
        sa.Column("claimed_at", UTCDateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("sent_at", UTCDateTime(), nullable=True),
        sa.CheckConstraint("status IN ('pending', 'sent', 'failed', 'superseded')",
                           name=op.f("ck_webhook_deliveries_status")),
        sa.ForeignKeyConstraint(["mail_id"], ["outbox_mails.id"],
                                name=op.f("fk_webhook_deliveries_mail_id_outbox_mails"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_deliveries")),
        sa.UniqueConstraint("mail_id", name=op.f("uq_webhook_deliveries_mail_id")),
    )
    op.create_index("ix_webhook_deliveries_due", "webhook_deliveries", ["status", "next_attempt_at"])


def downgrade():
    op.drop_index("ix_webhook_deliveries_due", table_name="webhook_deliveries")
    op.drop_table("webhook_deliveries")
