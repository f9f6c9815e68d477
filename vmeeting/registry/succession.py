"""Units that follow one another: who succeeded whom, and where a site goes when its unit ends.

A reorganisation is many-to-many (DOMAIN.md "Units change"): an old unit passes all or part of
itself to one or more new units, each link with its legal basis and the day it took effect.
"""

import sqlalchemy as sa

from vmeeting.core.extensions import db
from vmeeting.registry.models import AdminUnit, UnitSuccession


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
