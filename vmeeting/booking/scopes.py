"""Who may book what freely, and who approves the rest (issue 27; README "Scopes and approvals").

- A scheduler's scope is their home unit (User.home_unit_id) and every unit under it, as the tree
  stands on the meeting's day (registry.succession.site_unit_ids_on: a former unit stands for what
  succeeded it, a site still registered under an ended unit counts under its heir). A scheduler with
  no home unit is the province office: the whole province, as before issue 27. An admin's scope is
  the whole province. Technicians and viewers book nothing.
- A site's approving unit is the nearest unit, from the site's own unit (its heir when that unit has
  ended) upward, that has an enabled approver (User.approves, attached there); failing any, the
  province's root unit, whose approvers are the users who approve with the province (or no) home
  unit, else the enabled admins.
- A user may decide an approval of unit U when they are an enabled admin, or approve with no home
  unit (the province office), or approve with a home unit that is U or above it.

Plain functions over the session; they read and never write.
"""

from datetime import date

import sqlalchemy as sa

from vmeeting.auth.models import User
from vmeeting.booking.models import Meeting, meeting_endpoints
from vmeeting.core.database import utcnow
from vmeeting.core.timefmt import to_local
from vmeeting.core.extensions import db
from vmeeting.registry import service as registry
from vmeeting.registry import succession
from vmeeting.registry.models import AdminUnit, Endpoint


def has_whole_province(user):
    """Tell whether user books every site freely: an admin, or a scheduler of the province office (no home unit).

    None (a CLI or job acting for nobody) also books freely, as before issue 27; so does a scheduler whose
    home unit is the province itself (the demo's `scheduler`).
    """
    if user is None or user.role == "admin" or user.home_unit_id is None:
        return True
    home = user.home_unit
    return home is not None and home.parent_id is None


def scope_unit_ids(user, day):
    """Return the ids of the units whose sites user books freely on `day`, or None for the whole province."""
    if has_whole_province(user):
        return None
    return succession.site_unit_ids_on([user.home_unit_id], day, registry.descendant_ids_select)


def out_of_scope(user, endpoint_ids, day):
    """Return the ids of endpoint_ids (in their order) outside user's scope on `day` ([] when all are in it)."""
    units = scope_unit_ids(user, day)
    if units is None or not endpoint_ids:
        return []
    unit_of = _units_of(endpoint_ids)
    return [i for i in endpoint_ids if unit_of.get(i) not in units]


def _units_of(endpoint_ids):
    ids = list(endpoint_ids)
    found = {}
    for start in range(0, len(ids), 5000):
        found.update(db.session.execute(sa.select(Endpoint.id, Endpoint.unit_id)
                                        .where(Endpoint.id.in_(ids[start:start + 5000]))).all())
    return found


def province_unit(day=None):
    """Return the province's root unit valid on `day` (today's when None), or None."""
    query = sa.select(AdminUnit).where(AdminUnit.parent_id.is_(None), AdminUnit.level == "province")
    if day is not None:
        query = query.where(succession.valid_on_clause(day))
    return db.session.scalars(query.order_by(AdminUnit.id).limit(1)).first()


def _approver_unit_ids():
    """The ids of the units with at least one enabled approver attached there."""
    return set(db.session.scalars(sa.select(User.home_unit_id).where(
        User.approves.is_(True), User.is_enabled.is_(True), User.home_unit_id.is_not(None)).distinct()))


class Unresolved(Exception):
    """Sites whose unit stands for no unit on the meeting's day: `endpoint_ids`, in order."""

    def __init__(self, endpoint_ids):
        super().__init__(endpoint_ids)
        self.endpoint_ids = endpoint_ids


def approving_units(endpoint_ids, day):
    """Return {approving unit id: [site ids, in the given order]} for the sites (see the module's rules).

    Raises Unresolved naming the sites whose unit neither exists on `day` nor has an heir that does
    (a unit not yet created, or ended leaving nothing recorded): no unit can answer for them.
    """
    if not endpoint_ids:
        return {}
    unit_of = _units_of(endpoint_ids)
    units = {u.id: u for u in db.session.scalars(sa.select(AdminUnit))}
    with_approver = _approver_unit_ids()
    root = province_unit(day)
    successors = None
    found, unresolved = {}, []
    for endpoint_id in endpoint_ids:
        unit = units.get(unit_of.get(endpoint_id))
        if unit is not None and not unit.is_valid_on(day):
            if successors is None:
                successors = succession.successor_map()
            held = succession.heir(unit, successors)
            unit = units.get(held.id) if held is not None and held.is_valid_on(day) else None
        if unit is None:
            unresolved.append(endpoint_id)
            continue
        approver, seen = None, set()
        while unit is not None and unit.id not in seen:
            seen.add(unit.id)
            if unit.id in with_approver:
                approver = unit
                break
            unit = units.get(unit.parent_id)
        approver = approver or root
        if approver is None:
            unresolved.append(endpoint_id)
            continue
        found.setdefault(approver.id, []).append(endpoint_id)
    if unresolved:
        raise Unresolved(unresolved)
    return found


def approvers_of(unit_id):
    """Return the enabled users told of a request to unit_id: its own approvers; for the province's root unit
    (or a unit that has none left), the province office's approvers, else the enabled admins."""
    query = sa.select(User).where(User.is_enabled.is_(True)).order_by(User.id)
    own = db.session.scalars(query.where(User.approves.is_(True), User.home_unit_id == unit_id)).all()
    if own:
        return own
    return province_office()


def province_office():
    """The province office's approvers (approves, home unit the root or none), else the enabled admins."""
    root = province_unit()
    query = sa.select(User).where(User.is_enabled.is_(True)).order_by(User.id)
    office = db.session.scalars(query.where(User.approves.is_(True), sa.or_(
        User.home_unit_id.is_(None), User.home_unit_id == (root.id if root is not None else -1)))).all()
    return office or db.session.scalars(query.where(User.role == "admin")).all()


def is_approver(user):
    """Tell whether user answers requests at all (the inbox and its count in the menu)."""
    return user is not None and user.is_enabled and (user.role == "admin" or bool(user.approves))


def decidable_unit_ids(user, day: date):
    """Return the ids of the units whose requests user may decide, or None for all (admins, the province office)."""
    if not is_approver(user):
        return set()
    if user.role == "admin" or user.home_unit_id is None:
        return None
    root = province_unit()
    if root is not None and user.home_unit_id == root.id:
        return None
    return set(db.session.scalars(registry.descendant_ids_select(user.home_unit_id)))


def viewer_unit_id(user):
    """The unit a viewer's lists and calendar are narrowed to: their home unit, or None (everything)."""
    if user is None or not getattr(user, "is_authenticated", False) or user.role != "viewer":
        return None
    return user.home_unit_id


def narrow_for_viewer(query, user):
    """Narrow a Select of Meeting to the meetings with a site under a viewer's home unit (today's tree)."""
    unit_id = viewer_unit_id(user)
    if unit_id is None:
        return query
    under = succession.endpoint_ids_under(unit_id, to_local(utcnow()).date(), registry.descendant_ids_select)
    return query.where(Meeting.id.in_(sa.select(meeting_endpoints.c.meeting_id)
                                      .where(meeting_endpoints.c.endpoint_id.in_(sorted(under) or [-1]))))


def may_decide(user, unit_id, day):
    """Tell whether user may approve or refuse a request to unit_id (see the module's rules)."""
    units = decidable_unit_ids(user, day)
    return units is None or unit_id in units
