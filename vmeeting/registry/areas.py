"""The district a site is shown under, on pages that group a meeting's sites (meeting page, roll-call).

Before 1 July 2025 a commune sat under its district (huyện, thành phố); since the 2025 reorganisation
(Resolution 1673/NQ-UBTVQH15 for Lạng Sơn; DOMAIN.md "Units change") a commune-level unit sits
directly under the province, and a province-wide meeting grouped "by district" would be one group of
213. Such a unit is shown under the district its predecessors belonged to (the former district,
which is also how the technicians still divide the sites): the province's people still think of the
sites that way, and the groups stay a dozen, not 65.
"""

from collections import Counter

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from vmeeting.core.extensions import db
from vmeeting.registry.models import AdminUnit, UnitSuccession


def _parent_head(unit):
    return unit.parent if unit.level == "commune" and unit.parent is not None else unit


def district_heads(units):
    """Return {unit id: the AdminUnit its sites are grouped under} for the given units (parents loaded).

    A commune under a district: that district. A commune-level unit under the province (the 2025
    tree): the district most of its predecessors were under, following the successions back until
    one is found (a tie goes to the district first in the official order); the province if none is.
    A district or province unit: itself. Two queries for any number of units.
    """
    heads, orphans = {}, []
    for unit in units:
        heads[unit.id] = head = _parent_head(unit)
        if unit.level == "commune" and head.level == "province":
            orphans.append(unit)
    if not orphans:
        return heads
    predecessors = {}
    rows = db.session.execute(sa.select(UnitSuccession.successor_id, AdminUnit)
                              .join(AdminUnit, AdminUnit.id == UnitSuccession.predecessor_id)
                              .options(selectinload(AdminUnit.parent)).order_by(UnitSuccession.id))
    for successor_id, predecessor in rows:
        predecessors.setdefault(successor_id, []).append(predecessor)
    for unit in orphans:
        frontier, seen = [unit], {unit.id}
        while frontier:
            found, following = [], []
            for member in frontier:
                for before in predecessors.get(member.id, []):
                    if before.id in seen:
                        continue
                    seen.add(before.id)
                    head = _parent_head(before)
                    (found if head.level == "district" else following).append(head if head.level == "district"
                                                                               else before)
            if found:
                tally = Counter(h.id for h in found)
                by_id = {h.id: h for h in found}
                heads[unit.id] = by_id[min(tally, key=lambda i: (-tally[i], by_id[i].position, i))]
                break
            frontier = following
    return heads
