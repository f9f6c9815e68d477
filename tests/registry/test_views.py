"""The registry's pages: access rules, CSRF, forms with Vietnamese reasons, search, history, files."""

import csv
import html
import io
import re

import openpyxl
import pytest
import sqlalchemy as sa

from tests.conftest import count, page_text
from vmeeting.audit.models import AuditEvent
from vmeeting.auth.models import PERMISSIONS
from vmeeting.core.extensions import db
from vmeeting.registry import service
from vmeeting.registry.models import AdminUnit, Bridge, Endpoint, EndpointGroup, ImportBatch

ROLES = ("admin", "scheduler", "technician", "viewer")

#: every registry route: (method, Flask rule, path with {ids}, permission)
ROUTES = [
    ("GET", "/endpoints", "/endpoints", "registry.view"),
    ("GET", "/endpoints/<int:endpoint_id>", "/endpoints/{endpoint_id}", "registry.view"),
    ("GET", "/endpoints/new", "/endpoints/new", "endpoints.edit"),
    ("POST", "/endpoints/new", "/endpoints/new", "endpoints.edit"),
    ("GET", "/endpoints/<int:endpoint_id>/edit", "/endpoints/{endpoint_id}/edit", "endpoints.edit"),
    ("POST", "/endpoints/<int:endpoint_id>/edit", "/endpoints/{endpoint_id}/edit", "endpoints.edit"),
    ("GET", "/endpoints/<int:endpoint_id>/retire", "/endpoints/{endpoint_id}/retire", "endpoints.edit"),
    ("POST", "/endpoints/<int:endpoint_id>/retire", "/endpoints/{endpoint_id}/retire", "endpoints.edit"),
    ("GET", "/endpoints/import", "/endpoints/import", "endpoints.edit"),
    ("POST", "/endpoints/import", "/endpoints/import", "endpoints.edit"),
    ("POST", "/endpoints/import/confirm", "/endpoints/import/confirm", "endpoints.edit"),
    ("GET", "/endpoints/export.<any(csv, xlsx):fmt>", "/endpoints/export.csv", "registry.view"),
    ("GET", "/endpoints/export.<any(csv, xlsx):fmt>", "/endpoints/export.xlsx", "registry.view"),
    ("GET", "/endpoints/import/template.xlsx", "/endpoints/import/template.xlsx", "endpoints.edit"),
    ("GET", "/units", "/units", "registry.view"),
    ("GET", "/units/new", "/units/new", "units.edit"),
    ("POST", "/units/new", "/units/new", "units.edit"),
    ("GET", "/units/<int:unit_id>", "/units/{unit_id}", "registry.view"),
    ("GET", "/units/<int:unit_id>/edit", "/units/{unit_id}/edit", "units.edit"),
    ("POST", "/units/<int:unit_id>/edit", "/units/{unit_id}/edit", "units.edit"),
    ("GET", "/bridges", "/bridges", "registry.view"),
    ("GET", "/bridges/new", "/bridges/new", "bridges.edit"),
    ("POST", "/bridges/new", "/bridges/new", "bridges.edit"),
    ("GET", "/bridges/<int:bridge_id>/edit", "/bridges/{bridge_id}/edit", "bridges.edit"),
    ("POST", "/bridges/<int:bridge_id>/edit", "/bridges/{bridge_id}/edit", "bridges.edit"),
    ("GET", "/groups", "/groups", "registry.view"),
    ("GET", "/groups/<int:group_id>", "/groups/{group_id}", "registry.view"),
    ("GET", "/groups/new", "/groups/new", "groups.edit"),
    ("POST", "/groups/new", "/groups/new", "groups.edit"),
    ("GET", "/groups/<int:group_id>/edit", "/groups/{group_id}/edit", "groups.edit"),
    ("POST", "/groups/<int:group_id>/edit", "/groups/{group_id}/edit", "groups.edit"),
]



def field_errors(response, field_id):
    """Return the reasons shown under the form field with that id."""
    body = response.get_data(as_text=True)
    match = re.search(rf'<(?:input|select|textarea)[^>]*\bid="{field_id}"[^>]*>(.*?)(?=<label|</fieldset>|</form>)', body, re.S)
    assert match, f"no field {field_id}"
    assert "is-invalid" in match.group(0).split(">", 1)[0], f"{field_id} is not marked invalid"
    return [html.unescape(r).strip() for r in re.findall(r'class="invalid-feedback[^"]*">([^<]*)<', match.group(1))]


def endpoint_form_data(unit, **changes):
    data = {
        "code": "LS-DL-01", "name": "UBND huyện Đình Lập", "unit_id": str(unit.id), "category": "district",
        "address": "", "status": "active", "sip_uri": "sip:dinhlap@10.0.0.5", "probe": "sip-options",
        "bridge_id": "", "transport": "tslcd", "protocol": "sip", "technician_id": "", "contact_name": "",
        "contact_phone": "", "contact_emails": "", "device_model": "", "device_serial": "",
        "platform_ref": "", "notes": "",
    }
    data.update(changes)
    return data


@pytest.fixture
def commune(make_unit, district):
    return make_unit("Xã Bính Xá", "xã", parent=district, code="186-03")


@pytest.fixture
def records(district, make_endpoint, make_bridge):
    """One of each registry record, for the routes that take an id."""
    bridge = make_bridge()
    endpoint = make_endpoint("UBND huyện Đình Lập", unit=district, bridge_id=bridge.id)
    group = service.save_group(None, "Giao ban khối huyện", "", [endpoint.id])
    db.session.commit()
    return {"endpoint_id": endpoint.id, "unit_id": district.id, "bridge_id": bridge.id, "group_id": group.id}


# -- access ----------------------------------------------------------------------------


def test_the_access_table_lists_every_registry_route(app):
    served = {(method, rule.rule) for rule in app.url_map.iter_rules() if rule.endpoint.startswith("registry.")
              for method in rule.methods - {"HEAD", "OPTIONS"}}
    assert served == {(method, rule) for method, rule, _path, _perm in ROUTES}


@pytest.mark.parametrize("role", [None, *ROLES])
@pytest.mark.parametrize("method, rule, path, permission", ROUTES, ids=[f"{m} {p}" for m, _r, p, _ in ROUTES])
def test_access_follows_the_permissions(client, login_as, get_csrf, records, method, rule, path, permission, role):
    if role:
        login_as(role)
    token = get_csrf("/endpoints" if role else "/login")
    url = path.format(**records)
    events = count(AuditEvent)
    if method == "GET":
        response = client.get(url)
    else:
        response = client.post(url, data={"csrf_token": token})

    if role is None:
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/login?next=")
    elif role in PERMISSIONS[permission]:
        if method == "GET":
            assert response.status_code == 200
        else:  # an empty form is refused with its reasons, or the action is done
            assert response.status_code in (200, 302, 400)
            assert not response.headers.get("Location", "").startswith("/login")
        return
    else:
        assert response.status_code == 403
    assert count(AuditEvent) == events


POST_ROUTES = [(rule, path) for method, rule, path, _perm in ROUTES if method == "POST"]


@pytest.mark.parametrize("rule, path", POST_ROUTES, ids=[p for _r, p in POST_ROUTES])
def test_post_without_csrf_token_is_refused_and_changes_nothing(client, login_as, records, district, rule, path):
    login_as("admin")
    data = endpoint_form_data(district, code="NEW-01")
    data.update(name="Tên mới", kind="xã", ports="10")
    events, endpoints = count(AuditEvent), count(Endpoint)
    response = client.post(path.format(**records), data=data)
    assert response.status_code == 400
    assert "CSRF" in page_text(response)
    assert (count(AuditEvent), count(Endpoint)) == (events, endpoints)
    assert db.session.get(Endpoint, records["endpoint_id"]).status == "active"


def test_readers_see_no_edit_buttons(client, login_as, records):
    login_as("viewer")
    text = page_text(client.get("/endpoints"))
    assert "Xuất CSV" in text and "Thêm điểm cầu" not in text and "Nhập từ tệp" not in text
    text = page_text(client.get(f"/endpoints/{records['endpoint_id']}"))
    assert "/edit" not in text and "/retire" not in text


def test_office_staff_see_the_endpoint_buttons_but_not_the_unit_ones(client, login_as, records):
    login_as("scheduler")
    text = page_text(client.get("/endpoints"))
    assert "Thêm điểm cầu" in text and "Nhập từ tệp" in text and "Xuất XLSX" in text
    assert "/edit" in page_text(client.get(f"/endpoints/{records['endpoint_id']}"))
    assert "Thêm đơn vị" not in page_text(client.get("/units"))


# -- the list --------------------------------------------------------------------------


def test_search_ignores_accents_and_case(client, login_as, make_endpoint, district, province):
    make_endpoint("UBND huyện Đình Lập", unit=district)
    make_endpoint("UBND huyện Bắc Sơn")
    login_as("viewer")
    text = page_text(client.get("/endpoints?q=dinh+lap"))
    assert "UBND huyện Đình Lập" in text and "Bắc Sơn" not in text
    assert 'data-testid="endpoint-total">1<' in text
    assert "UBND huyện Đình Lập" in page_text(client.get("/endpoints?q=ĐÌNH"))


def test_list_is_in_vietnamese_order_with_the_district_of_each_unit(client, login_as, make_endpoint, make_unit, province, district):
    other = make_unit("Huyện Bắc Sơn", "huyện", parent=province, code="184")
    same_name_here = make_unit("Xã Tân Lập", "xã", parent=district, code="186-01")
    same_name_there = make_unit("Xã Tân Lập", "xã", parent=other, code="185-01")
    for name in ("Hữu Lũng", "Đình Lập", "Bắc Sơn", "Cao Lộc"):
        make_endpoint(name)
    make_endpoint("Điểm cầu xã Tân Lập A", unit=same_name_here)
    make_endpoint("Điểm cầu xã Tân Lập B", unit=same_name_there)
    login_as("viewer")
    text = page_text(client.get("/endpoints"))
    positions = [text.index(f">{name}<") for name in ("Bắc Sơn", "Cao Lộc", "Đình Lập", "Hữu Lũng")]
    assert positions == sorted(positions)
    assert "Xã Tân Lập <span class=\"unit-parent\">(Huyện Chi Lăng)</span>" in text
    assert "Xã Tân Lập <span class=\"unit-parent\">(Huyện Bắc Sơn)</span>" in text


def test_unit_filter_includes_the_units_below(client, login_as, make_endpoint, make_unit, province, district, commune):
    other = make_unit("Huyện Bắc Sơn", "huyện", parent=province, code="184")
    make_endpoint("UBND xã Bính Xá", unit=commune)
    make_endpoint("UBND huyện Bắc Sơn", unit=other)
    login_as("viewer")
    text = page_text(client.get(f"/endpoints?unit_id={district.id}"))
    assert "UBND xã Bính Xá" in text and "UBND huyện Bắc Sơn" not in text


def test_status_filter_and_pagination(client, login_as, make_endpoint):
    for n in range(52):
        make_endpoint(f"Điểm cầu {n:02d}")
    make_endpoint("Điểm bảo trì", status="maintenance")
    login_as("viewer")
    first = page_text(client.get("/endpoints"))
    assert first.count('data-testid="endpoint-row"') == 50
    assert "page=2" in first
    second = page_text(client.get("/endpoints?page=2"))
    assert second.count('data-testid="endpoint-row"') == 3
    only = page_text(client.get("/endpoints?status=maintenance"))
    assert only.count('data-testid="endpoint-row"') == 1 and "Điểm bảo trì" in only


# -- detail, create, edit, retire -------------------------------------------------------


def test_detail_shows_every_field_and_the_history(client, login_as, make_user, make_endpoint, make_bridge, commune):
    tech = make_user("technician", username="kt-dinh-lap", full_name="Nguyễn Văn Kỹ")
    bridge = make_bridge(name="MCU Lạng Sơn")
    endpoint = make_endpoint("UBND xã Bính Xá", unit=commune, bridge_id=bridge.id, technician_id=tech.id,
                             contact_emails=["vp@binhxa.vn", "ct@binhxa.vn"], contact_phone="0205 3880 111",
                             transport="wan", probe="tcp")
    login_as("viewer")
    text = page_text(client.get(f"/endpoints/{endpoint.id}"))
    for expected in ("Xã Bính Xá", "(Huyện Chi Lăng)", "Nguyễn Văn Kỹ", "MCU Lạng Sơn", "vp@binhxa.vn, ",
                     "ct@binhxa.vn", "0205 3880 111", "WAN", "Kết nối TCP", "Thư điện tử liên hệ", "Kỹ thuật viên",
                     "Lịch sử thay đổi", "Tạo mới"):
        assert expected in text, expected
    assert re.search(r"\d{2}/\d{2}/\d{4} \d{2}:\d{2}", text)


def test_create_endpoint(client, login_as, get_csrf, district, make_user):
    tech = make_user("technician", full_name="Kỹ thuật viên A")
    user = login_as("scheduler")
    data = endpoint_form_data(district, technician_id=str(tech.id), contact_emails="a@x.vn; b@x.vn")
    response = client.post("/endpoints/new", data={**data, "csrf_token": get_csrf("/endpoints/new")})
    assert response.status_code == 302
    endpoint = db.session.scalar(sa.select(Endpoint).where(Endpoint.code == "LS-DL-01"))
    assert response.headers["Location"] == f"/endpoints/{endpoint.id}"
    assert (endpoint.unit_id, endpoint.technician_id, endpoint.contact_emails) == (district.id, tech.id, ["a@x.vn", "b@x.vn"])
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.entity_type == "endpoint"))
    assert event.actor_id == user.id
    assert "Đã thêm điểm cầu UBND huyện Đình Lập." in page_text(client.get(response.headers["Location"]))


def test_edit_form_shows_the_stored_values(client, login_as, make_endpoint, district):
    endpoint = make_endpoint("UBND huyện Đình Lập", unit=district, contact_emails=["a@x.vn", "b@x.vn"])
    login_as("admin")
    text = page_text(client.get(f"/endpoints/{endpoint.id}/edit"))
    assert 'value="a@x.vn, b@x.vn"' in text
    assert f'<option selected value="{district.id}">' in text


@pytest.mark.parametrize("field, value, reason", [
    ("sip_uri", "http://not-sip", "Địa chỉ SIP phải có dạng"),
    ("contact_emails", "vp@binhxa.vn, khong-phai-thu", "Địa chỉ thư «khong-phai-thu» không hợp lệ."),
    ("code", "mã có dấu", "Mã chỉ gồm chữ không dấu"),
    ("name", "", "Nhập tên điểm cầu."),
    ("unit_id", "", "Chọn đơn vị."),
    ("contact_phone", "gọi tôi", "Số điện thoại chỉ gồm số"),
])
def test_create_with_a_bad_field_shows_the_reason_on_it_and_stores_nothing(client, login_as, get_csrf, district, field, value, reason):
    login_as("admin")  # the one role that may set a SIP address
    events = count(AuditEvent)
    data = endpoint_form_data(district, **{field: value})
    response = client.post("/endpoints/new", data={**data, "csrf_token": get_csrf("/endpoints/new")})
    assert response.status_code == 400
    assert any(reason in shown for shown in field_errors(response, field))
    assert count(Endpoint) == 0 and count(AuditEvent) == events
    assert html.escape(value, quote=True) in response.get_data(as_text=True)  # what was typed is kept


def test_create_with_a_taken_code_names_the_other_endpoint(client, login_as, get_csrf, make_endpoint, district):
    make_endpoint("UBND huyện Đình Lập", unit=district, code="LS-DL-01")
    login_as("scheduler")
    response = client.post("/endpoints/new", data={**endpoint_form_data(district), "csrf_token": get_csrf("/endpoints/new")})
    assert response.status_code == 400
    assert field_errors(response, "code") == ["Mã «LS-DL-01» đã được dùng cho điểm cầu «UBND huyện Đình Lập»."]
    assert count(Endpoint) == 1


def test_edit_with_a_bad_field_changes_nothing(client, login_as, get_csrf, make_endpoint, district):
    endpoint = make_endpoint("UBND huyện Đình Lập", unit=district, code="LS-DL-01", contact_phone="0205 111 222")
    login_as("scheduler")
    url = f"/endpoints/{endpoint.id}/edit"
    data = endpoint_form_data(district, name="Tên đã đổi", contact_phone="không có", sip_uri=endpoint.sip_uri)
    events = count(AuditEvent)
    response = client.post(url, data={**data, "csrf_token": get_csrf(url)})
    assert response.status_code == 400
    assert field_errors(response, "contact_phone") == ["Số điện thoại chỉ gồm số, dấu cách và + ( ) . -"]
    db.session.expire_all()
    endpoint = db.session.get(Endpoint, endpoint.id)
    assert (endpoint.name, endpoint.contact_phone) == ("UBND huyện Đình Lập", "0205 111 222")
    assert count(AuditEvent) == events


def test_edit_records_the_change_in_the_history(client, login_as, get_csrf, make_endpoint, make_bridge, district):
    bridge = make_bridge(name="MCU Tỉnh")
    endpoint = make_endpoint("UBND huyện Đình Lập", unit=district, code="LS-DL-01", contact_phone="0205 111 222")
    login_as("scheduler", full_name="Trần Thị Văn Phòng")
    url = f"/endpoints/{endpoint.id}/edit"
    data = endpoint_form_data(district, contact_phone="0205 999 888", bridge_id=str(bridge.id),
                              status="maintenance", sip_uri=endpoint.sip_uri)
    response = client.post(url, data={**data, "csrf_token": get_csrf(url)})
    assert response.status_code == 302
    text = page_text(client.get(response.headers["Location"]))
    history = text[text.index('data-testid="history"'):]
    assert "Trần Thị Văn Phòng" in history
    assert "<del>0205 111 222</del> → <ins>0205 999 888</ins>" in history
    assert "<del>—</del> → <ins>MCU Tỉnh</ins>" in history
    assert "<del>Hoạt động</del> → <ins>Bảo trì</ins>" in history


def test_retire_keeps_the_row_and_shows_it_in_the_history(client, login_as, get_csrf, make_endpoint, district):
    endpoint = make_endpoint("UBND huyện Đình Lập", unit=district)
    login_as("scheduler")
    url = f"/endpoints/{endpoint.id}/retire"
    assert "Xác nhận ngừng sử dụng" in page_text(client.get(url))
    assert db.session.get(Endpoint, endpoint.id).status == "active"  # asking is not doing
    response = client.post(url, data={"csrf_token": get_csrf(url)})
    assert response.status_code == 302
    db.session.expire_all()
    kept = db.session.get(Endpoint, endpoint.id)
    assert kept.status == "retired" and kept.retired_at is not None
    text = page_text(client.get(f"/endpoints/{endpoint.id}"))
    history = text[text.index('data-testid="history"'):]
    assert "Ngừng sử dụng" in history and "<del>Hoạt động</del> → <ins>Ngừng sử dụng</ins>" in history
    assert "UBND huyện Đình Lập" in page_text(client.get("/endpoints?status=retired"))


def test_missing_records_answer_404(client, login_as):
    login_as("admin")
    for path in ("/endpoints/999", "/endpoints/999/edit", "/units/999/edit", "/bridges/999/edit", "/groups/999"):
        assert client.get(path).status_code == 404, path


# -- units and bridges -----------------------------------------------------------------


def test_create_unit_with_dates_entered_day_first(client, login_as, get_csrf, province):
    login_as("admin")
    data = {"name": "Xã Hòa Bình", "code": "187-05", "kind": "xã", "parent_id": str(province.id),
            "valid_from": "01/07/2025", "valid_to": "", "csrf_token": get_csrf("/units/new")}
    response = client.post("/units/new", data=data)
    assert response.status_code == 302
    unit = db.session.scalar(sa.select(AdminUnit).where(AdminUnit.code == "187-05"))
    assert (unit.level, unit.parent_id, unit.valid_from.isoformat(), unit.valid_to) == ("commune", province.id, "2025-07-01", None)
    text = page_text(client.get("/units"))
    assert "Xã Hòa Bình" in text and "01/07/2025" in text
    assert 'value="01/07/2025"' in page_text(client.get(f"/units/{unit.id}/edit"))


@pytest.mark.parametrize("changes, field, reason", [
    ({"valid_from": "2025-07-01"}, "valid_from", "Ngày phải có dạng dd/mm/yyyy"),
    ({"valid_from": "31/02/2025"}, "valid_from", "Ngày phải có dạng dd/mm/yyyy"),
    ({"valid_from": "01/07/2025", "valid_to": "30/06/2025"}, "valid_to", "Ngày hết hiệu lực phải sau ngày có hiệu lực."),
    ({"name": ""}, "name", "Nhập tên đơn vị"),
    ({"kind": "làng"}, "kind", "Loại đơn vị không hợp lệ."),
])
def test_bad_unit_shows_the_reason_on_the_field(client, login_as, get_csrf, province, changes, field, reason):
    login_as("admin")
    data = {"name": "Xã Hòa Bình", "code": "187-05", "kind": "xã", "parent_id": str(province.id),
            "valid_from": "", "valid_to": "", **changes, "csrf_token": get_csrf("/units/new")}
    response = client.post("/units/new", data=data)
    assert response.status_code == 400
    assert any(reason in shown for shown in field_errors(response, field))
    assert count(AdminUnit) == 1


def test_a_unit_cannot_be_its_own_parent(client, login_as, get_csrf, province, district):
    login_as("admin")
    url = f"/units/{district.id}/edit"
    data = {"name": district.name, "code": district.code, "kind": "huyện", "parent_id": str(district.id),
            "valid_from": "", "valid_to": "", "csrf_token": get_csrf(url)}
    response = client.post(url, data=data)
    assert response.status_code == 400
    assert field_errors(response, "parent_id") == ["Đơn vị cấp trên không thể là chính nó hoặc đơn vị cấp dưới của nó."]
    db.session.expire_all()
    assert db.session.get(AdminUnit, district.id).parent_id == province.id


def test_create_and_edit_bridge(client, login_as, get_csrf):
    login_as("admin")
    response = client.post("/bridges/new", data={"code": "MCU-01", "name": "MCU VNPT Lạng Sơn", "ports": "40",
                                                 "is_active": "y", "csrf_token": get_csrf("/bridges/new")})
    assert response.status_code == 302
    bridge = db.session.scalar(sa.select(Bridge))
    assert (bridge.ports, bridge.is_active) == (40, True)
    url = f"/bridges/{bridge.id}/edit"
    response = client.post(url, data={"code": "MCU-01", "name": "MCU VNPT Lạng Sơn", "ports": "bốn mươi",
                                      "csrf_token": get_csrf(url)})
    assert response.status_code == 400
    assert field_errors(response, "ports") == ["Số cổng phải là số nguyên từ 1 đến 100000."]
    db.session.expire_all()
    assert db.session.get(Bridge, bridge.id).ports == 40
    response = client.post(url, data={"code": "MCU-01", "name": "MCU VNPT Lạng Sơn", "ports": "60",
                                      "csrf_token": get_csrf(url)})
    assert response.status_code == 302
    db.session.expire_all()
    assert (db.session.get(Bridge, bridge.id).ports, db.session.get(Bridge, bridge.id).is_active) == (60, False)
    assert "MCU VNPT Lạng Sơn" in page_text(client.get("/bridges"))


# -- groups ----------------------------------------------------------------------------


def test_group_takes_whole_units_and_single_endpoints(client, login_as, get_csrf, make_endpoint, make_unit, province, district, commune):
    other = make_unit("Huyện Bắc Sơn", "huyện", parent=province, code="184")
    in_district = make_endpoint("UBND huyện Đình Lập", unit=district)
    in_commune = make_endpoint("UBND xã Bính Xá", unit=commune)
    retired = make_endpoint("Điểm cũ Đình Lập", unit=commune, status="maintenance")
    service.retire_endpoint(retired)
    db.session.commit()
    single = make_endpoint("UBND huyện Bắc Sơn", unit=other)
    make_endpoint("UBND xã Vũ Lễ", unit=other)
    login_as("scheduler")
    form = page_text(client.get("/groups/new"))
    assert "Huyện Chi Lăng" in form and "Điểm cũ Đình Lập" not in form
    response = client.post("/groups/new", data={
        "name": "Giao ban Đình Lập", "description": "Thứ Hai hằng tuần", "unit_ids": [str(district.id)],
        "endpoint_ids": [str(single.id)], "csrf_token": get_csrf("/groups/new"),
    })
    assert response.status_code == 302
    group = db.session.scalar(sa.select(EndpointGroup))
    assert {e.id for e in group.endpoints} == {in_district.id, in_commune.id, single.id}
    detail = page_text(client.get(response.headers["Location"]))
    assert detail.count('data-testid="member-row"') == 3 and "Thứ Hai hằng tuần" in detail

    url = f"/groups/{group.id}/edit"
    edit = page_text(client.get(url))
    assert f'value="{single.id}" id="ep-pick-{single.id}" checked' in edit
    response = client.post(url, data={"name": "Giao ban Đình Lập", "endpoint_ids": [str(single.id)],
                                      "csrf_token": get_csrf(url)})
    assert response.status_code == 302
    db.session.expire_all()
    assert [e.id for e in db.session.get(EndpointGroup, group.id).endpoints] == [single.id]
    assert "Giao ban Đình Lập" in page_text(client.get("/groups"))


def test_group_with_a_taken_name_or_bad_ids_is_refused(client, login_as, get_csrf, records):
    login_as("scheduler")
    response = client.post("/groups/new", data={"name": "Giao ban khối huyện", "endpoint_ids": ["99999"],
                                                "csrf_token": get_csrf("/groups/new")})
    assert response.status_code == 400
    assert field_errors(response, "name") == ["Đã có nhóm «Giao ban khối huyện»."]
    assert "Có điểm cầu không tồn tại." in page_text(response)
    response = client.post("/groups/new", data={"name": "Nhóm mới", "endpoint_ids": ["abc"],
                                                "csrf_token": get_csrf("/groups/new")})
    assert response.status_code == 400
    assert "Lựa chọn không hợp lệ." in page_text(response)
    assert count(EndpointGroup) == 1


# -- import and export -----------------------------------------------------------------


def csv_upload(lines):
    out = io.StringIO(newline="")
    csv.writer(out, lineterminator="\r\n").writerows(lines)
    return io.BytesIO(out.getvalue().encode("utf-8"))


def upload(client, get_csrf, data, filename="diem-cau.csv"):
    return client.post("/endpoints/import", content_type="multipart/form-data",
                       data={"file": (data, filename), "csrf_token": get_csrf("/endpoints/import")})


def test_import_preview_lists_every_bad_row_and_stores_nothing(client, login_as, get_csrf, district):
    login_as("scheduler")
    events = count(AuditEvent)
    response = upload(client, get_csrf, csv_upload([
        ["code", "name", "unit_code", "probe", "contact_emails"],
        ["LS-01", "UBND xã Bính Xá", "185", "none", ""],
        ["", "Thiếu mã", "185", "none", ""],
        ["LS-03", "Đơn vị lạ", "999", "none", ""],
        ["LS-04", "Thư sai", "185", "none", "khong-phai-thu"],
    ]))
    assert response.status_code == 200
    text = page_text(response)
    assert text.count('data-testid="bad-row"') == 3
    for reason in ("Nhập mã điểm cầu.", "Không có đơn vị mã «999» đang có hiệu lực.",
                   "Địa chỉ thư «khong-phai-thu» không hợp lệ."):
        assert reason in text
    assert "Xác nhận nhập" not in text
    assert (count(Endpoint), count(ImportBatch), count(AuditEvent)) == (0, 0, events)


def test_unusable_file_is_refused_on_the_file_field(client, login_as, get_csrf):
    login_as("scheduler")
    response = upload(client, get_csrf, io.BytesIO(b"anything"), filename="diem-cau.txt")
    assert response.status_code == 400
    assert field_errors(response, "file") == ["Chỉ nhận tệp .csv hoặc .xlsx."]
    response = client.post("/endpoints/import", data={"csrf_token": get_csrf("/endpoints/import")})
    assert response.status_code == 400
    assert field_errors(response, "file") == ["Chọn một tệp CSV hoặc XLSX."]


def test_good_import_commits_after_confirmation(client, login_as, get_csrf, make_endpoint, district, commune):
    existing = make_endpoint("UBND huyện Đình Lập", unit=district, code="LS-186")
    login_as("admin")  # the one role that may set a SIP address
    response = upload(client, get_csrf, csv_upload([
        ["code", "name", "unit_code", "sip_uri", "contact_phone"],
        ["LS-186", "UBND huyện Đình Lập", "185", existing.sip_uri, "0205 3845 000"],
        ["LS-186-03", "UBND xã Bính Xá", "186-03", "sip:binhxa@10.0.0.9", ""],
    ]))
    assert response.status_code == 200
    text = page_text(response)
    assert "1 điểm cầu mới" in text and "1 cập nhật" in text
    assert count(Endpoint) == 1  # a preview writes nothing yet
    token = re.search(r'name="token" type="hidden" value="([^"]+)"', text).group(1)
    response = client.post("/endpoints/import/confirm", data={"token": token, "csrf_token": get_csrf("/endpoints")})
    assert response.status_code == 302 and response.headers["Location"] == "/endpoints"
    db.session.expire_all()
    assert count(Endpoint) == 2
    assert db.session.get(Endpoint, existing.id).contact_phone == "0205 3845 000"
    created = db.session.scalar(sa.select(Endpoint).where(Endpoint.code == "LS-186-03"))
    assert created.unit_id == commune.id
    assert "1 điểm cầu mới, 1 điểm cầu được cập nhật" in page_text(client.get("/endpoints"))

    # The same preview cannot be applied twice.
    response = client.post("/endpoints/import/confirm", data={"token": token, "csrf_token": get_csrf("/endpoints")})
    assert response.status_code == 302 and response.headers["Location"] == "/endpoints/import"
    assert "đã hết hạn hoặc đã được nhập" in page_text(client.get("/endpoints/import"))
    assert count(Endpoint) == 2


def test_import_of_another_user_cannot_be_confirmed(client, login_as, get_csrf, make_user, district):
    from vmeeting.registry import transfer

    other = make_user("scheduler")
    batch = transfer.stage_import([{"code": "LS-1", "name": "A", "unit_code": "185", "_row": 2}], "a.csv", other)
    db.session.commit()
    login_as("scheduler")
    response = client.post("/endpoints/import/confirm", data={"token": batch.token, "csrf_token": get_csrf("/endpoints")})
    assert response.status_code == 302
    assert count(Endpoint) == 0


def test_export_downloads_both_formats_with_the_list_filters(client, login_as, make_endpoint, district):
    make_endpoint("UBND huyện Đình Lập", unit=district, code="LS-186")
    make_endpoint("UBND huyện Bắc Sơn", code="LS-185")
    login_as("viewer")
    response = client.get("/endpoints/export.csv?q=dinh+lap")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"].startswith('attachment; filename="diem-cau-')
    rows = list(csv.DictReader(io.StringIO(response.get_data().decode("utf-8-sig"))))
    assert [(r["Mã điểm cầu"], r["Tên điểm cầu"], r["Đơn vị"], r["Trạng thái"]) for r in rows] == [
        ("LS-186", "UBND huyện Đình Lập", "Huyện Chi Lăng", "Hoạt động")]
    response = client.get("/endpoints/export.csv?q=dinh+lap&columns=technical")
    rows = list(csv.DictReader(io.StringIO(response.get_data().decode("utf-8-sig"))))
    assert [(r["code"], r["name"], r["unit_name"], r["status"]) for r in rows] == [
        ("LS-186", "UBND huyện Đình Lập", "Huyện Chi Lăng", "active")]

    response = client.get("/endpoints/export.xlsx")
    assert response.status_code == 200
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert response.headers["Content-Disposition"].endswith('.xlsx"')
    sheet = openpyxl.load_workbook(io.BytesIO(response.get_data())).worksheets[0]
    values = list(sheet.iter_rows(values_only=True))
    assert values[0][:2] == ("Mã điểm cầu", "Tên điểm cầu")
    assert [row[1] for row in values[1:]] == ["UBND huyện Bắc Sơn", "UBND huyện Đình Lập"]


def test_pages_speak_english_when_asked(client, login_as, get_csrf, records):
    login_as("scheduler")
    client.post("/lang/en", data={"csrf_token": get_csrf("/endpoints")})
    text = page_text(client.get("/endpoints"))
    assert "Add endpoint" in text and "Import from file" in text
    assert "Endpoint code" in page_text(client.get("/endpoints/new"))


def test_a_schedulers_file_that_directs_the_probes_is_refused_in_the_preview(client, login_as, get_csrf, district):
    """Only admins set where the probes dial (issue 11, case 5): the preview says so, before any confirm."""
    login_as("scheduler")
    response = upload(client, get_csrf, csv_upload([
        ["code", "name", "unit_code", "probe", "sip_uri"],
        ["LS-01", "UBND xã Bính Xá", "185", "tcp", "sip:scan@127.0.0.1:5432"],
    ]))
    assert response.status_code == 200
    text = page_text(response)
    assert text.count('data-testid="bad-row"') == 1 and "Xác nhận nhập" not in text
    assert (count(Endpoint), count(ImportBatch)) == (0, 0)


def test_the_unit_filter_offers_provinces_and_districts_and_the_unit_asked_for(client, login_as, make_endpoint,
                                                                               make_unit, district):
    commune = make_unit("Xã Quang Lang", "xã", parent=district)
    make_endpoint("UBND xã Quang Lang", unit=commune)
    login_as("viewer")
    select = lambda html: html.split('id="unit_id"', 1)[1].split("</select>", 1)[0]  # noqa: E731
    names = lambda html: [n.replace("\xa0", " ").strip() for n in re.findall(r"<option[^>]*>([^<]*)</option>", select(html))]  # noqa: E731
    assert names(client.get("/endpoints").get_data(as_text=True)) == ["Tất cả đơn vị", "Tỉnh Lạng Sơn", "Huyện Chi Lăng"]
    html = client.get(f"/endpoints?unit_id={commune.id}").get_data(as_text=True)
    assert names(html) == ["Tất cả đơn vị", "Tỉnh Lạng Sơn", "Huyện Chi Lăng", "Xã Quang Lang"]
    assert f'<option value="{commune.id}" selected>' in select(html)
    assert "UBND xã Quang Lang" in html


def test_the_country_units_page_folds_each_districts_communes_behind_a_link(client, login_as, make_unit, district,
                                                                           monkeypatch):
    from vmeeting.registry import views

    for name in ("Xã Quang Lang", "Xã Mai Sao"):
        make_unit(name, "xã", parent=district)
    login_as("viewer")
    names = lambda page: re.findall(r'data-testid="unit">\s*<a[^>]*>([^<]+)</a>', page)  # noqa: E731
    assert names(client.get("/units").get_data(as_text=True)) == [
        "Tỉnh Lạng Sơn", "Huyện Chi Lăng", "Xã Quang Lang", "Xã Mai Sao"]
    monkeypatch.setattr(views, "UNITS_SHOWN", 2)
    page = client.get("/units").get_data(as_text=True)
    assert names(page) == ["Tỉnh Lạng Sơn", "Huyện Chi Lăng"]
    assert f'href="/units?under={district.id}">2 xã, phường</a>' in page
    one = client.get(f"/units?under={district.id}").get_data(as_text=True)
    assert names(one) == ["Huyện Chi Lăng", "Xã Quang Lang", "Xã Mai Sao"] and 'data-testid="units-all"' in one
    assert client.get("/units?under=99999999999999999999").status_code == 200
