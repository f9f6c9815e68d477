"""The registry's JSON API against CONTRACT.md: sign-in, roles, errors, search, round trips."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from tests.conftest import csrf_token
from vmeeting.audit.models import AuditEvent
from vmeeting.core.extensions import db
from vmeeting.registry.models import Endpoint

WRITERS = ("admin", "scheduler")
READERS = ("technician", "viewer")


def error_of(response, status):
    """Assert the contract's error shape and status; return the error object."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    error = response.get_json()["error"]
    assert isinstance(error["code"], str) and error["code"]
    assert isinstance(error["message"], str) and error["message"]
    return error


def count_endpoints():
    return db.session.scalar(sa.select(sa.func.count()).select_from(Endpoint))


@pytest.fixture
def headers(api_headers):
    """Authorization headers of one admin for the test."""
    return api_headers("admin")


def new_endpoint(unit, **extra):
    return {"code": "DL-UBND", "name": "UBND huyện Đình Lập", "unit_id": unit.id,
            "sip_uri": "sip:dinhlap@10.20.0.5", "contact_emails": ["vp@dinhlap.langson.gov.vn"], **extra}


# -- signing in ------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/api/v1/endpoints", "/api/v1/units", "/api/v1/bridges", "/api/v1/endpoints/1"])
def test_no_token_is_401_with_a_challenge(client, path):
    response = client.get(path)
    error = error_of(response, 401)
    assert error["code"] == "unauthorized"
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="vmeeting"'


@pytest.mark.parametrize("header", ["Bearer vmt_not-a-real-token", "Bearer ", "Basic YWRtaW46YWRtaW4=",
                                    "vmt_token-without-scheme", "Bearer " + "x" * 5000])
def test_bad_token_is_401(client, header):
    response = client.get("/api/v1/endpoints", headers={"Authorization": header})
    error_of(response, 401)
    assert response.headers["WWW-Authenticate"].startswith('Bearer realm="vmeeting", error="invalid_token"')


def test_a_disabled_users_token_is_401(client, api_headers, make_user):
    from vmeeting.auth import service

    user = make_user("scheduler")
    headers = api_headers(user=user)
    assert client.get("/api/v1/units", headers=headers).status_code == 200
    service.update_user(user, {"is_enabled": False})
    db.session.commit()
    error_of(client.get("/api/v1/units", headers=headers), 401)


def test_a_browser_session_alone_is_401(client, login_as, province):
    login_as("admin")
    assert client.get("/account").status_code == 200  # the cookie does sign in the pages
    error_of(client.get("/api/v1/endpoints"), 401)
    response = client.post("/api/v1/endpoints", json=new_endpoint(province),
                           headers={"X-CSRFToken": csrf_token(client, "/account")})
    error_of(response, 401)
    assert count_endpoints() == 0


def test_the_api_takes_no_csrf_token(client, headers, province):
    response = client.post("/api/v1/endpoints", json=new_endpoint(province), headers=headers)
    assert response.status_code == 201


# -- roles -----------------------------------------------------------------------------


@pytest.mark.parametrize("role", READERS)
def test_readers_cannot_write(client, api_headers, make_endpoint, province, role):
    headers = api_headers(role)
    endpoint = make_endpoint()
    for method, path, body in [
        ("POST", "/api/v1/endpoints", new_endpoint(province)),
        ("PATCH", f"/api/v1/endpoints/{endpoint.id}", {"name": "Đổi tên"}),
        ("DELETE", f"/api/v1/endpoints/{endpoint.id}", None),
    ]:
        error = error_of(client.open(path, method=method, json=body, headers=headers), 403)
        assert error["code"] == "forbidden"
    db.session.expire_all()
    assert (count_endpoints(), db.session.get(Endpoint, endpoint.id).status) == (1, "active")
    assert client.get("/api/v1/endpoints", headers=headers).status_code == 200


@pytest.mark.parametrize("role", WRITERS)
def test_writers_can_write(client, api_headers, make_endpoint, province, role):
    headers = api_headers(role)
    endpoint = make_endpoint()
    body = new_endpoint(province)
    if role != "admin":  # only admins set where the probes dial (tests/registry/test_dial_rights.py)
        body = {k: v for k, v in body.items() if k not in ("sip_uri", "probe")}
    assert client.post("/api/v1/endpoints", json=body, headers=headers).status_code == 201
    assert client.patch(f"/api/v1/endpoints/{endpoint.id}", json={"name": "Đổi tên"}, headers=headers).status_code == 200
    assert client.delete(f"/api/v1/endpoints/{endpoint.id}", headers=headers).status_code == 200


# -- not found, method not allowed -----------------------------------------------------


@pytest.mark.parametrize("method", ["GET", "PATCH", "DELETE"])
@pytest.mark.parametrize("endpoint_id", [999999, 2**31, 10**30])
def test_missing_endpoint_is_404(client, headers, method, endpoint_id):
    response = client.open(f"/api/v1/endpoints/{endpoint_id}", method=method, json={"name": "x"}, headers=headers)
    assert error_of(response, 404)["code"] == "not_found"


@pytest.mark.parametrize("path", ["/api/v1/units/999999", "/api/v1/bridges/999999"])
def test_missing_unit_or_bridge_is_404(client, headers, path):
    error_of(client.get(path, headers=headers), 404)


@pytest.mark.parametrize("path", ["/api/v1/no-such-thing", "/api/v1/endpoints/abc", "/api/v1/endpoints/1/x", "/api/v2/units"])
def test_unknown_api_path_is_404_in_json(client, headers, path):
    error_of(client.get(path, headers=headers), 404)


def test_wrong_method_is_405_in_json_with_allow(client, headers):
    response = client.put("/api/v1/endpoints", json={}, headers=headers)
    assert error_of(response, 405)["code"] == "method_not_allowed"
    assert {"GET", "POST"} <= {m.strip() for m in response.headers["Allow"].split(",")}


# -- bad input: 400 naming each bad field ---------------------------------------------


@pytest.mark.parametrize("change, field", [
    ({"code": "mã có dấu"}, "code"),
    ({"code": ""}, "code"),
    ({"name": ""}, "name"),
    ({"unit_id": 999999}, "unit_id"),
    ({"unit_id": "abc"}, "unit_id"),
    ({"unit_id": 1.5}, "unit_id"),
    ({"unit_id": True}, "unit_id"),
    ({"unit_id": 10**30}, "unit_id"),
    ({"unit_id": None}, "unit_id"),
    ({"contact_emails": ["vp@dinhlap.vn", "khong-phai-thu"]}, "contact_emails"),
    ({"contact_emails": {"a": 1}}, "contact_emails"),
    ({"probe": "ping"}, "probe"),
    ({"status": "broken"}, "status"),
    ({"bridge_id": 2**40}, "bridge_id"),
    ({"technician_id": 999999}, "technician_id"),
    ({"sip_uri": "http://not-sip"}, "sip_uri"),
    ({"sip_uri": "sip:room@ubnd..langson.gov.vn"}, "sip_uri"),
    ({"sip_uri": f"sip:room@{'x' * 64}.langson.gov.vn"}, "sip_uri"),
    ({"sip_uri": "sip:phònghọp@vc.langson.example.vn"}, "sip_uri"),
    ({"sip_uri": "sip:room@-vc.langson.example.vn"}, "sip_uri"),
    ({"colour": "blue"}, "colour"),
])
def test_bad_field_is_400_naming_it_and_stores_nothing(client, headers, district, change, field):
    response = client.post("/api/v1/endpoints", json={**new_endpoint(district), **change}, headers=headers)
    error = error_of(response, 400)
    assert error["code"] == "validation_error"
    assert field in error["fields"], error
    assert isinstance(error["fields"][field], str) and error["fields"][field]
    assert count_endpoints() == 0


@pytest.mark.parametrize("uri, message", [
    ("sip:phònghọp@vc.langson.example.vn", "Địa chỉ SIP chỉ được gồm chữ không dấu"),
    ("sip:room@ubnd..langson.gov.vn", "mỗi phần tên máy giữa hai dấu chấm dài 1–63 ký tự"),
    (f"sip:room@{'x' * 64}.langson.gov.vn", "mỗi phần tên máy giữa hai dấu chấm dài 1–63 ký tự"),
    ("sip:room@" + ".".join(["a" * 60] * 5), "Tên máy trong địa chỉ SIP dài tối đa 253 ký tự."),
    ("sip:room@vc.langson.example.vn:99999", "Cổng trong địa chỉ SIP phải từ 1 đến 65535."),
    ("sip:room@vc.langson.example.vn;transport=ws", "Không hỗ trợ giao thức truyền «ws»"),
    ("sip:room@ho_st", "mỗi phần tên máy giữa hai dấu chấm dài 1–63 ký tự"),
])
def test_sip_uris_the_probe_could_not_use_are_refused_at_entry(client, headers, district, uri, message):
    """What once broke a whole probe sweep (the resolver or the ASCII request choking on it) stops here."""
    body = new_endpoint(district, sip_uri=uri)
    fields = error_of(client.post("/api/v1/endpoints", json=body, headers=headers), 400)["fields"]
    assert list(fields) == ["sip_uri"] and message in fields["sip_uri"]


@pytest.mark.parametrize("uri", ["sip:ls-178@vc.langson.example.vn", "sips:ls-178@vc.langson.example.vn:5061",
                                 "sip:dinhlap@10.20.0.5;transport=tcp", "sip:[2001:db8::1]:5062", "sip:room@localhost"])
def test_ordinary_sip_uris_are_accepted(client, headers, district, uri):
    response = client.post("/api/v1/endpoints", json=new_endpoint(district, sip_uri=uri), headers=headers)
    assert response.status_code == 201, response.get_json()


def test_every_bad_field_is_named_at_once(client, headers, district):
    body = new_endpoint(district, code="mã sai", unit_id="abc", probe="ping", contact_emails=["x@"])
    fields = error_of(client.post("/api/v1/endpoints", json=body, headers=headers), 400)["fields"]
    assert {"code", "unit_id", "probe", "contact_emails"} <= set(fields)
    assert fields["contact_emails"] == "Địa chỉ thư «x@» không hợp lệ."


def test_a_taken_code_is_400_on_code(client, headers, make_endpoint, district):
    taken = make_endpoint(code="DL-UBND")
    fields = error_of(client.post("/api/v1/endpoints", json=new_endpoint(district), headers=headers), 400)["fields"]
    assert fields["code"] == f"Mã «DL-UBND» đã được dùng cho điểm cầu «{taken.name}»."


@pytest.mark.parametrize("data, content_type", [
    ('{"code": "DL-UBND", "name": ', "application/json"),
    ("not json at all", "application/json"),
    ('["a", "list"]', "application/json"),
    ("null", "application/json"),
    ('{"code": "DL-UBND"}', "text/plain"),
])
def test_malformed_body_is_400_on_body(client, headers, data, content_type):
    for method, path in (("POST", "/api/v1/endpoints"),):
        response = client.open(path, method=method, data=data, content_type=content_type, headers=headers)
        assert "body" in error_of(response, 400)["fields"]


def test_malformed_patch_body_is_400(client, headers, make_endpoint):
    endpoint = make_endpoint()
    response = client.patch(f"/api/v1/endpoints/{endpoint.id}", data="{oops", content_type="application/json",
                            headers=headers)
    assert "body" in error_of(response, 400)["fields"]


def test_a_bad_patch_changes_nothing(client, headers, make_endpoint):
    endpoint = make_endpoint(name="UBND xã Bính Xá")
    response = client.patch(f"/api/v1/endpoints/{endpoint.id}", json={"name": "Tên mới", "probe": "ping"},
                            headers=headers)
    assert set(error_of(response, 400)["fields"]) == {"probe"}
    db.session.expire_all()
    assert db.session.get(Endpoint, endpoint.id).name == "UBND xã Bính Xá"


@pytest.mark.parametrize("query, field", [
    ("page=0", "page"),
    ("page=-1", "page"),
    ("page=abc", "page"),
    ("page=1.5", "page"),
    ("page=²", "page"),
    ("page=99999999999999999999", "page"),
    ("per_page=0", "per_page"),
    ("per_page=501", "per_page"),
    ("per_page=many", "per_page"),
    ("unit_id=abc", "unit_id"),
    ("unit_id=-3", "unit_id"),
    ("unit_id=999999", "unit_id"),
    ("unit_id=99999999999999999999", "unit_id"),
    ("status=broken", "status"),
    ("q=" + "a" * 201, "q"),
])
def test_bad_query_parameter_is_400_naming_it(client, headers, query, field):
    error = error_of(client.get(f"/api/v1/endpoints?{query}", headers=headers), 400)
    assert set(error["fields"]) == {field}


@pytest.mark.parametrize("path", ["/api/v1/units", "/api/v1/bridges"])
def test_every_list_checks_its_pages(client, headers, path):
    assert set(error_of(client.get(f"{path}?per_page=501&page=0", headers=headers), 400)["fields"]) == {
        "page", "per_page"}


# -- round trip ------------------------------------------------------------------------


def test_create_read_patch_retire_round_trip(client, headers, district, make_bridge, make_user):
    bridge = make_bridge(ports=40)
    tech = make_user("technician")
    body = new_endpoint(district, bridge_id=bridge.id, technician_id=tech.id, probe="tcp", contact_name="Chị Hà",
                        contact_phone="0205 3845 123", address="Thị trấn Đình Lập", notes="Phòng họp tầng 2")
    response = client.post("/api/v1/endpoints", json=body, headers=headers)
    assert response.status_code == 201
    created = response.get_json()
    assert response.headers["Location"] == f"/api/v1/endpoints/{created['id']}"
    for field, value in body.items():
        assert created[field] == value, field
    assert created["status"] == "active"

    fetched = client.get(response.headers["Location"], headers=headers).get_json()
    assert fetched == created

    response = client.patch(f"/api/v1/endpoints/{created['id']}", headers=headers,
                            json={"name": "UBND  huyện Đình Lập (phòng 2)", "status": "maintenance"})
    patched = response.get_json()
    assert response.status_code == 200
    assert (patched["name"], patched["status"], patched["code"]) == ("UBND huyện Đình Lập (phòng 2)", "maintenance",
                                                                     "DL-UBND")

    response = client.delete(f"/api/v1/endpoints/{created['id']}", headers=headers)
    assert response.status_code == 200
    retired = response.get_json()
    assert retired["status"] == "retired" and retired["retired_at"]
    # Retiring keeps the row and its history.
    db.session.expire_all()
    assert db.session.get(Endpoint, created["id"]).status == "retired"
    assert client.get(f"/api/v1/endpoints/{created['id']}", headers=headers).get_json()["status"] == "retired"
    listed = client.get("/api/v1/endpoints?status=retired", headers=headers).get_json()
    assert [item["id"] for item in listed["items"]] == [created["id"]]
    actions = db.session.scalars(sa.select(AuditEvent.action).where(
        AuditEvent.entity_type == "endpoint", AuditEvent.entity_id == str(created["id"])).order_by(AuditEvent.id)).all()
    assert actions == ["create", "update", "retire"]
    # Retiring again is harmless.
    assert client.delete(f"/api/v1/endpoints/{created['id']}", headers=headers).status_code == 200


def test_retiring_an_endpoint_booked_in_a_future_meeting_is_409(client, headers, make_endpoint, province):
    hall, site = make_endpoint("Hội trường tỉnh"), make_endpoint("UBND xã Tân Thanh")
    monday = datetime.now(ZoneInfo("Asia/Ho_Chi_Minh")).date() + timedelta(days=14)
    monday -= timedelta(days=monday.weekday())
    starts_at = datetime(monday.year, monday.month, monday.day, 8, 0, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh"))
    response = client.post("/api/v1/meetings", headers=headers, json={
        "title": "Giao ban tuần", "starts_at": starts_at.isoformat(),
        "ends_at": (starts_at + timedelta(hours=1)).isoformat(),
        "chair_endpoint_id": hall.id, "endpoint_ids": [hall.id, site.id],
    })
    assert response.status_code == 201, response.get_data(as_text=True)

    error = error_of(client.delete(f"/api/v1/endpoints/{site.id}", headers=headers), 409)
    assert error["code"] == "conflict"
    assert "Giao ban tuần" in error["message"]
    error_of(client.patch(f"/api/v1/endpoints/{site.id}", json={"status": "retired"}, headers=headers), 409)
    db.session.expire_all()
    assert db.session.get(Endpoint, site.id).status == "active"


# -- search and lists ------------------------------------------------------------------


@pytest.fixture
def lang_son(make_unit, make_endpoint, province, district):
    """Endpoints in two districts, with accents that folding must see through."""
    city = make_unit("Thành phố Lạng Sơn", "thành phố", parent=province, code="178")
    dl_commune = make_unit("Xã Bính Xá", "xã", parent=district)
    city_ward = make_unit("Phường Vĩnh Trại", "phường", parent=city)
    return {
        "province": make_endpoint("Hội trường UBND tỉnh Lạng Sơn", code="LS-TINH"),
        "district": make_endpoint("UBND huyện Đình Lập", unit=district, code="DL-HUYEN"),
        "commune": make_endpoint("UBND xã Bính Xá", unit=dl_commune, code="DL-BINHXA"),
        "ward": make_endpoint("UBND phường Vĩnh Trại", unit=city_ward, code="LS-VINHTRAI"),
        "city": city,
    }


def names(response):
    assert response.status_code == 200, response.get_data(as_text=True)
    return sorted(item["name"] for item in response.get_json()["items"])


def test_search_ignores_accents_and_case(client, headers, lang_son):
    assert names(client.get("/api/v1/endpoints?q=dinh lap", headers=headers)) == ["UBND huyện Đình Lập"]
    assert names(client.get("/api/v1/endpoints?q=lang son", headers=headers)) == ["Hội trường UBND tỉnh Lạng Sơn"]
    assert names(client.get("/api/v1/endpoints?q=ĐÌNH LẬP", headers=headers)) == ["UBND huyện Đình Lập"]
    assert names(client.get("/api/v1/endpoints?q=%20binh%20%20xa%20", headers=headers)) == ["UBND xã Bính Xá"]
    assert names(client.get("/api/v1/endpoints?q=dl-binhxa", headers=headers)) == ["UBND xã Bính Xá"]
    assert names(client.get("/api/v1/endpoints?q=không có", headers=headers)) == []
    # LIKE wildcards are text, not patterns.
    assert names(client.get("/api/v1/endpoints?q=%25", headers=headers)) == []
    assert names(client.get("/api/v1/endpoints?q=_", headers=headers)) == []


def test_unit_id_includes_the_units_below(client, headers, lang_son, district, province):
    assert names(client.get(f"/api/v1/endpoints?unit_id={district.id}", headers=headers)) == [
        "UBND huyện Đình Lập", "UBND xã Bính Xá"]
    assert len(names(client.get(f"/api/v1/endpoints?unit_id={province.id}", headers=headers))) == 4
    assert names(client.get(f"/api/v1/endpoints?unit_id={district.id}&q=binh xa", headers=headers)) == [
        "UBND xã Bính Xá"]
    assert names(client.get(f"/api/v1/endpoints?unit_id={lang_son['city'].id}&q=dinh", headers=headers)) == []


def test_status_filters(client, headers, lang_son):
    client.patch(f"/api/v1/endpoints/{lang_son['ward'].id}", json={"status": "maintenance"}, headers=headers)
    assert names(client.get("/api/v1/endpoints?status=maintenance", headers=headers)) == ["UBND phường Vĩnh Trại"]
    assert len(names(client.get("/api/v1/endpoints?status=active", headers=headers))) == 3


def test_list_pages_and_totals(client, headers, make_endpoint):
    for i in range(7):
        make_endpoint(f"Điểm cầu {i}")
    first = client.get("/api/v1/endpoints?per_page=3", headers=headers).get_json()
    assert (first["total"], len(first["items"]), first["page"], first["per_page"]) == (7, 3, 1, 3)
    third = client.get("/api/v1/endpoints?per_page=3&page=3", headers=headers).get_json()
    assert (third["total"], len(third["items"])) == (7, 1)
    beyond = client.get("/api/v1/endpoints?per_page=3&page=9", headers=headers).get_json()
    assert (beyond["total"], beyond["items"]) == (7, [])
    every = client.get("/api/v1/endpoints?per_page=500", headers=headers).get_json()
    assert len({item["id"] for item in every["items"]}) == 7
    paged = [item["id"] for p in (1, 2, 3)
             for item in client.get(f"/api/v1/endpoints?per_page=3&page={p}", headers=headers).get_json()["items"]]
    assert sorted(paged) == sorted(item["id"] for item in every["items"])


def test_endpoints_are_listed_in_vietnamese_order(client, headers, make_endpoint):
    for name in ("Đình Lập", "Bình Gia", "Chi Lăng", "Bắc Sơn", "Hữu Lũng", "Cao Lộc"):
        make_endpoint(name)
    items = client.get("/api/v1/endpoints", headers=headers).get_json()["items"]
    assert [item["name"] for item in items] == ["Bắc Sơn", "Bình Gia", "Cao Lộc", "Chi Lăng", "Đình Lập", "Hữu Lũng"]


def test_units_list_in_official_order(client, headers, lang_son, province, district):
    body = client.get("/api/v1/units", headers=headers).get_json()
    assert body["total"] == 5
    first = body["items"][0]
    assert {k: first[k] for k in ("id", "code", "name", "level", "parent_id")} == {
        "id": province.id, "code": "20", "name": "Tỉnh Lạng Sơn", "level": "province", "parent_id": None}
    assert [item["level"] for item in body["items"]] == ["province", "district", "district", "commune", "commune"]
    one = client.get(f"/api/v1/units/{district.id}", headers=headers).get_json()
    assert (one["name"], one["parent_id"]) == ("Huyện Chi Lăng", province.id)


def test_bridges_list_with_ports(client, headers, make_bridge):
    make_bridge(ports=40)
    make_bridge(ports=120)
    body = client.get("/api/v1/bridges", headers=headers).get_json()
    assert body["total"] == 2
    assert sorted(item["ports"] for item in body["items"]) == [40, 120]
    assert {"id", "code", "name", "ports"} <= set(body["items"][0])


def test_api_answers_are_not_cached(client, headers):
    assert client.get("/api/v1/units", headers=headers).headers["Cache-Control"] == "no-store"
    assert client.get("/api/v1/units").headers["Cache-Control"] == "no-store"
