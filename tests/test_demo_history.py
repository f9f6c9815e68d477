"""The demo province as it is today: the 2024 merge, the 65 units of 2025, and the sites that moved."""

import json
from collections import Counter
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.conftest import count
from vmeeting.audit.models import AuditEvent
from vmeeting.core.extensions import db
from vmeeting.demo import history
from vmeeting.registry import service
from vmeeting.registry.models import AdminUnit, Endpoint, UnitSuccession

DATA = json.loads(history.DATA_FILE.read_text(encoding="utf-8"))
TREE_2020 = json.loads(Path(history.DATA_FILE).with_name("langson-units.json").read_text(encoding="utf-8"))


@pytest.fixture
def demo(demo_province):
    """The demo province as the command loads it; its output."""
    return demo_province


def test_the_data_places_every_commune_once_and_names_the_65_units():
    """Each 2020 commune not merged in 2024 is a predecessor of one new unit, or of several flagged partial."""
    communes = {(d["code"], f"{c['kind'].capitalize()} {c['name']}") for d in TREE_2020["districts"] for c in d["communes"]}
    merged = DATA["merge_2024"]["absorbed"]
    gone = {(a["district"], a["name"]) for a in merged}
    assert len(communes) == 200 and len(gone) == 6
    assert {(a["district"], a["into"]) for a in merged} <= communes - gone
    units = DATA["reorganisation_2025"]["units"]
    uses = Counter((p["district"], p["name"]) for u in units for p in u["predecessors"])
    assert set(uses) == communes - gone  # 194 communes, none invented, none left out
    for u in units:
        for p in u["predecessors"]:
            assert (p["kind"] == "partial") == (uses[(p["district"], p["name"])] > 1)
    assert Counter(u["kind"] for u in units) == {"xã": 61, "phường": 4}
    assert sorted(u["name"] for u in units if u["kind"] == "xã") == sorted(TREE_2020["reorganisation_2025"]["xa"])
    assert sorted(u["name"] for u in units if u["kind"] == "phường") == sorted(TREE_2020["reorganisation_2025"]["phuong"])
    assert all(u.get("unresolved") for u in units if any(p["kind"] == "partial" for p in u["predecessors"]))


def test_the_data_says_where_each_item_comes_from_and_gives_the_gso_codes():
    """Every item names its evidence level and sources; the GSO code of each new unit is one of its predecessors' codes."""
    levels = set(DATA["evidence_levels"])
    assert "1246/NQ-UBTVQH15" in DATA["merge_2024"]["legal_basis"]
    assert all(a["evidence"] in levels for a in DATA["merge_2024"]["absorbed"])
    reorg = DATA["reorganisation_2025"]
    keys = {s["key"] for s in reorg["sources"]}
    assert all(s["title"] and (s["read_on"] or s["key"] == "not-read") for s in reorg["sources"] + DATA["merge_2024"]["sources"])
    units = reorg["units"]
    assert [u["item"] for u in units] == list(range(1, 66))
    assert {u["item"] for u in units if u["evidence"] == "resolution-text"} == {33, 34}
    assert all(u["evidence"] in levels and set(u["checked_against"]) <= keys for u in units)
    codes = [u["gso_code"] for u in units]
    assert len(set(codes)) == 65 and all(len(c) == 5 and c.isdigit() for c in codes)
    assert all(u["gso_code_was"] in {p["name"] for p in u["predecessors"]} for u in units)
    by_name = {u["name"]: u["gso_code"] for u in units}
    assert by_name["Kỳ Lừa"] == "06187" and by_name["Lộc Bình"] == "06529"


def _levels(day):
    units = db.session.scalars(service.units_select(day)).all()
    return Counter(u.level for u in units), Counter(u.kind for u in units if u.level == "commune")


def test_units_valid_on_a_day(demo):
    assert _levels(date(2027, 1, 5)) == ({"province": 1, "commune": 65}, {"xã": 61, "phường": 4})
    assert _levels(date(2020, 6, 1)) == ({"province": 1, "district": 11, "commune": 200},
                                         {"xã": 181, "thị trấn": 14, "phường": 5})
    assert _levels(date(2025, 6, 30))[0] == {"province": 1, "district": 11, "commune": 194}
    assert _levels(date(2025, 7, 1))[0] == {"province": 1, "commune": 65}


def test_every_site_is_active_under_a_unit_valid_today(demo):
    today = date.today()
    endpoints = db.session.scalars(sa.select(Endpoint)).all()
    assert len(endpoints) == 213
    assert all(e.status == "active" and e.unit.is_valid_on(today) for e in endpoints)


def test_each_kind_of_site_goes_where_its_hall_is(demo):
    unit_of = {e.code: e.unit.name for e in db.session.scalars(sa.select(Endpoint))}
    assert unit_of["LS-TINH"] == unit_of["LS-TU"] == "Tỉnh Lạng Sơn"
    assert unit_of["LS-180-01"] == unit_of["LS-180"] == "Xã Thất Khê"  # the district hall follows its seat
    assert unit_of["LS-183"] == "Phường Kỳ Lừa"  # Thị trấn Cao Lộc, the seat of Cao Lộc, became part of Kỳ Lừa
    assert unit_of["LS-187"] == "Xã Chi Lăng"  # the seat of Chi Lăng district was Thị trấn Đồng Mỏ
    assert unit_of["LS-178"] == "Phường Lương Văn Tri"
    assert unit_of["LS-180-05"] == "Xã Đoàn Kết"  # Vĩnh Tiến: into Khánh Long in 2024, then Đoàn Kết
    assert unit_of["LS-180-16"] == "Xã Thất Khê"  # Đại Đồng: most of it into Thất Khê in 2024


def test_a_moved_site_keeps_its_identity_and_its_history_shows_the_move(demo):
    site = db.session.scalar(sa.select(Endpoint).where(Endpoint.code == "LS-180-05"))
    events = db.session.scalars(sa.select(AuditEvent).where(
        AuditEvent.entity_type == "endpoint", AuditEvent.entity_id == str(site.id)).order_by(AuditEvent.id)).all()
    assert [e.action for e in events] == ["create", "update"]
    old, new = events[1].changes["unit_id"]
    assert db.session.get(AdminUnit, old).name == "Xã Vĩnh Tiến" and new == site.unit_id
    assert "1672/NQ-UBTVQH15" in events[1].summary


def test_successions_carry_their_kind_basis_and_date(demo):
    links = db.session.scalars(sa.select(UnitSuccession)).all()
    assert len(links) == 7 + 196  # 2024: 6 communes, Đại Đồng in two parts; 2025: 194 communes, two in two parts
    assert Counter(link.effective_on for link in links) == {date(2024, 12, 1): 7, date(2025, 7, 1): 196}
    assert sum(link.is_partial for link in links) == 2 + 4
    assert all(link.legal_basis for link in links)
    ky_lua = db.session.scalar(sa.select(AdminUnit).where(AdminUnit.name == "Phường Kỳ Lừa"))
    olds = {link.predecessor.name for link in links if link.successor_id == ky_lua.id}
    assert olds == {"Phường Hoàng Văn Thụ", "Thị trấn Cao Lộc", "Xã Hợp Thành", "Xã Tân Liên", "Xã Gia Cát"}


def test_a_2020_only_demo_is_brought_up_to_date_once(runner, app, monkeypatch):
    """A database loaded before the history existed gets it from `flask demo load`, and a second run changes nothing."""
    monkeypatch.setattr(history, "load_history", lambda *args: None)
    from vmeeting.demo import loader
    monkeypatch.setattr(loader, "load_history", lambda *args: None)
    assert runner.invoke(args=["demo", "load"]).exit_code == 0
    assert _levels(date(2027, 1, 5))[0] == {"province": 1, "district": 11, "commune": 200}
    monkeypatch.undo()
    result = runner.invoke(args=["demo", "load"])
    assert result.exit_code == 0, result.output
    assert "65 units" in result.output and "211 sites moved" in result.output  # all but the two provincial sites
    assert _levels(date(2027, 1, 5)) == ({"province": 1, "commune": 65}, {"xã": 61, "phường": 4})
    before = (count(AdminUnit), count(UnitSuccession), count(AuditEvent))
    result = runner.invoke(args=["demo", "load"])
    assert "nothing changed" in result.output
    assert (count(AdminUnit), count(UnitSuccession), count(AuditEvent)) == before
