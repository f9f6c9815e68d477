"""users belong to an agency (named in invites); answers may be TENTATIVE and come by mail (iTIP REPLY)

Revision ID: 0008
Revises: 0011
Create Date: 2026-11-30 06:15:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0008"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("agency", sa.String(length=200), nullable=False, server_default=""))
    # SQLite cannot alter a check: batch mode copies the table with the new one.
    with op.batch_alter_table("invite_responses", schema=None) as batch_op:
        batch_op.add_column(sa.Column("source", sa.String(length=10), nullable=False, server_default="link"))
        batch_op.drop_constraint(batch_op.f("ck_invite_responses_partstat"), type_="check")
        batch_op.create_check_constraint(batch_op.f("ck_invite_responses_partstat"),
                                         "partstat IN ('ACCEPTED', 'DECLINED', 'TENTATIVE')")
        batch_op.create_check_constraint(batch_op.f("ck_invite_responses_source"), "source IN ('link', 'mail')")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.alter_column("agency", server_default=None)
    with op.batch_alter_table("invite_responses", schema=None) as batch_op:
        batch_op.alter_column("source", server_default=None)


def downgrade():
    # The older schema knows no tentative answer: those are dropped, as if not given.
    op.execute("DELETE FROM invite_responses WHERE partstat = 'TENTATIVE'")
    with op.batch_alter_table("invite_responses", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_invite_responses_source"), type_="check")
        batch_op.drop_constraint(batch_op.f("ck_invite_responses_partstat"), type_="check")
        batch_op.create_check_constraint(batch_op.f("ck_invite_responses_partstat"),
                                         "partstat IN ('ACCEPTED', 'DECLINED')")
        batch_op.drop_column("source")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("agency")
