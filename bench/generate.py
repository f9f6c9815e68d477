"""Generate a synthetic country and two years of its meetings, for the benchmarks.

    python bench/generate.py DATABASE_URL [--endpoints 10000] [--provinces 63] [--days 730]

The schema comes from the migrations (Flask-Migrate's upgrade), as everywhere
else. Rows go in with bulk Core inserts, not through the booking service one
meeting at a time, so a national-scale database takes minutes, not hours. The
data stay consistent all the same: every meeting sits in a slot of a fixed day
grid (below) that no other kind of meeting uses that day, and small meetings
never reuse an endpoint within one slot, so no endpoint is ever reserved twice
at once and PostgreSQL's overlap rule (migration 0017) accepts every row.
"""

import argparse
import random
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time as clock, timedelta, timezone
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from config import CONFIGS  # noqa: E402
from vmeeting import create_app  # noqa: E402
from vmeeting.auth.models import User  # noqa: E402
from vmeeting.booking.models import Meeting, Occurrence, Reservation, meeting_endpoints  # noqa: E402
from vmeeting.booking.series import expand_series  # noqa: E402
from vmeeting.core.extensions import db  # noqa: E402
from vmeeting.registry.models import AdminUnit, Bridge, Endpoint  # noqa: E402
from vmeeting.core.text import fold, sort_key  # noqa: E402
from vmeeting.core.timefmt import local_zone  # noqa: E402

#: the province the benchmarks call "one province": as many sites as Lạng Sơn
REFERENCE_PROVINCE = "Tỉnh Lạng Sơn"
REFERENCE_SITES = 213
SITES_PER_DISTRICT = 14.3  # 10,000 sites over about 700 district-level units
SETUP_MINUTES = 30
#: the day grid, local time: busy intervals (start minus set-up, end) never overlap between slots
SLOTS = {"A": ("08:00", "10:00"), "B": ("10:30", "11:30"), "C": ("14:00", "15:30"), "D": ("16:00", "17:00")}
WEEKDAYS = ("MO", "TU", "WE", "TH", "FR")
BATCH_ROWS = 20000

PROVINCES = (
    "Hà Nội", "Hồ Chí Minh", "Hải Phòng", "Đà Nẵng", "Cần Thơ", "An Giang", "Bà Rịa - Vũng Tàu", "Bắc Giang",
    "Bắc Kạn", "Bạc Liêu", "Bắc Ninh", "Bến Tre", "Bình Định", "Bình Dương", "Bình Phước", "Bình Thuận",
    "Cà Mau", "Cao Bằng", "Đắk Lắk", "Đắk Nông", "Điện Biên", "Đồng Nai", "Đồng Tháp", "Gia Lai", "Hà Giang",
    "Hà Nam", "Hà Tĩnh", "Hải Dương", "Hậu Giang", "Hòa Bình", "Hưng Yên", "Khánh Hòa", "Kiên Giang", "Kon Tum",
    "Lai Châu", "Lâm Đồng", "Lào Cai", "Long An", "Nam Định", "Nghệ An", "Ninh Bình", "Ninh Thuận",
    "Phú Thọ", "Phú Yên", "Quảng Bình", "Quảng Nam", "Quảng Ngãi", "Quảng Ninh", "Quảng Trị", "Sóc Trăng",
    "Sơn La", "Tây Ninh", "Thái Bình", "Thái Nguyên", "Thanh Hóa", "Thừa Thiên Huế", "Tiền Giang", "Trà Vinh",
    "Tuyên Quang", "Vĩnh Long", "Vĩnh Phúc", "Yên Bái",
)
SYLLABLES = ("An", "Bình", "Hòa", "Phú", "Tân", "Thạnh", "Long", "Quang", "Minh", "Đông", "Tây", "Nam", "Bắc",
             "Trung", "Hưng", "Lộc", "Thuận", "Thành", "Xuân", "Hải", "Sơn", "Lâm", "Yên", "Vĩnh", "Phước", "Mỹ",
             "Đức", "Kim", "Cẩm", "Hồng", "Chi", "Lăng", "Mai", "Vân", "Đình", "Lập", "Tràng", "Định")
FAMILY = ("Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Vũ", "Đặng", "Bùi", "Đỗ", "Hồ", "Ngô", "Lương", "Nông")
GIVEN = ("Văn Hùng", "Thị Lan", "Minh Tuấn", "Thị Hương", "Văn Dũng", "Thị Mai", "Đức Thắng", "Thu Hà")
SMALL_TITLES = ("Họp chuyên đề", "Trao đổi công tác", "Họp ban chỉ đạo", "Tập huấn trực tuyến",
                "Họp giải quyết kiến nghị", "Làm việc với các xã", "Họp triển khai nhiệm vụ")


@dataclass
class Scale:
    """How big a country to make; the defaults are the national one."""

    endpoints: int = 10_000
    provinces: int = 63
    days: int = 730
    #: single meetings of a few sites, the bulk of the occurrences
    small_meetings: int = 160_000
    seed: int = 1


@dataclass
class Country:
    """What the generator made, with the ids the benchmarks need."""

    reference_province_id: int = 0
    reference_endpoint_ids: list = field(default_factory=list)
    endpoint_ids: list = field(default_factory=list)
    #: a commune site of the reference province with a full calendar
    feed_endpoint_id: int = 0
    #: the reference province's monthly meeting (all its sites, a series)
    province_meeting_id: int = 0
    first_day: date = None
    last_day: date = None
    counts: dict = field(default_factory=dict)
    #: (its Monday, the province unit ids whose sites it keeps busy): the slot finder's busy week (busy_week)
    busy_week: tuple = None


class Writer:
    """Buffer rows per table and insert them in batches, parents before children."""

    ORDER = ("meetings", "meeting_endpoints", "occurrences", "reservations")

    def __init__(self):
        self.tables = {"meetings": Meeting.__table__, "meeting_endpoints": meeting_endpoints,
                       "occurrences": Occurrence.__table__, "reservations": Reservation.__table__}
        self.buffers = defaultdict(list)
        self.counts = defaultdict(int)

    def add(self, table, row):
        self.buffers[table].append(row)
        self.counts[table] += 1
        if len(self.buffers[table]) >= BATCH_ROWS:
            self.flush()

    def flush(self):
        for name in self.ORDER:
            if self.buffers[name]:
                db.session.execute(sa.insert(self.tables[name]), self.buffers[name])
                self.buffers[name] = []


@dataclass
class Site:
    id: int
    province: int
    district: int
    bridge_id: int
    category: str


def _name(rng, used):
    for _ in range(50):
        name = f"{rng.choice(SYLLABLES)} {rng.choice(SYLLABLES)}"
        if name not in used and name.split()[0] != name.split()[1]:
            used.add(name)
            return name
    return f"{rng.choice(SYLLABLES)} {len(used)}"


def _province_sizes(scale, rng):
    # the reference province has Lạng Sơn's size whenever the country is big enough to hold it
    first = REFERENCE_SITES if scale.endpoints >= 10 * REFERENCE_SITES else scale.endpoints // scale.provinces
    rest = scale.endpoints - first
    weights = [rng.uniform(0.6, 1.4) for _ in range(scale.provinces - 1)]
    sizes = [max(3, int(rest * w / sum(weights))) for w in weights]
    if not sizes:  # a country of one province: all its sites (bench/weights.py weighs the demo's size)
        return [first]
    sizes[-1] += rest - sum(sizes)
    return [first, *sizes]


def make_country(scale, rng, now):
    """Insert units, bridges, technicians and endpoints; return (sites, Country)."""
    country = Country()
    valid_from = date(2020, 1, 1)
    unit_rows, bridge_rows, user_rows, endpoint_rows = [], [], [], []
    sites = []
    next_unit = iter(range(1, 10**7))
    names = [REFERENCE_PROVINCE] + [f"Tỉnh {PROVINCES[i % len(PROVINCES)]}" + (f" {i // len(PROVINCES) + 1}" if i >= len(PROVINCES) else "")
                                    for i in range(scale.provinces - 1)]
    user_rows.append({"id": 1, "username": "bench-scheduler", "full_name": "Văn phòng điều phối", "role": "scheduler",
                      "email": "dieuphoi@example.vn", "is_enabled": True, "created_at": now})
    code = 0

    def unit(name, kind, level, parent_id, position):
        uid = next(next_unit)
        unit_rows.append({"id": uid, "code": f"{uid:05d}", "name": name, "kind": kind, "level": level,
                          "parent_id": parent_id, "position": position, "valid_from": valid_from,
                          "search_key": fold(name)})
        return uid

    def endpoint(name, unit_id, category, p, d, technician_id):
        nonlocal code
        code += 1
        ep_code = f"EP{code:05d}"
        name = f"UBND {name[0].lower()}{name[1:]}"
        endpoint_rows.append({
            "id": code, "code": ep_code, "name": name, "unit_id": unit_id, "category": category,
            "address": name.removeprefix("UBND "), "sip_uri": f"sip:{ep_code.lower()}@vc{p + 1}.example.vn",
            "probe": "sip-options", "bridge_id": p + 1, "status": "active",
            "contact_name": f"{rng.choice(FAMILY)} {rng.choice(GIVEN)}", "contact_phone": f"09{rng.randrange(10**8):08d}",
            "contact_emails": [f"{ep_code.lower()}@example.vn"], "technician_id": technician_id,
            "created_at": now, "updated_at": now, "search_key": fold(f"{name} {ep_code}"),
            "name_casefold": name.casefold(), "name_sort_key": sort_key(name)})
        sites.append(Site(code, p, d, p + 1, category))
        return code

    district_no = 0
    for p, size in enumerate(_province_sizes(scale, rng)):
        province_id = unit(names[p], "tỉnh", "province", None, p)
        bridge_rows.append({"id": p + 1, "code": f"MCU-{p + 1:02d}", "name": f"Cầu MCU {names[p]}",
                            "ports": size + 20, "address": "", "notes": "", "is_active": True, "created_at": now})
        districts = max(1, round(size / SITES_PER_DISTRICT))
        used = set()
        province_site = None
        communes = size - 1 - districts
        for d in range(districts):
            district_no += 1
            technician = len(user_rows) + 1
            user_rows.append({"id": technician, "username": f"kt{district_no:04d}", "role": "technician",
                              "full_name": f"{rng.choice(FAMILY)} {rng.choice(GIVEN)}",
                              "email": f"kt{district_no:04d}@example.vn", "is_enabled": True, "created_at": now})
            if province_site is None:
                province_site = endpoint(names[p], province_id, "provincial", p, district_no, technician)
            district_name = f"Huyện {_name(rng, used)}"
            district_id = unit(district_name, "huyện", "district", province_id, d)
            endpoint(district_name, district_id, "district", p, district_no, technician)
            for c in range(communes // districts + (1 if d < communes % districts else 0)):
                commune = f"Xã {_name(rng, used)}"
                endpoint(commune, unit(commune, "xã", "commune", district_id, c), "commune", p, district_no,
                         technician)
        if p == 0:
            country.reference_province_id = province_id
    for table, rows in ((AdminUnit, unit_rows), (Bridge, bridge_rows), (User, user_rows), (Endpoint, endpoint_rows)):
        for i in range(0, len(rows), BATCH_ROWS):
            db.session.execute(sa.insert(table.__table__), rows[i:i + BATCH_ROWS])
    country.endpoint_ids = [s.id for s in sites]
    country.reference_endpoint_ids = [s.id for s in sites if s.province == 0]
    country.counts.update(units=len(unit_rows), bridges=len(bridge_rows), users=len(user_rows),
                          endpoints=len(endpoint_rows))
    return sites, country


class Planner:
    """Lay meetings on the day grid and write their rows."""

    def __init__(self, writer, rng, now):
        self.writer, self.rng, self.now = writer, rng, now
        self.zone = local_zone()
        self.next_meeting = iter(range(1, 10**8))
        self.next_occurrence = iter(range(1, 10**9))

    def instant(self, day, hhmm):
        return datetime.combine(day, clock.fromisoformat(hhmm), tzinfo=self.zone).astimezone(timezone.utc)

    def meeting(self, title, sites, day, slot, recurrence=None, selection=None, cancelled=False):
        """Write a meeting, its sittings and (unless cancelled) its reservations; return its id."""
        starts_at, ends_at = self.instant(day, SLOTS[slot][0]), self.instant(day, SLOTS[slot][1])
        meeting_id = next(self.next_meeting)
        self.writer.add("meetings", {
            "id": meeting_id, "uid": f"bench-{meeting_id}@vmeeting", "title": title, "search_key": fold(title),
            "description": "", "organizer_id": 1, "chair_endpoint_id": sites[0].id, "bridge_id": None,
            "attendees": [], "status": "cancelled" if cancelled else "scheduled", "sequence": 1 if cancelled else 0,
            "recurrence": recurrence, "starts_at": starts_at, "ends_at": ends_at, "setup_minutes": SETUP_MINUTES,
            "endpoint_count": len(sites), "created_at": self.now, "updated_at": self.now,
            "cancelled_at": self.now if cancelled else None,
            "selection": selection or {"all": False, "unit_ids": [], "group_ids": [],
                                       "endpoint_ids": [s.id for s in sites]}})
        for site in sites:
            self.writer.add("meeting_endpoints", {"meeting_id": meeting_id, "endpoint_id": site.id})
        setup = timedelta(minutes=SETUP_MINUTES)
        for original, start, end in expand_series(starts_at, ends_at, recurrence):
            occurrence_id = next(self.next_occurrence)
            self.writer.add("occurrences", {"id": occurrence_id, "meeting_id": meeting_id, "starts_at": start,
                                            "ends_at": end, "original_starts_at": original, "status": "scheduled",
                                            "is_moved": False})
            if cancelled:
                continue
            for site in sites:
                self.writer.add("reservations", {"occurrence_id": occurrence_id, "endpoint_id": site.id,
                                                 "bridge_id": site.bridge_id, "busy_from": start - setup,
                                                 "busy_until": end})
        return meeting_id


def _first(day, weekday):
    return day + timedelta(days=(weekday - day.weekday()) % 7)


def _second_wednesday(day):
    """The first second-Wednesday-of-a-month on or after day (a series' DTSTART must match its rule)."""
    month = day.replace(day=1)
    while True:
        candidate = _first(month, 2) + timedelta(days=7)
        if candidate >= day:
            return candidate
        month = (month + timedelta(days=32)).replace(day=1)


def make_meetings(scale, sites, country, rng, now):
    """Write national, provincial, district and small meetings over the days; fill in country."""
    writer = Writer()
    plan = Planner(writer, rng, now)
    today = now.astimezone(local_zone()).date()
    first_day = today - timedelta(days=scale.days // 2)
    last_day = first_day + timedelta(days=scale.days - 1)
    country.first_day, country.last_day = first_day, last_day
    by_province, by_district = defaultdict(list), defaultdict(list)
    for site in sites:
        by_province[site.province].append(site)
        by_district[site.district].append(site)
    weeks = max(1, scale.days // 7)

    # national conferences: the first Monday of each month, slot A, every site
    month = first_day.replace(day=1)
    while month <= last_day:
        monday = _first(month, 0)
        if first_day <= monday <= last_day:
            plan.meeting(f"Hội nghị trực tuyến toàn quốc tháng {monday.month}/{monday.year}", sites, monday, "A",
                         selection={"all": True, "unit_ids": [], "group_ids": [], "endpoint_ids": []})
        month = (month + timedelta(days=32)).replace(day=1)

    for p, members in by_province.items():
        heads = [s for s in members if s.category != "commune"]
        # the province's monthly meeting with every site (second Wednesday), and its weekly one with the districts (Friday)
        start = _second_wednesday(first_day)
        meeting_id = plan.meeting(f"Giao ban trực tuyến toàn tỉnh — {members[0].province + 1:02d}", members, start,
                                  "A", recurrence=f"FREQ=MONTHLY;BYDAY=2WE;COUNT={max(1, scale.days // 31)}")
        if p == 0:
            country.province_meeting_id = meeting_id
        plan.meeting("Giao ban lãnh đạo tỉnh với các huyện", heads, _first(first_day, 4), "A",
                     recurrence=f"FREQ=WEEKLY;BYDAY=FR;COUNT={weeks}")
    for d, members in by_district.items():
        # each district meets its communes every other week, on a weekday of its own, slot C
        weekday = d % 5
        plan.meeting("Giao ban huyện với các xã", members, _first(first_day, weekday), "C",
                     recurrence=f"FREQ=WEEKLY;INTERVAL=2;BYDAY={WEEKDAYS[weekday]};COUNT={max(1, weeks // 2)}")

    _small_meetings(scale, plan, by_district, first_day, last_day, rng)
    writer.flush()
    feed_site = next(s for s in sites if s.province == 0 and s.category == "commune")
    country.feed_endpoint_id = feed_site.id
    country.counts.update({name: writer.counts[name] for name in Writer.ORDER})


def _small_meetings(scale, plan, by_district, first_day, last_day, rng):
    """Single meetings of 2 to 6 sites of one district, in slots B and D; some cancelled."""
    days = [first_day + timedelta(days=i) for i in range((last_day - first_day).days + 1)]
    days = [d for d in days if d.weekday() < 5]
    cells = [(day, slot) for day in days for slot in ("B", "D")]
    per_cell, extra = divmod(scale.small_meetings, len(cells))
    districts = list(by_district)
    for index, (day, slot) in enumerate(cells):
        busy = set()
        for _ in range(per_cell + (1 if index < extra else 0)):
            for _attempt in range(20):
                members = by_district[rng.choice(districts)]
                chosen = rng.sample(members, min(len(members), rng.randint(2, 6)))
                if not busy.intersection(s.id for s in chosen):
                    break
            else:
                continue
            cancelled = rng.random() < 0.02
            if not cancelled:
                busy.update(s.id for s in chosen)
            plan.meeting(rng.choice(SMALL_TITLES), chosen, day, slot, cancelled=cancelled)


#: the slot finder's grid for a 60-minute sitting with SETUP_MINUTES of set-up (working hours 07:30–11:30,
#: 13:30–17:00, a step of 30 minutes): what "the first slots of a week" are
BUSY_WEEK_STARTS = ("08:00", "08:30", "09:00", "09:30", "10:00", "10:30", "14:00", "14:30", "15:00", "15:30", "16:00")


def take_first_slots(monday, at_least=2000, days=3, per_site=2):
    """Write small meetings that take every slot of the first `days` working days of a week for some provinces.

    monday: a Monday after the generated days (nothing else on it); the
    provinces are taken in order, the reference one first, until they hold
    `at_least` sites, and all their sites are made busy.
    Each site sits in `per_site` one-hour meetings of its own, at starts of the
    slot finder's grid taken in turn and far apart, so that every start of
    those days has some busy site in every province of 33 sites or more, and
    the rows grow with the sites as a real week's do. Commits; returns (province unit ids, their endpoint counts).
    """
    rng = random.Random(7)
    now = datetime.now(timezone.utc).replace(microsecond=0)
    rows = db.session.execute(
        sa.select(Endpoint.id, Endpoint.bridge_id, AdminUnit.id, AdminUnit.parent_id)
        .join(AdminUnit, AdminUnit.id == Endpoint.unit_id).order_by(Endpoint.id)).all()
    parent = dict(db.session.execute(sa.select(AdminUnit.id, AdminUnit.parent_id)).all())

    def province_of(unit_id):
        while parent.get(unit_id) is not None:
            unit_id = parent[unit_id]
        return unit_id

    counts, by_province = defaultdict(int), defaultdict(list)
    for endpoint_id, bridge_id, unit_id, _parent in rows:
        province = province_of(unit_id)
        counts[province] += 1
        by_province[province].append(Site(endpoint_id, province, 0, bridge_id, ""))
    provinces_ids, sites = [], []
    for province in sorted(by_province):  # the reference province is the first one made
        if len(sites) >= at_least:
            break
        provinces_ids.append(province)
        sites += by_province[province]
    writer = Writer()
    plan = Planner(writer, rng, now)
    plan.next_meeting = iter(range((db.session.scalar(sa.select(sa.func.max(Meeting.id))) or 0) + 1, 10**9))
    plan.next_occurrence = iter(range((db.session.scalar(sa.select(sa.func.max(Occurrence.id))) or 0) + 1, 10**10))
    starts = [(monday + timedelta(days=d), start) for d in range(days) for start in BUSY_WEEK_STARTS]
    apart = len(starts) // per_site  # a site's sittings lie far apart: never two at once (migration 0017's rule)
    for index, site in enumerate(sites):
        for k in range(per_site):
            day, start = starts[(index + k * apart) % len(starts)]
            end = (datetime.combine(day, clock.fromisoformat(start)) + timedelta(hours=1)).strftime("%H:%M")
            SLOTS.setdefault(f"{start}-{end}", (start, end))
            plan.meeting(rng.choice(SMALL_TITLES), [site], day, f"{start}-{end}")
    writer.flush()
    _reset_sequences()
    db.session.commit()
    return provinces_ids, [counts[p] for p in provinces_ids]


def busy_week(country, at_least=2000):
    """Take the first three days of a week after the generated days for provinces of `at_least` sites, the
    reference one first (take_first_slots); return (its Monday, the provinces' unit ids)."""
    from vmeeting.working_time import service as working_time

    monday = _first(country.last_day + timedelta(days=7), 0)
    while not all(working_time.is_working_day(monday + timedelta(days=d)) for d in range(5)):
        monday += timedelta(days=7)
    provinces, _counts = take_first_slots(monday, at_least)
    return monday, provinces


def _reset_sequences():
    """PostgreSQL: move each id sequence past the ids written here explicitly."""
    if db.session.get_bind().dialect.name != "postgresql":
        return
    for table in ("admin_units", "bridges", "users", "endpoints", "meetings", "occurrences"):
        db.session.execute(sa.text(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), COALESCE((SELECT max(id) FROM {table}), 1))"))


def generate(scale=None):
    """Fill the (empty, upgraded) database of the current app; commit; return the Country."""
    scale = scale or Scale()
    if db.session.scalar(sa.select(AdminUnit.id).limit(1)) is not None:
        raise SystemExit("the database is not empty: generate into a fresh one")
    rng = random.Random(scale.seed)
    now = datetime.now(timezone.utc).replace(microsecond=0)
    sites, country = make_country(scale, rng, now)
    make_meetings(scale, sites, country, rng, now)
    _reset_sequences()
    db.session.commit()
    if db.session.get_bind().dialect.name == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("ANALYZE")
    return country


def make_app(url):
    """An app on url for the generator and the benchmark's own set-up (not the served one)."""
    return create_app(CONFIGS["development"], {"SQLALCHEMY_DATABASE_URI": url, "SCHEDULER": "off"})


def main(argv=None):
    from flask_migrate import upgrade

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("database_url")
    parser.add_argument("--endpoints", type=int, default=Scale.endpoints)
    parser.add_argument("--provinces", type=int, default=Scale.provinces)
    parser.add_argument("--days", type=int, default=Scale.days)
    parser.add_argument("--small-meetings", type=int, default=Scale.small_meetings)
    parser.add_argument("--seed", type=int, default=Scale.seed)
    args = parser.parse_args(argv)
    scale = Scale(args.endpoints, args.provinces, args.days, args.small_meetings, args.seed)
    app = make_app(args.database_url)
    started = time.perf_counter()
    with app.app_context():
        upgrade()
        country = generate(scale)
        db.engine.dispose()
    counts = ", ".join(f"{v:,} {k}" for k, v in country.counts.items())
    print(f"generated in {time.perf_counter() - started:.1f} s: {counts}")
    return country


if __name__ == "__main__":
    main()
