"""users.home_unit_id: the administrative unit a user works for

Lạng Sơn's 2025 reorganisation (issue 26) left users without a place in the tree: a
commune's clerk or a district's technician is now attached to a unit valid today, the
basis on which scopes and approvals (issue 27) are built. Nullable: the province
office's users, and every user of a database upgraded from 0019, have none.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-07 17:00:00

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("home_unit_id", sa.Integer(), nullable=True))
        batch.create_index(batch.f("ix_users_home_unit_id"), ["home_unit_id"])
        batch.create_foreign_key(batch.f("fk_users_home_unit_id_admin_units"), "admin_units", ["home_unit_id"], ["id"])


def downgrade():
    with op.batch_alter_table("users") as batch:
        batch.drop_constraint(batch.f("fk_users_home_unit_id_admin_units"), type_="foreignkey")
        batch.drop_index(batch.f("ix_users_home_unit_id"))
        batch.drop_column("home_unit_id")
