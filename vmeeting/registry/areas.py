"""The district a site is shown under, on every page that groups sites by district (meeting page,
roll-call, readiness board and its report, attendance report, the giấy mời's annex).

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

from flask import g

from vmeeting.core.extensions import db
from vmeeting.registry.models import AdminUnit, UnitSuccession


def _parent_head(unit):
    return unit.parent if unit.level == "commune" and unit.parent is not None else unit


def _predecessors():
    """{unit id: [its predecessor AdminUnits, parents loaded]} of every succession (two queries)."""
    predecessors = {}
    rows = db.session.execute(sa.select(UnitSuccession.successor_id, AdminUnit)
                              .join(AdminUnit, AdminUnit.id == UnitSuccession.predecessor_id)
                              .options(selectinload(AdminUnit.parent)).order_by(UnitSuccession.id))
    for successor_id, predecessor in rows:
        predecessors.setdefault(successor_id, []).append(predecessor)
    return predecessors


def district_heads(units, predecessors=None):
    """Return {unit id: the AdminUnit its sites are grouped under} for the given units (parents loaded).

    A commune under a district: that district. A commune-level unit under the province (the 2025
    tree): the district most of its predecessors were under, following the successions back until
    one is found (a tie goes to the district first in the official order); the province if none is.
    A district or province unit: itself. Two queries for any number of units (none when
    `predecessors`, _predecessors' map, is given).
    """
    heads, orphans = {}, []
    for unit in units:
        heads[unit.id] = head = _parent_head(unit)
        if unit.level == "commune" and head.level == "province":
            orphans.append(unit)
    if not orphans:
        return heads
    predecessors = _predecessors() if predecessors is None else predecessors
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


def district_of(unit):
    """The AdminUnit a site of `unit` is shown under (see district_heads), for code that meets its units
    one at a time: remembered for the rest of the request or command (flask.g), so a board of 213
    sites costs the successions' two queries once, not once a site."""
    known = g.setdefault("_vmeeting_district_heads", {})
    if unit.id not in known:
        if unit.level == "commune" and _parent_head(unit).level == "province" and "_vmeeting_predecessors" not in g:
            g._vmeeting_predecessors = _predecessors()
        known.update(district_heads([unit], g.get("_vmeeting_predecessors")))
    return known[unit.id]
