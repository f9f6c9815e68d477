"""The demo's clerks and approvers of a few 2025 communes (issue 27), so scopes and approvals can be tried at once.

Each unit below (a xã of the 2025 tree holding a former district's hall) gets a clerk (`clerk-<slug>`,
a scheduler whose scope is that commune) and an approver (`duyet-<slug>`, a viewer who approves for it).
A clerk booking another commune's hall makes a pending booking, which that commune's approver (or, for
a unit without one, the province office: the admins) approves from **Chờ duyệt**. README lists them.
"""

import sqlalchemy as sa

from vmeeting.audit.models import AuditEvent
from vmeeting.auth import service as auth_service
from vmeeting.auth.models import User
from vmeeting.core.database import utcnow
from vmeeting.core.extensions import db
from vmeeting.registry.models import AdminUnit

CLERK_PASSWORD = "vmeeting-clerk"
APPROVER_PASSWORD = "vmeeting-duyet"
#: (slug, the unit's name in the 2025 tree, the clerk's name, the approver's name)
UNIT_USERS = (
    ("chi-lang", "Xã Chi Lăng", "Lăng Thị Huệ", "Hoàng Đức Thành"),
    ("huu-lung", "Xã Hữu Lũng", "Vi Thị Thu", "Nông Văn Khải"),
    ("loc-binh", "Xã Lộc Bình", "Chu Thị Mai", "Lộc Văn Tiến"),
)


def unit_logins():
    """Return (user name, password, role, unit name) of the clerks and approvers (for the logins' list)."""
    logins = []
    for slug, unit, _clerk, _approver in UNIT_USERS:
        logins.append((f"clerk-{slug}", CLERK_PASSWORD, "scheduler", unit))
        logins.append((f"duyet-{slug}", APPROVER_PASSWORD, "viewer", f"{unit} (duyệt)"))
    return logins


def load_unit_users(summary, mail_domain):
    """Create the clerks and approvers that are missing, attached to their 2025 unit; count them in summary.

    Written in two statements (the users, their audit events), as the rest of the demo is: the demo's load is
    held to a small number of statements (tests/test_demo.py).
    """
    names = dict(db.session.execute(sa.select(AdminUnit.name, AdminUnit.id).where(
        AdminUnit.name.in_([u[1] for u in UNIT_USERS]), AdminUnit.valid_to.is_(None))).all())
    wanted = [u for slug, *_rest in UNIT_USERS for u in (f"clerk-{slug}", f"duyet-{slug}")]
    existing = set(db.session.scalars(sa.select(User.username).where(User.username.in_(wanted))))
    hashes = {}  # scrypt costs a quarter second: each published password hashed once, and only when needed
    rows = []
    for slug, unit_name, clerk_name, approver_name in UNIT_USERS:
        unit_id = names.get(unit_name)
        if unit_id is None:
            continue
        for name, role, password, full_name, approves in (
                (f"clerk-{slug}", "scheduler", CLERK_PASSWORD, clerk_name, False),
                (f"duyet-{slug}", "viewer", APPROVER_PASSWORD, approver_name, True)):
            if name not in existing:
                if password not in hashes:
                    hashes[password] = auth_service.hash_password(password)
                rows.append({"username": name, "role": role, "email": f"{name}@{mail_domain}", "full_name": full_name,
                             "agency": f"UBND {unit_name[0].lower()}{unit_name[1:]}", "password_hash": hashes[password],
                             "is_enabled": True, "created_at": utcnow(), "home_unit_id": unit_id, "approves": approves})
    if rows:
        inserted = db.session.execute(sa.insert(User).returning(User.id, User.username), rows).all()
        db.session.execute(sa.insert(AuditEvent), [
            {"actor_id": None, "action": "create", "entity_type": "user", "entity_id": str(user_id),
             "changes": {"role": [None, next(r["role"] for r in rows if r["username"] == username)]},
             "summary": f"Tạo người dùng {username} (dữ liệu mẫu)"} for user_id, username in inserted])
    summary.created["unit users"] = len(rows)
