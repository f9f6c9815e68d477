"""A SIP address the probes will never dial is refused when it is saved, by the form, the API and the import.

The rule is the probes' own (probes.policy): link-local, multicast, broadcast
and unspecified hosts always; loopback where PROBE_ALLOW_LOOPBACK is off, as in
production. The dial-time check stays (tests/readiness/test_dial_policy.py).
"""

import pytest

from tests.conftest import csrf_token
from tests.registry.test_views import field_errors
from vmeeting.core.extensions import db
from vmeeting.registry import transfer
from vmeeting.registry.models import Endpoint

NEVER = [
    ("sip:meta@169.254.169.254:80;transport=tcp", "liên kết cục bộ"),
    ("sip:x@[fe80::1]", "liên kết cục bộ"),
    ("sip:x@224.0.0.1", "multicast"),
    ("sip:x@[ff02::1]", "multicast"),
    ("sip:x@255.255.255.255", "broadcast"),
    ("sip:x@0.0.0.0:5432;transport=tcp", "không xác định"),
    ("sip:x@[::]", "không xác định"),
    ("sip:x@[::ffff:169.254.1.1]", "liên kết cục bộ"),
]
LOOPBACK = ["sip:x@127.0.0.1:5060", "sip:x@[::1]", "sip:x@localhost", "sip:x@pbx.localhost:5061;transport=tls"]


@pytest.fixture
def production_probes(app):
    """The probes' rule as in production: loopback is never dialled."""
    app.config["PROBE_ALLOW_LOOPBACK"] = False
    yield
    app.config["PROBE_ALLOW_LOOPBACK"] = True


@pytest.mark.parametrize("uri, reason", NEVER)
def test_the_api_refuses_an_address_never_dialled_naming_why(client, api_headers, make_endpoint, uri, reason):
    endpoint = make_endpoint(sip_uri="sip:ep1@10.20.0.5")
    response = client.patch(f"/api/v1/endpoints/{endpoint.id}", headers=api_headers("admin"),
                            json={"sip_uri": uri, "name": "Đổi"})
    assert response.status_code == 400, response.get_data(as_text=True)
    fields = response.get_json()["error"]["fields"]
    assert set(fields) == {"sip_uri"} and reason in fields["sip_uri"] and "không bao giờ gọi" in fields["sip_uri"]
    db.session.expire_all()
    assert (endpoint.sip_uri, endpoint.name) != (uri, "Đổi")
    response = client.post("/api/v1/endpoints", headers=api_headers("admin"),
                           json={"code": "LS-NEW", "name": "Mới", "unit_id": endpoint.unit_id, "sip_uri": uri})
    assert response.status_code == 400 and reason in response.get_json()["error"]["fields"]["sip_uri"]


@pytest.mark.parametrize("uri", LOOPBACK)
def test_loopback_is_refused_where_the_probes_never_dial_it(client, api_headers, make_endpoint, production_probes,
                                                             uri):
    endpoint = make_endpoint(sip_uri="sip:ep1@10.20.0.5")
    response = client.patch(f"/api/v1/endpoints/{endpoint.id}", headers=api_headers("admin"), json={"sip_uri": uri})
    assert response.status_code == 400
    assert "loopback" in response.get_json()["error"]["fields"]["sip_uri"]


@pytest.mark.parametrize("uri", [*LOOPBACK, "sip:x@10.20.0.9", "sip:x@vc.langson.gov.vn", "sip:x@[2001:db8::5]"])
def test_loopback_is_kept_where_the_probes_dial_it_and_ordinary_hosts_always(client, api_headers, make_endpoint, uri):
    endpoint = make_endpoint(sip_uri="sip:ep1@10.20.0.5")
    response = client.patch(f"/api/v1/endpoints/{endpoint.id}", headers=api_headers("admin"), json={"sip_uri": uri})
    assert response.status_code == 200 and response.get_json()["sip_uri"] == uri


def test_the_form_refuses_it_on_the_field(client, login_as, make_endpoint, production_probes):
    endpoint = make_endpoint(sip_uri="sip:ep1@10.20.0.5")
    login_as("admin")
    path = f"/endpoints/{endpoint.id}/edit"
    for uri, reason in [("sip:x@169.254.169.254", "liên kết cục bộ"), ("sip:x@127.0.0.1", "loopback")]:
        data = {"code": endpoint.code, "name": endpoint.name, "unit_id": str(endpoint.unit_id),
                "category": endpoint.category, "status": "active", "sip_uri": uri, "probe": "sip-options",
                "transport": endpoint.transport, "protocol": endpoint.protocol, "csrf_token": csrf_token(client, path)}
        response = client.post(path, data=data)
        assert response.status_code == 400
        [shown] = field_errors(response, "sip_uri")
        assert reason in shown and uri.split("@")[1] in shown
    db.session.expire_all()
    assert db.session.get(Endpoint, endpoint.id).sip_uri == "sip:ep1@10.20.0.5"


def test_the_import_refuses_the_row_naming_why(make_user, district, production_probes):
    rows = [{"code": "LS-1", "name": "Một", "unit_id": str(district.id), "sip_uri": "sip:a@10.0.0.1", "_row": 2},
            {"code": "LS-2", "name": "Hai", "unit_id": str(district.id), "sip_uri": "sip:b@224.0.0.9", "_row": 3},
            {"code": "LS-3", "name": "Ba", "unit_id": str(district.id), "sip_uri": "sip:c@127.0.0.2", "_row": 4}]
    report = transfer.check_rows(rows, actor=make_user("admin"))
    assert [sorted(r.errors) for r in report.rows] == [[], ["sip_uri"], ["sip_uri"]]
    assert "multicast" in report.rows[1].errors["sip_uri"] and "loopback" in report.rows[2].errors["sip_uri"]


def test_the_reason_is_shown_in_english_on_an_english_page(client, login_as, make_endpoint):
    from tests.conftest import switch_to_english

    endpoint = make_endpoint(sip_uri="sip:ep1@10.20.0.5")
    login_as("admin")
    path = f"/endpoints/{endpoint.id}/edit"
    switch_to_english(client, path)
    data = {"code": endpoint.code, "name": endpoint.name, "unit_id": str(endpoint.unit_id),
            "category": endpoint.category, "status": "active", "sip_uri": "sip:x@0.0.0.0", "probe": "sip-options",
            "transport": endpoint.transport, "protocol": endpoint.protocol, "csrf_token": csrf_token(client, path)}
    [shown] = field_errors(client.post(path, data=data), "sip_uri")
    assert "0.0.0.0" in shown and "unspecified" in shown
