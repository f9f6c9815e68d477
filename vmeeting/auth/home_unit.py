"""A user's home unit: the administrative unit they work for (issue 26; issue 27's scopes build on it).

Auth sits below the registry (DESIGN.md), so it does not read units itself: the registry connects
`unit_choices` from its init_app, a function `(day) -> [(unit id, name, depth)]` of the units valid on
that day in tree order. Without it (an app built without the registry) no unit can be chosen.
"""

from vmeeting.audit import service as audit
from vmeeting.core.database import utcnow
from vmeeting.core.errors import ValidationError
from vmeeting.core.hooks import NamedHook
from vmeeting.core.text import N_
from vmeeting.core.timefmt import to_local

#: "choices": (day) -> [(unit id, name, depth)] of the units valid that day; connected by the registry
unit_directory = NamedHook("auth.unit_directory")


def today():
    return to_local(utcnow()).date()


def unit_choices(day=None):
    """Return [(unit id, name, depth)] of the units a user may be attached to: those valid on day (today)."""
    choose = unit_directory.mapping().get("choices")
    return choose(day or today()) if choose is not None else []


def set_home_unit(user, unit_id, actor=None):
    """Attach user to the unit (None: to none, the province office); raise ValidationError on home_unit_id.

    The unit must be valid today; a home unit that has ended since it was set may stay as it is (it is
    shown ended, and the reorganisation's successor is for a person to choose).
    """
    if unit_id == user.home_unit_id:
        return user
    if unit_id is not None and unit_id not in {choice[0] for choice in unit_choices()}:
        raise ValidationError({"home_unit_id": N_("Chọn một đơn vị đang có hiệu lực hôm nay.")})
    before, user.home_unit_id = user.home_unit_id, unit_id
    audit.record(actor, "update", "user", user.id, {"home_unit_id": [before, unit_id]},
                 f"Đơn vị của người dùng {user.username}")
    return user


def set_approves(user, approves, actor=None):
    """Let user approve bookings of their home unit's sites and below (issue 27; booking.scopes), or stop it.

    With no home unit (or the province's), the user approves for the province office: the units that have
    no approver of their own. Recorded in the audit trail.
    """
    approves = bool(approves)
    if approves == bool(user.approves):
        return user
    user.approves = approves
    audit.record(actor, "update", "user", user.id, {"approves": [not approves, approves]},
                 f"Quyền duyệt lịch của người dùng {user.username}")
    return user
