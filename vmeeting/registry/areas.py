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


#: past this many district groups a page that lists a meeting's sites by district lists them by province
#: (a national meeting's ~700 districts are not one screen's list, its 63 provinces nearly are)
MOST_DISTRICT_GROUPS = 80


def group_heads(units):
    """Return {unit id: the AdminUnit its sites are grouped under} for all the units of one meeting's sites.

    district_heads' districts; when they are more than MOST_DISTRICT_GROUPS (a national meeting), each
    district's province instead, so that the page's groups stay a few dozen whatever the sites. Pass
    every unit of the meeting (not one group's): the choice is the meeting's. One more query (the
    provinces) when it groups by province.
    """
    heads = district_heads(units)
    if len({head.id for head in heads.values()}) <= MOST_DISTRICT_GROUPS:
        return heads
    db.session.scalars(sa.select(AdminUnit).where(AdminUnit.level == "province")).all()  # into the identity map
    return {unit_id: head if head.parent is None or head.level == "province" else head.parent
            for unit_id, head in heads.items()}

# -- a meeting's sites counted by level -----------------------------------------------------------

#: the levels a meeting's sites are counted by, in the giấy mời's order ("tại điểm cầu UBND tỉnh …; tại điểm
#: cầu các huyện …; tại điểm cầu các xã …", DOMAIN.md)
SITE_LEVELS = ("province", "district", "commune")


def site_level(unit_level):
    """The level a site is counted at in a meeting: its unit's level (AdminUnit.level), whatever its category.

    One rule for the meeting page, the giấy mời and the invite's text (DOMAIN.md "Units change"): since
    01/7/2025 (NQ 1672/NQ-UBTVQH15) there is no district level, so a former district hall's site, which
    the registry moved to the commune holding its hall, counts as a commune site; a provincial agency's
    site in the province unit counts as provincial. The site's category (provincial, agency, district,
    commune, other) describes its room, not the level it joins at, and is not read. Grouping by district
    is another rule (district_heads: a 2025 commune under its former district).
    """
    return unit_level if unit_level in SITE_LEVELS else "province"


def count_site_levels(sites):
    """Count a meeting's sites by level, the chair apart, as every page that says "sites by level" does.

    sites: iterable of (is the chair: bool, unit level: str, how many: int). Returns {"chair": 0 or 1,
    "levels": {level: n} in SITE_LEVELS order, levels without a site left out, "total": every site}:
    the giấy mời names the chairing site on its own line, then the others by level, and the meeting page
    counts the same way ("213: chủ tọa 1 · cấp tỉnh 1 · cấp xã 211" for the demo's province-wide meeting).
    """
    chair, counts = 0, dict.fromkeys(SITE_LEVELS, 0)
    for is_chair, unit_level, n in sites:
        if is_chair and n:  # a meeting has one chair: a row counting it counts it once
            chair, n = 1, n - 1
        counts[site_level(unit_level)] += n
    levels = {level: n for level, n in counts.items() if n}
    return {"chair": chair, "levels": levels, "total": chair + sum(levels.values())}
