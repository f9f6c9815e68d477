"""Bring the demo province up to date: the 2024 merge, the 2025 reorganisation, and the sites' moves.

The 2020 tree (langson-units.json) stays as it was, with end dates; the 65 units of 2025
(langson-units-2025.json, with its sources) are added with their successions; every site
under an ended unit moves to the unit that holds its hall today, and the audit trail
records the move. Each step looks before it writes, so running it again changes nothing.

How a site's new unit is decided:
- a commune's hall goes to the unit its commune became (for Xã Đại Đồng, split in 2024,
  to Thị trấn Thất Khê, which received 8.527 of its 8.615 people; for a commune split in
  2025, to the new unit bearing its name, else to the first one the resolution lists);
- a district's hall goes where its seat (huyện lỵ) went: the district town's successor,
  and for the city, Phường Chi Lăng's (the city's seat, see CITY_SEAT);
- provincial sites stay with the province, which did not change.
"""

import json
from collections import Counter
from datetime import date
from pathlib import Path

import sqlalchemy as sa

from vmeeting.audit.models import AuditEvent
from vmeeting.auth.models import User
from vmeeting.core.extensions import db
from vmeeting.core.text import fold
from vmeeting.registry import succession
from vmeeting.registry.models import AdminUnit, Endpoint, UnitSuccession

DATA_FILE = Path(__file__).with_name("langson-units-2025.json")
#: the seat (huyện lỵ) of each district, by its 2020 commune name; their successors take the district halls
DISTRICT_SEATS = {
    "178": "Phường Chi Lăng", "180": "Thị trấn Thất Khê", "181": "Thị trấn Bình Gia", "182": "Thị trấn Na Sầm",
    "183": "Thị trấn Cao Lộc", "184": "Thị trấn Văn Quan", "185": "Thị trấn Bắc Sơn", "186": "Thị trấn Hữu Lũng",
    "187": "Thị trấn Đồng Mỏ", "188": "Thị trấn Lộc Bình", "189": "Thị trấn Đình Lập",
}
#: the demo code of the unit of khoản n of the 2025 resolution, like the 2020 communes' "<district>-<nn>" (the units'
#: GSO codes of Quyết định 19/2025/QĐ-TTg are in the data file, "gso_code", with their sources)
NEW_CODE = "LS25-{:02d}"


def load_history(province_code, districts, units, summary):
    """Add the 2024 and 2025 changes to the demo units and move the sites; count what was done.

    districts: the loader's plan (code and communes with their demo codes and names);
    units: {demo code: unit id} of the 2020 tree.
    """
    data = json.loads(DATA_FILE.read_text(encoding="utf-8"))
    by_name = {(d["code"], c["name"]): c["code"] for d in districts for c in d["communes"]}
    links = []
    merge = data["merge_2024"]
    merged_on = date.fromisoformat(merge["valid_from"])
    for item in merge["absorbed"]:
        links.append((units[by_name[(item["district"], item["name"])]],
                      units[by_name[(item["district"], item["into"])]],
                      item["partial"], merge["legal_basis"], merged_on))
    ended = {old: merged_on for old, *_ in links}
    reorg = data["reorganisation_2025"]
    since = date.fromisoformat(reorg["valid_from"])
    new_ids = _new_units(units[province_code], reorg["units"], since, summary)
    for item, new_id in zip(reorg["units"], new_ids):
        for pred in item["predecessors"]:
            links.append((units[by_name[(pred["district"], pred["name"])]], new_id,
                          pred["kind"] == "partial", reorg["legal_basis"], since))
    for d in districts:
        ended.setdefault(units[d["code"]], since)
        for c in d["communes"]:
            ended.setdefault(units[c["code"]], since)
    summary.created["units ended"] = _end_units(ended)
    summary.created["successions"] = _add_links(links)
    seats = {units[d["code"]]: units[by_name[(d["code"], DISTRICT_SEATS[d["code"]])]] for d in districts}
    summary.created["sites moved"] = _move_sites(seats, reorg["legal_basis"])
    summary.created["users attached"] = _attach_users(units[province_code])


def _attach_users(province_id):
    """Give the demo's schedulers and technicians a home unit valid today, unless they have one.

    The schedulers work for the province office: the province. A technician is based where the halls
    they look after are run from: the unit that holds the district hall (category "district") among
    their sites today, else the unit of most of their sites (the user `technician`, of the city, is
    based at Phường Lương Văn Tri, which holds the city's hall). Admins and viewers stay unattached.
    """
    users = db.session.scalars(sa.select(User).where(User.role.in_(("scheduler", "technician")),
                                                     User.home_unit_id.is_(None))).all()
    events = []
    for user in users:
        unit_id = province_id if user.role == "scheduler" else _technician_base(user.id)
        if unit_id is None:
            continue
        user.home_unit_id = unit_id
        events.append({"actor_id": None, "action": "update", "entity_type": "user", "entity_id": str(user.id),
                       "changes": {"home_unit_id": [None, unit_id]},
                       "summary": f"Đơn vị của người dùng {user.username} (dữ liệu mẫu)"})
    if events:
        db.session.execute(sa.insert(AuditEvent), events)
    db.session.flush()
    return len(events)


def _technician_base(user_id):
    rows = db.session.execute(sa.select(Endpoint.unit_id, Endpoint.category, Endpoint.code)
                              .where(Endpoint.technician_id == user_id).order_by(Endpoint.code)).all()
    halls = [unit_id for unit_id, category, _code in rows if category == "district"]
    if halls:
        return halls[0]
    counts = Counter(unit_id for unit_id, _category, _code in rows)
    return counts.most_common(1)[0][0] if counts else None


def _new_units(province_id, items, since, summary):
    codes = [NEW_CODE.format(item["item"]) for item in items]
    ids = dict(db.session.execute(sa.select(AdminUnit.code, AdminUnit.id).where(
        AdminUnit.code.in_(codes), AdminUnit.valid_from == since)).all())
    rows = []
    for code, item in zip(codes, items):
        if code not in ids:
            name = f"{item['kind'].capitalize()} {item['name']}"
            rows.append({"code": code, "name": name, "kind": item["kind"], "level": "commune",
                         "parent_id": province_id, "position": item["item"], "valid_from": since,
                         "search_key": fold(f"{name} {code}")})
    if rows:
        inserted = db.session.execute(sa.insert(AdminUnit).returning(AdminUnit.id, AdminUnit.code), rows)
        ids.update({code: unit_id for unit_id, code in inserted})
        db.session.execute(sa.insert(AuditEvent), [
            {"actor_id": None, "action": "create", "entity_type": "unit", "entity_id": str(ids[r["code"]]),
             "changes": {"code": [None, r["code"]], "name": [None, r["name"]]},
             "summary": f"Đơn vị {r['name']} từ {since:%d/%m/%Y} (dữ liệu mẫu)"} for r in rows])
    summary.created["units"] = summary.created.get("units", 0) + len(rows)
    return [ids[code] for code in codes]


def _end_units(ended):
    """Give each unit its last day (the day before its successors began), unless it has one already."""
    count = 0
    for unit in db.session.scalars(sa.select(AdminUnit).where(AdminUnit.id.in_(ended), AdminUnit.valid_to.is_(None))):
        unit.valid_to = date.fromordinal(ended[unit.id].toordinal() - 1)
        count += 1
    db.session.flush()
    return count


def _add_links(links):
    have = set(db.session.execute(sa.select(UnitSuccession.predecessor_id, UnitSuccession.successor_id)).all())
    rows = [{"predecessor_id": old, "successor_id": new, "is_partial": partial, "legal_basis": basis[:200],
             "effective_on": day} for old, new, partial, basis, day in links if (old, new) not in have]
    if rows:
        db.session.execute(sa.insert(UnitSuccession), rows)
    return len(rows)


def _move_sites(seats, basis):
    """Move every site whose unit has ended to the unit that holds its hall today; audit each move."""
    units = {u.id: u for u in db.session.scalars(sa.select(AdminUnit))}
    ended = [unit_id for unit_id, u in units.items() if u.valid_to is not None]
    events, successors = [], succession.successor_map()
    for endpoint in db.session.scalars(sa.select(Endpoint).where(Endpoint.unit_id.in_(ended)).order_by(Endpoint.id)):
        old = units[endpoint.unit_id]
        start = units[seats[old.id]] if old.id in seats else old
        new = succession.heir(start, successors)
        if new is None or new.id == old.id:
            continue
        endpoint.unit_id = new.id
        events.append({"actor_id": None, "action": "update", "entity_type": "endpoint", "entity_id": str(endpoint.id),
                       "changes": {"unit_id": [old.id, new.id]},
                       "summary": (f"Điểm cầu {endpoint.name} chuyển từ {old.name} sang {new.name} "
                                   f"từ {new.valid_from:%d/%m/%Y} ({basis})")[:500]})
    if events:
        db.session.execute(sa.insert(AuditEvent), events)
    db.session.flush()
    return len(events)
