"""reply_records: answers per sitting, delegation, refused replies, the feeds' served validator

An answer may be for one sitting of a series (a REPLY with RECURRENCE-ID) or
DELEGATED to someone else, whose own answer names who handed it on; the mails
of the organizer mailbox that changed nothing are kept with the reason for the
booker and admins; a feed remembers the ETag it last served and since when, so
its Last-Modified moves with anything it serves.

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-07 17:00:00

"""
import sqlalchemy as sa
from alembic import op

from vmeeting.core.database import UTCDateTime


# revision identifiers, used by Alembic.
revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None

#: batch mode reflects invite_responses alone: following its keys would reflect endpoints, whose
#: expression index SQLAlchemy cannot read (and warns)
NO_REFERRED = {"resolve_fks": False}


def upgrade():
    # SQLite cannot alter a check or a unique constraint: batch mode copies the table with the new ones
    with op.batch_alter_table("invite_responses", schema=None, reflect_kwargs=NO_REFERRED) as batch_op:
        batch_op.add_column(sa.Column("occurrence_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("delegated_to", sa.String(length=254), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("delegated_from", sa.String(length=254), nullable=False, server_default=""))
        batch_op.create_foreign_key(batch_op.f("fk_invite_responses_occurrence_id_occurrences"), "occurrences",
                                    ["occurrence_id"], ["id"], ondelete="CASCADE")
        batch_op.drop_constraint("uq_invite_responses_meeting_email", type_="unique")
        batch_op.drop_constraint(batch_op.f("ck_invite_responses_partstat"), type_="check")
        batch_op.create_check_constraint(batch_op.f("ck_invite_responses_partstat"),
                                         "partstat IN ('ACCEPTED', 'DECLINED', 'TENTATIVE', 'DELEGATED')")
    op.create_index("uq_invite_responses_meeting_email", "invite_responses", ["meeting_id", "email"], unique=True,
                    sqlite_where=sa.text("occurrence_id IS NULL"), postgresql_where=sa.text("occurrence_id IS NULL"))
    op.create_index("uq_invite_responses_sitting_email", "invite_responses", ["occurrence_id", "email"], unique=True,
                    sqlite_where=sa.text("occurrence_id IS NOT NULL"),
                    postgresql_where=sa.text("occurrence_id IS NOT NULL"))
    op.create_table(
        "refused_replies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("meeting_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("method", sa.String(length=20), nullable=False),
        sa.Column("sender", sa.String(length=500), nullable=False),
        sa.Column("attendee", sa.String(length=254), nullable=False),
        sa.Column("subject", sa.String(length=400), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("reason_params", sa.JSON(), nullable=True),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint("kind IN ('rejected', 'unusable')", name=op.f("ck_refused_replies_kind")),
        sa.ForeignKeyConstraint(["meeting_id"], ["meetings.id"], name=op.f("fk_refused_replies_meeting_id_meetings"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_refused_replies")),
        sa.UniqueConstraint("key", name=op.f("uq_refused_replies_key")),
    )
    op.create_index(op.f("ix_refused_replies_meeting_id"), "refused_replies", ["meeting_id"])
    # plain ADD COLUMN (no batch copy of the table: SQLite adds a nullable column in place)
    op.add_column("calendar_feeds", sa.Column("served_etag", sa.String(length=40), nullable=True))
    op.add_column("calendar_feeds", sa.Column("served_since", UTCDateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table("calendar_feeds", schema=None, reflect_kwargs=NO_REFERRED) as batch_op:
        batch_op.drop_column("served_since")
        batch_op.drop_column("served_etag")
    op.drop_index(op.f("ix_refused_replies_meeting_id"), table_name="refused_replies")
    op.drop_table("refused_replies")
    # the older schema keeps one answer per person: answers to single sittings and delegations go
    op.execute("DELETE FROM invite_responses WHERE occurrence_id IS NOT NULL OR partstat = 'DELEGATED'"
               " OR delegated_from <> ''")
    op.drop_index("uq_invite_responses_sitting_email", table_name="invite_responses")
    op.drop_index("uq_invite_responses_meeting_email", table_name="invite_responses")
    with op.batch_alter_table("invite_responses", schema=None, reflect_kwargs=NO_REFERRED) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_invite_responses_partstat"), type_="check")
        batch_op.create_check_constraint(batch_op.f("ck_invite_responses_partstat"),
                                         "partstat IN ('ACCEPTED', 'DECLINED', 'TENTATIVE')")
        batch_op.create_unique_constraint("uq_invite_responses_meeting_email", ["meeting_id", "email"])
        batch_op.drop_constraint(batch_op.f("fk_invite_responses_occurrence_id_occurrences"), type_="foreignkey")
        batch_op.drop_column("delegated_from")
        batch_op.drop_column("delegated_to")
        batch_op.drop_column("occurrence_id")
