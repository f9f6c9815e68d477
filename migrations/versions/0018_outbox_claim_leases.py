"""outbox claims: which worker holds a mail, since when; the claim a lease that worker renews

A worker used to claim a mail by moving its next attempt ten minutes ahead: a
worker killed mid-batch left its mails waiting those ten minutes, and sent
again those the server had already accepted. A claim now names its worker
(claimed_by, claimed_at) and lasts a short lease (next_attempt_at) that the
worker renews while it works; another worker takes the mail back once the
lease has run out. The outbox page shows who holds what.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07 14:00:00

"""
import warnings
from contextlib import contextmanager

from alembic import op
import sqlalchemy as sa

import vmeeting.core.database


# revision identifiers, used by Alembic.
revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


@contextmanager
def _outbox_mails():
    # SQLite adds a column in place; batch mode reflects the tables the foreign keys reach, whose index on
    # lower(code) its reflection cannot read: a warning about a table this migration leaves alone.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Skipped unsupported reflection of expression-based index")
        with op.batch_alter_table("outbox_mails", schema=None) as batch_op:
            yield batch_op


def upgrade():
    with _outbox_mails() as batch_op:
        batch_op.add_column(sa.Column("claimed_by", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("claimed_at", vmeeting.core.database.UTCDateTime(timezone=True),
                                      nullable=True))


def downgrade():
    with _outbox_mails() as batch_op:
        batch_op.drop_column("claimed_at")
        batch_op.drop_column("claimed_by")
