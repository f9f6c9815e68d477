"""A meeting's priority class: the classes, who may set which, and which busy sittings a booking may displace.

The classes, highest first (issue 27). Lạng Sơn's rules for the province's online conference
system (Quy chế quản lý, vận hành và sử dụng Hệ thống hội nghị truyền hình trực tuyến,
QĐ 528/QĐ-UBND of 18/3/2019) name the levels a meeting links (2, 3 or 4 of: the centre, the
province, the districts, the communes) and whose hall chairs it: the province's system for the
provincial bodies' meetings with the districts and communes, a district's for the district's own.
The classes follow those levels, with an office's own use below them:

- `central`  «Trung ương»: called by the centre (the Government, the Prime Minister, a ministry);
  the province's sites join it.
- `province` «Tỉnh»: called by the province (UBND tỉnh, a provincial department), chaired from the
  provincial hall, with districts and communes.
- `local`    «Huyện, xã»: called by a district (until 07/2025) or a commune, chaired from its hall.
  The default.
- `internal` «Nội bộ»: an office's own meeting, a training, a test session.

Who may set which (our rule, README "Priority"): an admin any class; a scheduler of the province
office (booking.scopes.has_whole_province: no home unit, or the province itself) up to
`province`; any other scheduler (a district's or a commune's clerk) `local` or `internal`. Changing a meeting's class needs the right to set both the
old and the new one. A booking displaces only sittings of a class strictly below its own, and only
when asked (`displace_lower_priority`); booking.displacement does the writes.
"""

from vmeeting.booking import scopes
from vmeeting.booking.models import MEETING_PRIORITIES
from vmeeting.core.errors import Conflict
from vmeeting.core.text import N_, say

#: the class a meeting gets when none is named
DEFAULT_PRIORITY = "local"
#: each class's rank: a higher rank displaces a lower one
RANK = {name: len(MEETING_PRIORITIES) - i for i, name in enumerate(MEETING_PRIORITIES)}
#: each class's name on pages and in mail (Vietnamese, through the catalogue)
LABELS = {"central": N_("Trung ương"), "province": N_("Tỉnh"), "local": N_("Huyện, xã"), "internal": N_("Nội bộ")}


class PriorityForbidden(Conflict):
    """A class above what the person may set: 403 with `fields.priority`."""

    status = 403
    code = "forbidden"


def label(priority):
    """The class's Vietnamese name (LABELS), the code itself for an unknown one."""
    return LABELS.get(priority, priority)


def clean_priority(value):
    """Return the class named by value (None or "": the default); raise ValueError with the reason otherwise."""
    if value in (None, ""):
        return DEFAULT_PRIORITY
    if not isinstance(value, str) or value not in MEETING_PRIORITIES:
        raise ValueError(say("Hạng ưu tiên phải là một trong: %(names)s.", names=", ".join(MEETING_PRIORITIES)))
    return value


def highest_allowed(user):
    """The highest class the user may set (see the module's rule); `local` for anyone without a user."""
    if user is None or not getattr(user, "is_enabled", False):
        return DEFAULT_PRIORITY
    if user.role == "admin":
        return "central"
    if user.role == "scheduler" and scopes.has_whole_province(user):
        return "province"
    return DEFAULT_PRIORITY


def allowed_priorities(user):
    """The classes the user may set, highest first: those at or below `highest_allowed`."""
    top = RANK[highest_allowed(user)]
    return [name for name in MEETING_PRIORITIES if RANK[name] <= top]


def check_may_set(user, priority, before=None):
    """Raise PriorityForbidden (403, fields.priority) when the user may not give a meeting this class.

    before: the meeting's class until now (an edit), None for a new meeting. Keeping a class
    unchanged is always allowed (a district's clerk may retitle a provincial meeting they may
    edit); a change needs the right to set both the old class and the new one. A change made
    by no user (a script calling the service without an actor) is not checked.
    """
    if user is None or priority == before:
        return
    allowed = allowed_priorities(user)
    for name in (priority, before):
        if name is not None and name not in allowed:
            raise PriorityForbidden(
                say("Bạn không được đặt hạng ưu tiên «%(name)s»; hạng cao nhất bạn được đặt là «%(top)s».",
                    name=say(label(name)), top=say(label(highest_allowed(user)))),
                fields={"priority": say("Hạng cao nhất bạn được đặt là «%(top)s».",
                                        top=say(label(highest_allowed(user))))})


def may_displace(priority, busy_priority):
    """Tell whether a meeting of class `priority` may displace a sitting of class `busy_priority`: strictly lower."""
    return RANK.get(priority, 0) > RANK.get(busy_priority, len(RANK) + 1)


def mark_displaceable(conflicts, priority):
    """Add `displaceable` (bool) to each conflict (which carries its busy meeting's `priority`); return them.

    A 409 names which of its conflicts a booking of this class could displace with
    `displace_lower_priority` (CONTRACT.md): nothing is displaced silently.
    """
    for conflict in conflicts:
        conflict["displaceable"] = may_displace(priority, conflict.get("priority"))
    return conflicts


def split_displaceable(conflicts, priority, only=()):
    """Return (the conflicts this class may displace, the others).

    only: when not empty, the busy meetings' ids a person confirmed: another one is not displaced.
    """
    mark_displaceable(conflicts, priority)
    allowed = {int(i) for i in only}
    chosen = [c for c in conflicts if c["displaceable"] and (not allowed or c["meeting_id"] in allowed)]
    return chosen, [c for c in conflicts if c not in chosen]
