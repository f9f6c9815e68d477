"""Only admins set where the probes dial: an endpoint's SIP address and probe kind (and so its port).

The rule lives in the registry service, so the page, the API and the import
all obey it; a scheduler may still create and edit everything else.
"""

import re

import pytest

from tests.conftest import csrf_token
from vmeeting.core.errors import ValidationError
from vmeeting.core.extensions import db
from vmeeting.registry import service
from vmeeting.registry.models import Endpoint

REFUSED = "Chỉ quản trị viên được đặt địa chỉ SIP"


def error_fields(response):
    assert response.status_code == 400, response.get_data(as_text=True)
    return response.get_json()["error"]["fields"]


@pytest.mark.parametrize("change", [
    {"sip_uri": "sip:x@127.0.0.1:5432;transport=tcp"}, {"sip_uri": "sip:ep1@127.0.0.1:5061"},
    {"probe": "tcp"}, {"probe": "none"},
])
def test_a_scheduler_cannot_change_where_the_probe_dials_through_the_api(client, api_headers, make_endpoint, change):
    endpoint = make_endpoint(sip_uri="sip:ep1@10.20.0.5")
    before = (endpoint.sip_uri, endpoint.probe, endpoint.name)
    fields = error_fields(client.patch(f"/api/v1/endpoints/{endpoint.id}", json={**change, "name": "Đổi"},
                                       headers=api_headers("scheduler")))
    assert set(fields) == set(change) and REFUSED in fields[next(iter(change))]
    db.session.expire_all()
    assert (endpoint.sip_uri, endpoint.probe, endpoint.name) == before  # nothing half-written


def test_a_scheduler_may_send_the_fields_unchanged_and_edit_the_rest(client, api_headers, make_endpoint):
    endpoint = make_endpoint(sip_uri="sip:ep1@10.20.0.5")
    response = client.patch(f"/api/v1/endpoints/{endpoint.id}", headers=api_headers("scheduler"),
                            json={"sip_uri": endpoint.sip_uri, "probe": endpoint.probe, "name": "Đổi tên"})
    assert response.status_code == 200 and response.get_json()["name"] == "Đổi tên"


def test_a_scheduler_creates_sites_without_a_probe_target(client, api_headers, province):
    headers = api_headers("scheduler")
    body = {"code": "LS-01", "name": "UBND xã Một", "unit_id": province.id}
    fields = error_fields(client.post("/api/v1/endpoints", json={**body, "sip_uri": "sip:x@10.0.0.1"}, headers=headers))
    assert REFUSED in fields["sip_uri"]
    fields = error_fields(client.post("/api/v1/endpoints", json={**body, "probe": "tcp", "sip_uri": "sip:x@10.0.0.1"},
                                      headers=headers))
    assert REFUSED in fields["probe"] and REFUSED in fields["sip_uri"]
    response = client.post("/api/v1/endpoints", json=body, headers=headers)
    assert response.status_code == 201
    assert (response.get_json()["sip_uri"], response.get_json()["probe"]) == ("", "none")


def test_an_admin_sets_them(client, api_headers, make_endpoint):
    endpoint = make_endpoint()
    response = client.patch(f"/api/v1/endpoints/{endpoint.id}", headers=api_headers("admin"),
                            json={"sip_uri": "sip:room@10.20.0.9:5080;transport=tcp", "probe": "tcp"})
    assert response.status_code == 200
    assert (response.get_json()["sip_uri"], response.get_json()["probe"]) == ("sip:room@10.20.0.9:5080;transport=tcp", "tcp")


def test_the_form_shows_the_fields_disabled_to_a_scheduler_and_ignores_a_forged_value(client, login_as, make_endpoint):
    endpoint = make_endpoint(sip_uri="sip:ep1@10.20.0.5")
    login_as("scheduler")
    page = client.get(f"/endpoints/{endpoint.id}/edit").get_data(as_text=True)
    for name in ("sip_uri", "probe"):
        tag = re.search(rf'<(?:input|select)[^>]*\bid="{name}"[^>]*>', page).group(0)
        assert "disabled" in tag, tag
    data = {"code": endpoint.code, "name": "Tên mới", "unit_id": str(endpoint.unit_id), "category": endpoint.category,
            "status": "active", "sip_uri": "sip:x@127.0.0.1:5432;transport=tcp", "probe": "tcp",
            "transport": endpoint.transport, "protocol": endpoint.protocol,
            "csrf_token": csrf_token(client, f"/endpoints/{endpoint.id}/edit")}
    response = client.post(f"/endpoints/{endpoint.id}/edit", data=data)
    assert response.status_code == 302
    db.session.expire_all()
    endpoint = db.session.get(Endpoint, endpoint.id)
    assert (endpoint.name, endpoint.sip_uri, endpoint.probe) == ("Tên mới", "sip:ep1@10.20.0.5", "sip-options")


def test_the_service_refuses_every_path_that_passes_an_actor(app, make_user, make_endpoint):
    """The import and any other caller that names who acts go through the same check."""
    scheduler, admin = make_user("scheduler"), make_user("admin")
    endpoint = make_endpoint()
    with pytest.raises(ValidationError) as refused:
        service.update_endpoint(endpoint, {"sip_uri": "sip:x@10.9.9.9"}, actor=scheduler)
    assert set(refused.value.fields) == {"sip_uri"}
    db.session.rollback()
    with pytest.raises(ValidationError):
        service.create_endpoint({"code": "X1", "name": "X", "unit_id": endpoint.unit_id, "probe": "sip-options",
                                 "sip_uri": "sip:x@10.9.9.9"}, actor=scheduler)
    db.session.rollback()
    service.update_endpoint(endpoint, {"sip_uri": "sip:x@10.9.9.9"}, actor=admin)
    assert endpoint.sip_uri == "sip:x@10.9.9.9"


def test_a_schedulers_import_setting_the_probe_is_told_only_admins_may(make_user, make_endpoint):
    """A known probe kind refused for the person is not "must be one of": it says who may set it."""
    from vmeeting.registry import transfer

    scheduler = make_user("scheduler")
    endpoint = make_endpoint()
    rows = [{"code": endpoint.code, "name": endpoint.name, "unit_id": str(endpoint.unit_id), "probe": "tcp",
             "_row": 2}]
    report = transfer.check_rows(rows, actor=scheduler)
    assert not report.is_valid
    assert report.rows[0].errors["probe"] == REFUSED_FULL
    rows[0]["probe"] = "fax"
    assert transfer.check_rows(rows, actor=scheduler).rows[0].errors["probe"].startswith("Phải là một trong")


REFUSED_FULL = ("Chỉ quản trị viên được đặt địa chỉ SIP và cách kiểm tra tự động của điểm cầu "
                "(máy chủ sẽ kết nối tới đó).")
