"""The OpenAPI document: valid OpenAPI 3.1, every /api/v1 route described and nothing else, served offline."""

import json
import re
from pathlib import Path

import pytest
from openapi_spec_validator import validate

from vmeeting.apidoc import document
from vmeeting.apidoc.document import (
    API_PREFIX, DOCUMENT, FRAGMENTS, described_operations, document_for, openapi_path, routed_operations,
)

#: what CONTRACT.md describes and the document already holds, but no route serves yet: the
#: document served leaves these out until the route lands; then this line goes (the test says so).
NOT_YET_ROUTED = set()

STATIC = Path(__file__).resolve().parents[2] / "vmeeting" / "static"


def test_the_whole_document_and_the_served_one_are_valid_openapi_3_1(app):
    validate(DOCUMENT)
    served = app.test_client().get("/api/v1/openapi.json")
    assert served.status_code == 200
    assert served.mimetype == "application/json"
    document = served.get_json()
    assert document["openapi"] == "3.1.0"
    validate(document)


def test_every_route_under_api_v1_is_described_and_nothing_else(app):
    routed = routed_operations(app)
    described = described_operations()
    assert routed - described == set(), "routes under /api/v1 the document does not describe"
    assert described - routed == NOT_YET_ROUTED, (
        "the document describes operations no route serves (a typo, or a route that landed: "
        "then take it out of NOT_YET_ROUTED)")
    assert described_operations(document_for(app)) == routed


def test_each_capability_describes_its_own_routes_beside_its_api(app):
    """A fragment (vmeeting/<capability>/apidoc.py) describes only routes of the api.py beside it."""
    served_by = {}
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith(API_PREFIX + "/"):
            for method in rule.methods - {"HEAD", "OPTIONS"}:
                served_by[(openapi_path(rule.rule), method.lower())] = app.view_functions[rule.endpoint].__module__
    for fragment in FRAGMENTS:
        api = fragment.__name__.rsplit(".", 1)[0] + ".api"
        mine = described_operations({"paths": fragment.PATHS})
        assert mine and {served_by[operation] for operation in mine} == {api}, fragment.__name__


def test_a_path_or_a_schema_described_twice_is_refused(monkeypatch):
    from vmeeting.booking import apidoc as booking

    monkeypatch.setattr(document, "FRAGMENTS", (*FRAGMENTS, booking))
    for common, part in ((document.COMMON_PATHS, "PATHS"), (document.COMMON_SCHEMAS, "SCHEMAS")):
        with pytest.raises(ValueError, match="vmeeting.booking.apidoc is described twice"):
            document.merged(common, part)


def test_the_document_needs_no_token_and_everything_else_does(client):
    assert client.get("/api/v1/openapi.json").status_code == 200
    for path, item in DOCUMENT["paths"].items():
        for method, op in item.items():
            if method == "parameters":
                continue
            public = op.get("security") == []
            assert public == (path == "/openapi.json"), (path, method)
            if not public:
                assert "401" in op["responses"], (path, method)


def test_every_path_parameter_of_every_route_is_declared():
    for path, item in DOCUMENT["paths"].items():
        names = set(re.findall(r"{(\w+)}", path))
        declared = {p["name"] for p in item.get("parameters", []) if p["in"] == "path"}
        for method, op in item.items():
            if method == "parameters":
                continue
            mine = declared | {p["name"] for p in op.get("parameters", []) if p["in"] == "path"}
            assert mine == names, (path, method)


def test_the_error_shape_is_the_contracts():
    error = DOCUMENT["components"]["schemas"]["Error"]
    assert error["required"] == ["error"]
    assert set(error["properties"]["error"]["required"]) == {"code", "message"}
    for path, item in DOCUMENT["paths"].items():
        for method, op in item.items():
            if method == "parameters":
                continue
            for status, answer in op["responses"].items():
                if status.startswith(("4", "5")):
                    assert answer["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}


def test_the_reference_page_loads_redoc_from_the_app_itself(client):
    page = client.get("/api/docs")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    sources = re.findall(r'src="([^"]+)"', html)
    assert sources == ["/static/apidoc.js"]
    assert 'from "./redoc/redoc.standalone.js"' in (STATIC / "apidoc.js").read_text()
    assert "http://" not in html and "https://" not in html
    bundle = client.get("/static/redoc/redoc.standalone.js")
    assert bundle.status_code == 200 and len(bundle.data) > 1_000_000
    bundle.close()
    assert "MIT License" in (STATIC / "redoc" / "LICENSE").read_text()
    assert (STATIC / "redoc" / "VERSION").read_text().startswith("redoc 3.0.1")


@pytest.mark.browser
def test_the_reference_page_renders_every_operation_offline(page, live_server):
    """Chromium opens /api/docs with every request outside the app refused: Redoc shows the operations."""
    outside = []

    def only_the_app(route):
        if route.request.url.startswith(live_server.url):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    page.route("**/*", only_the_app)
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto("/api/docs")
    page.get_by_text("Booking", exact=True).first.click()
    page.get_by_text("Book a meeting").first.wait_for()
    page.get_by_text("Registry", exact=True).first.click()
    page.get_by_text("Search endpoints").first.wait_for()
    assert outside == []
    assert errors == []
    served = json.loads(page.evaluate("fetch('/api/v1/openapi.json').then(r => r.text())"))
    assert served["info"]["title"] == "vmeeting API"
