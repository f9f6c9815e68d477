"""Units that follow one another: who succeeded whom, and where a site goes when its unit ends.

A reorganisation is many-to-many (DOMAIN.md "Units change"): an old unit passes all or part of
itself to one or more new units, each link with its legal basis and the day it took effect.
"""

import sqlalchemy as sa

from vmeeting.audit.models import AuditEvent
from vmeeting.core.extensions import db
from vmeeting.registry.models import AdminUnit, Endpoint, UnitSuccession


def links(unit_ids):
    """Return {unit id: {"predecessors": [...], "successors": [...]}} for the given units.

    Each entry is {"unit_id": int, "kind": "full" | "partial", "effective_on": date,
    "legal_basis": str}, in the order the links were recorded.
    """
    unit_ids = list(unit_ids)
    found = {unit_id: {"predecessors": [], "successors": []} for unit_id in unit_ids}
    if not unit_ids:
        return found
    rows = db.session.scalars(sa.select(UnitSuccession).where(sa.or_(
        UnitSuccession.predecessor_id.in_(unit_ids), UnitSuccession.successor_id.in_(unit_ids),
    )).order_by(UnitSuccession.id))
    for link in rows:
        kind = "partial" if link.is_partial else "full"
        if link.successor_id in found:
            found[link.successor_id]["predecessors"].append(_entry(link.predecessor_id, kind, link))
        if link.predecessor_id in found:
            found[link.predecessor_id]["successors"].append(_entry(link.successor_id, kind, link))
    return found


def _entry(unit_id, kind, link):
    return {"unit_id": unit_id, "kind": kind, "effective_on": link.effective_on, "legal_basis": link.legal_basis}


def successor_map():
    """Return {unit id: [successor units, in the order recorded]} of every recorded link, in one query."""
    found = {}
    rows = db.session.execute(sa.select(UnitSuccession.predecessor_id, AdminUnit)
                              .join(AdminUnit, UnitSuccession.successor_id == AdminUnit.id)
                              .order_by(UnitSuccession.id))
    for predecessor_id, successor in rows:
        found.setdefault(predecessor_id, []).append(successor)
    return found


def heir(unit, successors=None):
    """Return the unit that today holds what `unit` was: follow its successors until a unit with no end.

    A unit split in parts has several successors; a site of it moves to the one bearing the
    unit's name, else to the first recorded (a resolution lists the parts in its own order, so
    the loader records the part holding the hall first). Returns `unit` itself while it has no
    end, and None when it ended without a recorded successor. successors: successor_map(),
    when many units are resolved at once.
    """
    successors = successor_map() if successors is None else successors
    seen = set()
    while unit is not None and unit.valid_to is not None:
        if unit.id in seen:  # a cycle in the data: stop rather than loop
            return None
        seen.add(unit.id)
        candidates = successors.get(unit.id, [])
        if not candidates:
            return None
        unit = _bearing_name(unit, candidates) or candidates[0]
    return unit


def _bearing_name(unit, successors):
    bare = unit.name[len(unit.kind):].strip() if unit.name.lower().startswith(unit.kind.lower()) else unit.name
    named = [s for s in successors if s.name.endswith(" " + bare)]
    return named[0] if len(named) == 1 else None


def valid_on_clause(day):
    """A SQL condition: the unit existed on `day` (both ends of its validity included)."""
    return sa.and_(sa.or_(AdminUnit.valid_from.is_(None), AdminUnit.valid_from <= day),
                   sa.or_(AdminUnit.valid_to.is_(None), AdminUnit.valid_to >= day))


def successors_on(unit, day, successors=None):
    """Return the units valid on `day` that took over `unit` (ended before that day), full or partial, in the
    order the links were recorded; [] when it had none recorded. A chain of reorganisations is followed to
    the day (2020 commune → 2024 commune → 2025 unit). successors: successor_map(), when many are resolved.
    """
    successors = successor_map() if successors is None else successors
    found, todo, seen = [], list(successors.get(unit.id, [])), {unit.id}
    while todo:
        candidate = todo.pop(0)
        if candidate.id in seen:
            continue
        seen.add(candidate.id)
        if candidate.is_valid_on(day):
            found.append(candidate)
        elif candidate.valid_to is not None and candidate.valid_to < day:
            todo.extend(successors.get(candidate.id, []))
    return found


def resolve_on(unit_ids, day):
    """Resolve units named by a booking, a feed or a filter to those standing for them on `day`.

    Returns {unit id: [units]}: a unit valid on the day stands for itself; one that ended before it stands
    for its successors valid on the day (successors_on, full and partial: the whole of what it became);
    a unit with no successor of its own (a district abolished in 2025: its communes were reorganised, not
    it) stands for what its units below became; one that begins after the day, or ended leaving nothing
    recorded, for none ([]). Units come in the order of the links and are not repeated. The caller says so
    (DOMAIN.md "Units change": a former unit is never silently empty).
    """
    units = db.session.scalars(sa.select(AdminUnit).where(AdminUnit.id.in_(list(unit_ids)))).all()
    ended = [u for u in units if u.valid_to is not None and u.valid_to < day]
    successors = successor_map() if ended else {}
    resolved = {}
    for unit in units:
        if unit.is_valid_on(day):
            resolved[unit.id] = [unit]
        elif unit in ended:
            resolved[unit.id] = _through_children(unit, day, successors)
        else:
            resolved[unit.id] = []
    return resolved


def _through_children(unit, day, successors, depth=0):
    found = successors_on(unit, day, successors)
    if found or depth > 3:
        return found
    for child in unit.children:
        if child.valid_to is not None and child.valid_to < day:
            found.extend(u for u in _through_children(child, day, successors, depth + 1) if u not in found)
    return found


def site_unit_ids_on(unit_ids, day, descendants):
    """Return the ids of the units whose sites are "all sites of these units" on `day`.

    Each unit is resolved on the day (resolve_on: a former district stands for the units that succeeded
    it), then taken with every unit below it valid on the day (descendants(unit_id): a select of a unit's
    id and those below it). A site still registered under a unit that ended (its move not yet made) counts
    under the unit that holds it on the day (heir), so booking a new unit names the halls of the communes it
    absorbed whether or not they were moved.
    """
    roots = {u.id for found in resolve_on(unit_ids, day).values() for u in found}
    ids = set()
    for root in sorted(roots):
        ids.update(db.session.scalars(descendants(root)))
    if not ids:
        return ids
    ids = set(db.session.scalars(sa.select(AdminUnit.id).where(AdminUnit.id.in_(ids), valid_on_clause(day))))
    stranded = db.session.scalars(sa.select(AdminUnit).join(Endpoint, Endpoint.unit_id == AdminUnit.id)
                                  .where(AdminUnit.valid_to < day).distinct()).all()
    if stranded:
        successors = successor_map()
        for unit in stranded:
            held_by = successors_on(unit, day, successors)
            named = _bearing_name(unit, held_by) or (held_by[0] if held_by else None)
            if named is not None and named.id in ids:
                ids.add(unit.id)
    return ids


def site_units_on(day):
    """Return {endpoint id: id of the unit the site belonged to on `day`}, read back from its history.

    A site carries its unit of today; each move is an audit event changing its unit_id ([old, new]). Going
    back from today's unit through its moves, newest first, until a unit valid on the day is reached,
    gives the unit of its hall then (LS-180-05 was under Xã Vĩnh Tiến in 2020, Xã Khánh Long in 2025,
    Xã Đoàn Kết today). A site whose unit cannot be traced to the day keeps today's. Only the sites whose
    unit of today was not valid that day are traced: a day since the last reorganisation costs one query.
    """
    valid = sa.case((valid_on_clause(day), True), else_=False)
    found, untraced = {}, []
    for endpoint_id, unit_id, ok in db.session.execute(
            sa.select(Endpoint.id, Endpoint.unit_id, valid).join(AdminUnit, AdminUnit.id == Endpoint.unit_id)):
        found[endpoint_id] = unit_id
        if not ok:
            untraced.append(endpoint_id)
    if not untraced:
        return found
    moves = {}
    rows = db.session.execute(sa.select(AuditEvent.entity_id, AuditEvent.changes).where(
        AuditEvent.entity_type == "endpoint", AuditEvent.action == "update",
        AuditEvent.entity_id.in_([str(i) for i in untraced])).order_by(AuditEvent.id.desc()))
    for entity_id, changes in rows:
        pair = changes.get("unit_id") if isinstance(changes, dict) else None
        if isinstance(pair, list) and len(pair) == 2 and all(isinstance(v, int) for v in pair):
            moves.setdefault(int(entity_id), []).append(pair)
    named = {v for pairs in moves.values() for pair in pairs for v in pair} | {found[i] for i in untraced}
    units = {u.id: u for u in db.session.scalars(sa.select(AdminUnit).where(AdminUnit.id.in_(named)))}
    for endpoint_id in untraced:
        held = found[endpoint_id]
        for old, new in moves.get(endpoint_id, ()):
            if held in units and units[held].is_valid_on(day):
                break
            if new == held and old in units:
                held = old
        if held in units and units[held].is_valid_on(day):
            found[endpoint_id] = held
    return found


def endpoint_ids_under(unit_id, day, descendants):
    """Return the ids of the sites that were under the unit (resolved on the day, resolve_on) on `day`:
    the registry's endpoint list read as of another day."""
    wanted = site_unit_ids_on([unit_id], day, descendants)
    return {endpoint_id for endpoint_id, held in site_units_on(day).items() if held in wanted}
