"""The demo's clerks and approvers of a few 2025 communes (issue 27), so scopes and approvals can be tried at once.

Each unit below (a xã of the 2025 tree holding a former district's hall) gets a clerk (`clerk-<slug>`,
a scheduler whose scope is that commune) and an approver (`duyet-<slug>`, a viewer who approves for it).
A clerk booking another commune's hall makes a pending booking, which that commune's approver (or, for
a unit without one, the province office: the admins) approves from **Chờ duyệt**. README lists them.
"""

import sqlalchemy as sa

from vmeeting.auth import service as auth_service
from vmeeting.auth.models import User
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
    """Create the clerks and approvers that are missing, attached to their 2025 unit; count them in summary."""
    names = {u.name: u.id for u in db.session.scalars(
        sa.select(AdminUnit).where(AdminUnit.name.in_([u[1] for u in UNIT_USERS]), AdminUnit.valid_to.is_(None)))}
    existing = set(db.session.scalars(sa.select(User.username).where(User.username.like("clerk-%") |
                                                                      User.username.like("duyet-%"))))
    hashes = {}
    created = 0
    for slug, unit_name, clerk_name, approver_name in UNIT_USERS:
        unit_id = names.get(unit_name)
        if unit_id is None:
            continue
        for name, role, password, full_name, approves in (
                (f"clerk-{slug}", "scheduler", CLERK_PASSWORD, clerk_name, False),
                (f"duyet-{slug}", "viewer", APPROVER_PASSWORD, approver_name, True)):
            if name in existing:
                continue
            user = auth_service.create_user(name, role, email=f"{name}@{mail_domain}", full_name=full_name,
                                            agency=f"UBND {unit_name[0].lower()}{unit_name[1:]}")
            if password not in hashes:
                hashes[password] = auth_service.hash_password(password)
            user.password_hash = hashes[password]
            user.home_unit_id, user.approves = unit_id, approves
            created += 1
    summary.created["unit users"] = created
    db.session.flush()
