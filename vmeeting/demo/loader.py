"""Load the demo province: units, bridges, users, 213 endpoints, a few groups and a week of meetings.

The units are the 2020 tree and, from history.py, the 2024 merge and the 65 units of 2025 with
their successions; the sites then belong to today's units.

Every record has a natural key (unit code, bridge code, user name, endpoint
code, group name); a record whose key exists already is left as it is, so the
loader can run again without duplicating or overwriting anything. Rows are
added in bulk and flushed a few times, never one query per row; the caller
commits once.
"""

import json
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import sqlalchemy as sa

from vmeeting.audit import service as audit
from vmeeting.audit.models import AuditEvent
from vmeeting.auth import service as auth_service
from vmeeting.auth.models import User
from vmeeting.core.database import utcnow
from vmeeting.demo import clerks
from vmeeting.demo.history import load_history
from vmeeting.demo.meetings import load_meetings
from vmeeting.demo.simulator import site_uri
from vmeeting.core.extensions import db
from vmeeting.registry import service as registry
from vmeeting.registry.models import AdminUnit, Bridge, Endpoint, EndpointGroup
from vmeeting.core.text import clean, fold

DATA_FILE = Path(__file__).with_name("langson-units.json")
VALID_FROM = date(2020, 1, 1)
MAIL_DOMAIN = "example.vn"  # reserved for examples: demo mail never reaches a real person
SIP_DOMAIN = "vc.langson.example.vn"
TECHNICIAN_PASSWORD = "vmeeting-technician"

#: (user name, password, role, full name) of the fixed demo logins; README lists them
DEMO_LOGINS = (
    ("admin", "vmeeting-admin", "admin", "Quản trị hệ thống"),
    ("scheduler", "vmeeting-scheduler", "scheduler", "Nguyễn Thị Hoa"),
    ("viewer", "vmeeting-viewer", "viewer", "Hoàng Văn Nam"),
    ("technician", TECHNICIAN_PASSWORD, "technician", "Lương Văn Minh"),
)
#: the agency each demo role books or works for; invites name it as the organizer (Cơ quan mời)
DEMO_AGENCIES = {
    "admin": "Sở Thông tin và Truyền thông tỉnh Lạng Sơn",
    "scheduler": "Văn phòng UBND tỉnh Lạng Sơn",
    "viewer": "Văn phòng UBND tỉnh Lạng Sơn",
    "technician": "VNPT Lạng Sơn",
}
#: the district whose sites (and the provincial halls in it) the user `technician` looks after
CITY_CODE = "178"

#: bridge code, name, ports, and the districts whose sites it carries (None: the provincial sites)
BRIDGES = (
    ("MCU-LS-01", "Cầu MCU trung tâm tỉnh", 120, {None, "178", "180", "181", "182", "183"}),
    ("MCU-LS-02", "Cầu MCU dự phòng VNPT Lạng Sơn", 150, {"184", "185", "186", "187", "188", "189"}),
)

PROVINCIAL_SITES = (
    ("LS-TINH", "UBND tỉnh Lạng Sơn", "Trụ sở UBND tỉnh Lạng Sơn, thành phố Lạng Sơn"),
    ("LS-TU", "Phòng họp trực tuyến Tỉnh ủy Lạng Sơn", "Trụ sở Tỉnh ủy Lạng Sơn, thành phố Lạng Sơn"),
)

FAMILY_NAMES = ("Hoàng", "Nông", "Lương", "Vi", "Lộc", "Hà", "Nguyễn", "Triệu", "Chu", "Lăng", "Mã", "Lục", "Hứa")
MIDDLE_NAMES = ("Văn", "Thị", "Đức", "Thị Thu", "Minh", "Thị Hồng", "Quang")
GIVEN_NAMES = ("Hùng", "Lan", "Tuấn", "Hương", "Dũng", "Mai", "Thắng", "Hà", "Cường", "Nga", "Bình", "Thảo",
               "Sơn", "Yến", "Khánh", "Phương", "Long")


@dataclass
class DemoSummary:
    """How many records of each kind the loader created (0 everywhere on a second run)."""

    created: dict = field(default_factory=dict)

    @property
    def is_unchanged(self):
        return not any(self.created.values())


def database_is_empty():
    """Tell whether the database holds no administrative unit yet."""
    return db.session.scalar(sa.select(AdminUnit.id).limit(1)) is None


def load_demo(sip_simulator=None):
    """Add whatever part of the demo province is missing; return what was created.

    sip_simulator: "host:port" of the demo's SIP simulator (demo.simulator), which
    the sites' SIP addresses then point at (`make run`: DEMO_SIP_SIMULATOR, in
    development only); None gives them made-up addresses that answer nothing.
    """
    province, districts = _read_plan()
    summary = DemoSummary()
    units = _load_units(province, districts, summary)  # {code: id}
    users = _load_users(districts, summary)
    bridges = _load_bridges(summary)
    endpoints = _load_endpoints(districts, units, users, bridges, summary, sip_simulator)
    _load_groups(districts, endpoints, summary)
    load_history(province["code"], districts, units, summary)
    clerks.load_unit_users(summary, MAIL_DOMAIN)  # issue 27: a clerk and an approver of a few 2025 communes
    load_meetings(summary, utcnow())
    db.session.flush()
    return summary


def demo_logins():
    """Return (user name, password, role, district) of every demo login, district technicians included."""
    _province, districts = _read_plan()
    city = next(d for d in districts if d["code"] == CITY_CODE)
    logins = [(name, password, role, city["name"] if name == "technician" else "")
              for name, password, role, _full_name in DEMO_LOGINS]
    logins += [(d["technician"], TECHNICIAN_PASSWORD, "technician", d["name"])
               for d in districts if d["code"] != CITY_CODE]
    return logins + clerks.unit_logins()


# -- the plan, from the data file -----------------------------------------------------


def _read_plan():
    """Return the province and its districts (with their communes) from the data file."""
    data = json.loads(DATA_FILE.read_text(encoding="utf-8"))
    return data["province"], [_district(d, position) for position, d in enumerate(data["districts"], start=1)]


def _district(raw, position):
    name = clean(raw["name"])
    kind = "thành phố" if name.startswith("Thành phố") else "huyện"
    bare = name[len(kind):].strip()
    technician = "technician" if raw["code"] == CITY_CODE else "kt-" + "-".join(fold(bare).split())
    communes = []
    for index, commune in enumerate(raw["communes"], start=1):
        commune_kind = clean(commune["kind"]).lower()
        communes.append({
            "code": f"{raw['code']}-{index:02d}",
            "kind": commune_kind,
            "name": f"{commune_kind.capitalize()} {clean(commune['name'])}",
            "position": index,
        })
    return {"code": raw["code"], "name": name, "kind": kind, "bare": bare, "position": position,
            "technician": technician, "communes": communes}


def _person(n):
    """Return a plausible, made-up person's name, the same for the same n."""
    return f"{FAMILY_NAMES[n % 13]} {MIDDLE_NAMES[n % 7]} {GIVEN_NAMES[(n * 5) % 17]}"


# -- loading --------------------------------------------------------------------------


def _load_units(province, districts, summary):
    """Return {code: unit id} of the demo units, creating those that are missing."""
    codes = [province["code"]] + [d["code"] for d in districts] + [c["code"] for d in districts for c in d["communes"]]
    ids, valid_from = {}, {}
    existing = db.session.execute(
        sa.select(AdminUnit.id, AdminUnit.code, AdminUnit.valid_from).where(AdminUnit.code.in_(codes)).order_by(AdminUnit.id)
    )
    for unit_id, code, since in existing:
        # Codes are re-used across reorganisations: prefer the unit of the 2020 tree.
        if code not in ids or (since == VALID_FROM and valid_from[code] != VALID_FROM):
            ids[code], valid_from[code] = unit_id, since
    created = []

    def insert_level(level, units):
        """Insert the missing units of one level in one statement; parents have their ids by then."""
        rows = [
            {"code": code, "name": name, "kind": kind, "level": level, "parent_id": ids.get(parent_code),
             "position": position, "valid_from": VALID_FROM, "search_key": fold(f"{name} {code}")}
            for code, name, kind, parent_code, position in units if code not in ids
        ]
        if rows:
            inserted = db.session.execute(sa.insert(AdminUnit).returning(AdminUnit.id, AdminUnit.code), rows)
            ids.update({code: unit_id for unit_id, code in inserted})
            created.extend(rows)

    insert_level("province", [(province["code"], clean(province["name"]), "tỉnh", None, 1)])
    insert_level("district", [(d["code"], d["name"], d["kind"], province["code"], d["position"]) for d in districts])
    insert_level("commune", [(c["code"], c["name"], c["kind"], d["code"], c["position"])
                             for d in districts for c in d["communes"]])
    _audit_created("unit", [(ids[row["code"]], {"code": [None, row["code"]], "name": [None, row["name"]]},
                             f"Đơn vị {row['name']} (dữ liệu mẫu)") for row in created])
    summary.created["units"] = len(created)
    return ids


def _audit_created(entity_type, events):
    """Record the creation of many rows in one statement; events are (id, changes, summary)."""
    # audit.record adds one ORM object per event, and SQLite cannot return the ids of a
    # batch of ORM inserts, so that would be one INSERT per row; the rows are the same.
    rows = [{"actor_id": None, "action": "create", "entity_type": entity_type, "entity_id": str(entity_id),
             "changes": changes, "summary": summary[:500]} for entity_id, changes, summary in events]
    if rows:
        db.session.execute(sa.insert(AuditEvent), rows)


def _load_users(districts, summary):
    """Return {user name: user} of the demo users, creating those that are missing."""
    wanted = [(name, password, role, full_name) for name, password, role, full_name in DEMO_LOGINS]
    for district in districts:
        if district["technician"] != "technician":
            wanted.append((district["technician"], TECHNICIAN_PASSWORD, "technician",
                           _person(100 + district["position"])))
    names = [w[0] for w in wanted]
    users = {u.username: u for u in db.session.scalars(sa.select(User).where(User.username.in_(names)))}
    created, hashes = 0, {}
    for index, (name, password, role, full_name) in enumerate(wanted):
        if name in users:
            # a demo loaded before users had an agency gets one; one set by hand stays
            users[name].agency = users[name].agency or DEMO_AGENCIES[role]
            continue
        user = auth_service.create_user(name, role, email=f"{name}@{MAIL_DOMAIN}", full_name=full_name,
                                        agency=DEMO_AGENCIES[role])
        # The eleven technicians share one published password; hashing it once keeps the
        # load fast (scrypt costs a quarter second per hash), and a shared hash tells
        # nothing the README does not.
        if password not in hashes:
            hashes[password] = auth_service.hash_password(password)
        user.password_hash = hashes[password]
        user.phone = f"0912 {300000 + index * 1111:06d}"
        users[name] = user
        created += 1
    summary.created["users"] = created
    return users


def _load_bridges(summary):
    """Return {code: bridge} of the demo bridges, creating those that are missing."""
    codes = [code for code, *_ in BRIDGES]
    bridges = {b.code: b for b in db.session.scalars(sa.select(Bridge).where(Bridge.code.in_(codes)))}
    created = 0
    for code, name, ports, _districts in BRIDGES:
        if code not in bridges:
            bridges[code] = registry.save_bridge(None, {"code": code, "name": name, "ports": ports,
                                                        "address": "Trung tâm dữ liệu tỉnh Lạng Sơn"})
            created += 1
    summary.created["bridges"] = created
    return bridges


def _bridge_for(district_code):
    return next(code for code, _name, _ports, carried in BRIDGES if district_code in carried)


def _endpoint_plan(districts, sip_simulator=None):
    """Yield the field values of every demo endpoint, in official order."""
    for site in _endpoint_fields(districts):
        if sip_simulator:
            site["sip_uri"] = site_uri(site["code"], sip_simulator)
        yield site


def _endpoint_fields(districts):
    n = 0
    for code, name, address in PROVINCIAL_SITES:
        n += 1
        yield _site(n, code, name, "20", "provincial", address, None, "technician")
    for district in districts:
        n += 1
        where = f"{district['kind']} {district['bare']}"
        yield _site(n, f"LS-{district['code']}", f"UBND {where}", district["code"], "district",
                    f"Trụ sở UBND {where}, tỉnh Lạng Sơn", district["code"], district["technician"])
    for district in districts:
        for commune in district["communes"]:
            n += 1
            name = commune["name"][0].lower() + commune["name"][1:]
            yield _site(n, f"LS-{commune['code']}", f"UBND {name}", commune["code"], "commune",
                        f"Trụ sở UBND {name}, {district['kind']} {district['bare']}, tỉnh Lạng Sơn",
                        district["code"], district["technician"])


def _site(n, code, name, unit_code, category, address, district_code, technician):
    slug = code.lower()
    emails = [f"vanphong.{slug}@{MAIL_DOMAIN}"]
    if category != "commune":
        emails.append(f"lanhdao.{slug}@{MAIL_DOMAIN}")
    return {
        "code": code, "name": name, "unit_code": unit_code, "category": category, "address": address,
        "sip_uri": f"sip:{slug}@{SIP_DOMAIN}", "probe": "sip-options", "bridge": _bridge_for(district_code),
        "status": "active", "contact_name": _person(n), "contact_phone": f"0205 3{810000 + n * 7:06d}",
        "contact_emails": emails, "technician": technician, "transport": "tslcd", "protocol": "sip",
        "device_model": "Yealink VC200" if category == "commune" else "Poly G7500",
        "device_serial": f"LS{2020_0000 + n}", "platform_ref": f"phong-{slug}",
    }


def _load_endpoints(districts, units, users, bridges, summary, sip_simulator=None):
    """Return {code: endpoint} of the demo endpoints, creating those that are missing."""
    plan = list(_endpoint_plan(districts, sip_simulator))
    codes = [site["code"] for site in plan]
    # Codes are unique without regard to case: a site kept as "ls-178" is the demo's LS-178.
    lowered = [code.lower() for code in codes]
    existing = set(db.session.scalars(sa.select(sa.func.lower(Endpoint.code)).where(
        sa.func.lower(Endpoint.code).in_(lowered))))
    rows, snapshots = [], {}
    for site in plan:
        if site["code"].lower() in existing:
            continue
        values = {k: v for k, v in site.items() if k not in ("unit_code", "bridge", "technician")}
        # A transient endpoint computes the stored search and sort keys by the model's own rule.
        endpoint = Endpoint(**values, unit_id=units[site["unit_code"]], bridge_id=bridges[site["bridge"]].id,
                            technician_id=users[site["technician"]].id)
        endpoint.refresh_keys()
        columns = {**values, "unit_id": endpoint.unit_id, "bridge_id": endpoint.bridge_id,
                   "technician_id": endpoint.technician_id, "name": endpoint.name, "search_key": endpoint.search_key,
                   "name_casefold": endpoint.name_casefold, "name_sort_key": endpoint.name_sort_key}
        rows.append(columns)
        snapshots[site["code"]] = audit.snapshot(endpoint, registry.ENDPOINT_FIELDS)
    ids = {}
    if rows:
        inserted = db.session.execute(sa.insert(Endpoint).returning(Endpoint.id, Endpoint.code), rows)
        ids = {code: endpoint_id for endpoint_id, code in inserted}
    _audit_created("endpoint", [(ids[row["code"]], audit.diff({}, snapshots[row["code"]]),
                                 f"Tạo điểm cầu {row['name']} (dữ liệu mẫu)") for row in rows])
    summary.created["endpoints"] = len(rows)
    found = {e.code.lower(): e for e in db.session.scalars(
        sa.select(Endpoint).where(sa.func.lower(Endpoint.code).in_(lowered)))}
    return {code: found[code.lower()] for code in codes if code.lower() in found}


def _load_groups(districts, endpoints, summary):
    """Create the demo groups that are missing."""
    trang_dinh = next(d for d in districts if d["code"] == "180")
    groups = (
        ("Khối huyện, thành phố", "Điểm cầu UBND tỉnh và 11 huyện, thành phố: giao ban hằng tuần.",
         ["LS-TINH"] + [f"LS-{d['code']}" for d in districts]),
        ("Điểm cầu cấp tỉnh", "Hai phòng họp trực tuyến cấp tỉnh.", [code for code, *_ in PROVINCIAL_SITES]),
        (f"Huyện {trang_dinh['bare']} và các xã, thị trấn", "Họp huyện với các xã, thị trấn.",
         [f"LS-{trang_dinh['code']}"] + [f"LS-{c['code']}" for c in trang_dinh["communes"]]),
    )
    names = [name for name, *_ in groups]
    existing = set(db.session.scalars(sa.select(EndpointGroup.name).where(EndpointGroup.name.in_(names))))
    created = []
    for name, description, codes in groups:
        if name in existing:
            continue
        group = EndpointGroup(name=name, description=description, endpoints=[endpoints[c] for c in codes])
        db.session.add(group)
        created.append(group)
    db.session.flush()
    _audit_created("group", [(g.id, {"name": [None, g.name]}, f"Nhóm {g.name} (dữ liệu mẫu)") for g in created])
    summary.created["groups"] = len(created)
