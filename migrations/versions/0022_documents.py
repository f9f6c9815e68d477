"""documents: a meeting's basis document, its giấy mời (draft settings, then iOffice's number), office templates

The giấy mời (Nghị định 30/2020/NĐ-CP, Phụ lục I) is drafted from the booking;
the numbered, signed original stays in iOffice, whose number and date (and the
signed PDF) the clerk records here so that the invites quote it. An office may
upload its own Word template; the latest active one is used.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-07 16:40:00

"""
import sqlalchemy as sa
from alembic import op

from vmeeting.core.database import UTCDateTime


# revision identifiers, used by Alembic.
revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table("letter_templates",
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("filename", sa.String(length=200), nullable=False),
    sa.Column("content", sa.LargeBinary(), nullable=False),
    sa.Column("uploaded_by_id", sa.Integer(), nullable=True),
    sa.Column("uploaded_at", UTCDateTime(), nullable=False),
    sa.Column("is_active", sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(["uploaded_by_id"], ["users.id"], name=op.f("fk_letter_templates_uploaded_by_id_users")),
    sa.PrimaryKeyConstraint("id", name=op.f("pk_letter_templates"))
    )
    op.create_table("basis_documents",
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("meeting_id", sa.Integer(), nullable=False),
    sa.Column("number", sa.String(length=100), nullable=False),
    sa.Column("issued_on", sa.Date(), nullable=False),
    sa.Column("issuer", sa.String(length=300), nullable=False),
    sa.Column("summary", sa.String(length=1000), nullable=False),
    sa.Column("source", sa.String(length=10), nullable=False),
    sa.Column("pdf", sa.LargeBinary(), nullable=True),
    sa.Column("pdf_name", sa.String(length=200), nullable=True),
    sa.Column("updated_by_id", sa.Integer(), nullable=True),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
    sa.CheckConstraint("source IN ('typed', 'edxml')", name=op.f("ck_basis_documents_source")),
    sa.ForeignKeyConstraint(["meeting_id"], ["meetings.id"], name=op.f("fk_basis_documents_meeting_id_meetings"), ondelete="CASCADE"),
    sa.ForeignKeyConstraint(["updated_by_id"], ["users.id"], name=op.f("fk_basis_documents_updated_by_id_users")),
    sa.PrimaryKeyConstraint("id", name=op.f("pk_basis_documents")),
    sa.UniqueConstraint("meeting_id", name=op.f("uq_basis_documents_meeting_id"))
    )
    op.create_table("invitation_letters",
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("meeting_id", sa.Integer(), nullable=False),
    sa.Column("parent_body", sa.String(length=300), nullable=False),
    sa.Column("issuing_body", sa.String(length=300), nullable=False),
    sa.Column("notation", sa.String(length=40), nullable=False),
    sa.Column("chair_person", sa.String(length=500), nullable=False),
    sa.Column("attendees_province", sa.Text(), nullable=False),
    sa.Column("attendees_district", sa.Text(), nullable=False),
    sa.Column("attendees_commune", sa.Text(), nullable=False),
    sa.Column("technical_contact", sa.String(length=500), nullable=False),
    sa.Column("signer_authority", sa.String(length=200), nullable=False),
    sa.Column("signer_title", sa.String(length=200), nullable=False),
    sa.Column("signer_name", sa.String(length=200), nullable=False),
    sa.Column("recipients", sa.Text(), nullable=False),
    sa.Column("issued_number", sa.String(length=100), nullable=True),
    sa.Column("issued_on", sa.Date(), nullable=True),
    sa.Column("signed_pdf", sa.LargeBinary(), nullable=True),
    sa.Column("signed_pdf_name", sa.String(length=200), nullable=True),
    sa.Column("is_pdf_attached", sa.Boolean(), nullable=False),
    sa.Column("issued_by_id", sa.Integer(), nullable=True),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(["issued_by_id"], ["users.id"], name=op.f("fk_invitation_letters_issued_by_id_users")),
    sa.ForeignKeyConstraint(["meeting_id"], ["meetings.id"], name=op.f("fk_invitation_letters_meeting_id_meetings"), ondelete="CASCADE"),
    sa.PrimaryKeyConstraint("id", name=op.f("pk_invitation_letters")),
    sa.UniqueConstraint("meeting_id", name=op.f("uq_invitation_letters_meeting_id"))
    )


def downgrade():
    op.drop_table("invitation_letters")
    op.drop_table("basis_documents")
    op.drop_table("letter_templates")
