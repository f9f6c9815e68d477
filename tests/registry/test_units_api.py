"""GET /api/v1/units?valid_on=: the units valid on a day, with their predecessors and successors."""

from collections import Counter

import pytest
import sqlalchemy as sa

from vmeeting.core.extensions import db
from vmeeting.registry.models import AdminUnit, Endpoint


@pytest.fixture
def headers(api_headers):
    return api_headers(role="viewer")


@pytest.fixture
def demo(demo_province):
    return demo_province


def _all(client, headers, query=""):
    body = client.get(f"/api/v1/units?per_page=500{query}", headers=headers).get_json()
    assert body["total"] == len(body["items"])
    return body


def test_units_valid_on_a_day_with_their_successions(client, headers, demo):
    body = _all(client, headers, "&valid_on=2027-01-05")
    items = body["items"]
    assert Counter(u["level"] for u in items) == {"province": 1, "commune": 65}
    assert Counter(u["kind"] for u in items if u["level"] == "commune") == {"xã": 61, "phường": 4}
    ky_lua = next(u for u in items if u["name"] == "Phường Kỳ Lừa")
    assert (ky_lua["valid_from"], ky_lua["valid_until"], ky_lua["successors"]) == ("2025-07-01", None, [])
    names = {u.id: u.name for u in db.session.scalars(sa.select(AdminUnit))}
    assert sorted(names[p["unit_id"]] for p in ky_lua["predecessors"]) == sorted(
        ["Phường Hoàng Văn Thụ", "Thị trấn Cao Lộc", "Xã Hợp Thành", "Xã Tân Liên", "Xã Gia Cát"])
    assert {p["kind"] for p in ky_lua["predecessors"]} == {"full"}
    kien_moc = next(u for u in items if u["name"] == "Xã Kiên Mộc")
    assert Counter(p["kind"] for p in kien_moc["predecessors"]) == {"full": 1, "partial": 2}


def test_the_2020_tree_and_its_successors(client, headers, demo):
    items = _all(client, headers, "&valid_on=2020-06-01")["items"]
    assert Counter(u["level"] for u in items) == {"province": 1, "district": 11, "commune": 200}
    vinh_tien = next(u for u in items if u["name"] == "Xã Vĩnh Tiến")
    assert vinh_tien["valid_until"] == vinh_tien["valid_to"] == "2024-11-30"
    khanh_long = db.session.scalar(sa.select(AdminUnit.id).where(AdminUnit.name == "Xã Khánh Long"))
    assert vinh_tien["successors"] == [{"unit_id": khanh_long, "kind": "full"}]
    dai_dong = next(u for u in items if u["name"] == "Xã Đại Đồng")
    assert [s["kind"] for s in dai_dong["successors"]] == ["partial", "partial"]
    district = next(u for u in items if u["level"] == "district")
    assert district["valid_until"] == "2025-06-30" and district["predecessors"] == []


def test_the_default_is_today(client, headers, demo):
    body = _all(client, headers)
    today_ids = {u["id"] for u in body["items"]}
    assert all(e.unit_id in today_ids for e in db.session.scalars(sa.select(Endpoint)))
    assert len(today_ids) == 66


def test_one_unit_shows_its_links_whatever_its_dates(client, headers, demo):
    that_khe = db.session.scalar(sa.select(AdminUnit).where(AdminUnit.name == "Thị trấn Thất Khê"))
    body = client.get(f"/api/v1/units/{that_khe.id}", headers=headers).get_json()
    assert body["valid_until"] == "2025-06-30"
    assert len(body["predecessors"]) == 1 and body["predecessors"][0]["kind"] == "partial"  # part of Đại Đồng
    assert len(body["successors"]) == 1 and body["successors"][0]["kind"] == "full"


@pytest.mark.parametrize("value", ["2027-13-01", "05/01/2027", "2027-1-5x", "tomorrow", "0999-01-01", "3000-01-01"])
def test_a_bad_day_is_400_naming_valid_on(client, headers, value):
    response = client.get(f"/api/v1/units?valid_on={value}", headers=headers)
    assert response.status_code == 400
    assert "valid_on" in response.get_json()["error"]["fields"]
