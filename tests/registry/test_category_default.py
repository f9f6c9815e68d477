"""Issue 24, item 3: a site created without a category gets its unit's level's (API and import), not "commune"."""

import io

import pytest
import sqlalchemy as sa

from tests.registry.test_transfer import csv_bytes
from vmeeting.core.extensions import db
from vmeeting.registry import transfer
from vmeeting.registry.models import Endpoint


def category_of(code):
    db.session.rollback()
    return db.session.scalar(sa.select(Endpoint.category).where(Endpoint.code == code))


@pytest.fixture
def units(make_unit, province, district):
    commune = make_unit("Xã Quang Lang", "xã", parent=district, code="187-05")
    ward = make_unit("Phường Kỳ Lừa", "phường", parent=province, code="20-01")  # since 2025: under the province
    return {"province": province, "district": district, "commune": commune, "ward": ward}


def test_the_api_gives_a_site_without_a_category_its_units_level(client, api_headers, units):
    headers = api_headers("admin")
    for code, unit, expected in (("LS-T", "province", "provincial"), ("LS-H", "district", "district"),
                                 ("LS-X", "commune", "commune"), ("LS-P", "ward", "commune")):
        created = client.post("/api/v1/endpoints", headers=headers, json={
            "code": code, "name": f"UBND {code}", "unit_id": units[unit].id, "probe": "none"})
        assert created.status_code == 201, created.get_json()
        assert created.get_json()["category"] == expected and category_of(code) == expected
    blank = client.post("/api/v1/endpoints", headers=headers, json={
        "code": "LS-H2", "name": "Trung tâm huyện", "unit_id": units["district"].id, "category": " ", "probe": "none"})
    assert blank.get_json()["category"] == "district"
    chosen = client.post("/api/v1/endpoints", headers=headers, json={
        "code": "LS-S", "name": "Sở Nội vụ", "unit_id": units["province"].id, "category": "agency", "probe": "none"})
    assert chosen.get_json()["category"] == "agency"
    # a site that has a category keeps it when a change leaves the category blank
    site = chosen.get_json()["id"]
    kept = client.patch(f"/api/v1/endpoints/{site}", headers=headers, json={"category": ""})
    assert kept.status_code == 200 and kept.get_json()["category"] == "agency"


def test_an_import_gives_a_site_without_a_category_its_units_level(units):
    data = csv_bytes([["code", "name", "unit_code", "category", "probe"],
                      ["LS-187", "UBND huyện Chi Lăng", "185", "", "none"],
                      ["LS-187-05", "UBND xã Quang Lang", "187-05", "", "none"],
                      ["LS-20", "Văn phòng UBND tỉnh", "20", "", "none"]])
    rows = transfer.read_rows("moi.csv", io.BytesIO(data))
    report = transfer.check_rows(rows)
    assert report.is_valid, report.error_fields()
    transfer.apply_rows(rows)
    db.session.commit()
    assert [category_of(c) for c in ("LS-187", "LS-187-05", "LS-20")] == ["district", "commune", "provincial"]
    no_column = csv_bytes([["code", "name", "unit_code", "probe"], ["LS-185-2", "Trung tâm VH huyện", "185", "none"]])
    rows = transfer.read_rows("moi.csv", io.BytesIO(no_column))
    assert transfer.check_rows(rows).is_valid
    transfer.apply_rows(rows)
    db.session.commit()
    assert category_of("LS-185-2") == "district"
