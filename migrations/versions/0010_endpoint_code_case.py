"""endpoints: codes unique without regard to case (a unique index on lower(code))

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30 06:40:00.000000

Codes that already differ only in case (`ls-178` beside `LS-178`) name two
rows that may each hold meetings and history: which one is the real site is
a person's decision, not the migration's. The upgrade then stops, changes
nothing, and lists them with the statement that renames one.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade():
    rows = op.get_bind().execute(sa.text(
        "SELECT id, code, name FROM endpoints WHERE lower(code) IN"
        " (SELECT lower(code) FROM endpoints GROUP BY lower(code) HAVING count(*) > 1)"
        " ORDER BY lower(code), id"
    )).all()
    if rows:
        listed = "\n".join(f"  id {id_}: {code!r} ({name})" for id_, code, name in rows)
        raise RuntimeError(
            "Mã điểm cầu trùng nhau nếu không phân biệt chữ hoa, thường; không nâng cấp được cho tới khi đổi mã"
            " của một trong mỗi nhóm (Endpoint codes equal without regard to case; rename one of each group,"
            f" e.g. UPDATE endpoints SET code = 'LS-178-B' WHERE id = ...; then upgrade again):\n{listed}"
        )
    op.create_index("uq_endpoints_code_lower", "endpoints", [sa.text("lower(code)")], unique=True)


def downgrade():
    op.drop_index("uq_endpoints_code_lower", table_name="endpoints")
