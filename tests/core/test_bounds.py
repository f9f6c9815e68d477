"""Numbers and dates out of range answer 404 or 400, never 5xx, on every route.

The walk takes every rule of the url_map and every method it answers, as an
admin (session and bearer token) and signed out, and puts into it ids past
PostgreSQL's 32-bit integers and past 64 bits (path segments, query strings,
JSON bodies and form fields) and dates at the edges of the calendar.
"""

import json
import re
from datetime import datetime, timedelta, timezone

import pytest
from flask import got_request_exception
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.routing import IntegerConverter

from vmeeting.core.extensions import db

HUGE_IDS = ("2147483648", "9223372036854775808", "99999999999999999999999")
#: every query parameter the pages and the API read as an id or a count
ID_PARAMS = ("id", "endpoint_id", "unit_id", "meeting_id", "occurrence_id", "bridge_id", "technician_id",
             "group_id", "user_id", "chair_endpoint_id", "endpoint_ids", "unit_ids", "page", "per_page",
             "limit", "duration_minutes", "setup_minutes", "year")
#: every query parameter read as a date or an instant
DATE_PARAMS = ("date", "day", "from", "to", "date_from", "date_to", "starts_at", "ends_at")
EDGE_DATES = ("9999-12-31", "0001-01-01", "9999-12-31T23:59:00+07:00", "0001-01-01T00:00:00+07:00",
              "31/12/9999", "01/01/0001")
BODY_ID_FIELDS = ("unit_id", "bridge_id", "technician_id", "chair_endpoint_id", "endpoint_id", "parent_id",
                  "occurrence_id", "meeting_id", "group_id", "ports", "setup_minutes", "duration_minutes")
BODY_LIST_FIELDS = ("endpoint_ids", "unit_ids", "group_ids")
BODY_DATE_FIELDS = ("starts_at", "ends_at", "date", "from", "to", "valid_from", "valid_to", "day")


#: routes that end the walker's own session; walked signed out only
SIGN_OUT = {"auth.logout", "auth.logout_everywhere"}


def _rules(app, signed_in):
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static" or (signed_in and rule.endpoint in SIGN_OUT):
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule, method


def _converter_spec(rule, name):
    match = re.search(r"<([^<>]*:)?" + re.escape(name) + r">", rule.rule)
    return match.group(0)[1:-1]


def _requests(app, existing, signed_in, read):
    """Yield (method, path, kwargs) for every route: huge ids in the path, then bad query and body values.

    Each route gets every value at once first; a value that one parameter's refusal could hide from
    another is then sent alone, in every parameter the route was seen to read (`read`: the names its
    requests so far looked up in the query string, the form or a JSON object, filled by _Reading).
    A name the route never looks up cannot reach its code, so sending it alone would only repeat the
    request. Reads are followed to a fixed point: a request that reveals a new name sends that one too.
    """
    for rule, method in _rules(app, signed_in):
        int_args = [n for n in rule.arguments if isinstance(rule._converters[n], IntegerConverter)]
        for huge in HUGE_IDS:
            for name in int_args:
                values = {n: str(existing.get(n, 1)) for n in rule.arguments}
                values[name] = huge
                yield method, _fill(rule, values), {}
        base = _fill(rule, {n: str(existing.get(n, 1)) for n in rule.arguments})
        read.clear()
        if method == "GET":
            yield method, base, {}
            for huge in HUGE_IDS[:2]:
                yield method, base, {"query_string": {name: huge for name in ID_PARAMS}}
            for edge in EDGE_DATES:
                yield method, base, {"query_string": {name: edge for name in DATE_PARAMS}}
            alone = [(names, values, "query_string") for names, values in
                     ((ID_PARAMS, HUGE_IDS[:2]), (DATE_PARAMS, EDGE_DATES))]
        else:
            for huge in HUGE_IDS[:2]:
                number = int(huge)
                body = {name: number for name in BODY_ID_FIELDS}
                body.update({name: [number] for name in BODY_LIST_FIELDS})
                yield method, base, {"json": body}
                yield method, base, {"data": {name: huge for name in BODY_ID_FIELDS + BODY_LIST_FIELDS}}
            for edge in EDGE_DATES:
                yield method, base, {"json": {name: edge for name in BODY_DATE_FIELDS}}
                yield method, base, {"data": {name: edge for name in BODY_DATE_FIELDS}}
            alone = [(BODY_ID_FIELDS, [int(h) for h in HUGE_IDS[:2]], "json")]
        sent = set()
        while True:
            todo = [(name, value, where) for names, values, where in alone for name in names
                    if name in read and (name, where) not in sent for value in values]
            if not todo:
                break
            for name, value, where in todo:
                sent.add((name, where))
                yield method, base, {where: {name: value}}


def _fill(rule, values):
    """The rule's path with the given text in each converter (url_for would refuse what is out of range)."""
    path = rule.rule
    for name in rule.arguments:
        path = path.replace(f"<{_converter_spec(rule, name)}>", values.get(name, "x"))
    return path


@pytest.fixture
def seeded(app, make_user, make_endpoint, make_bridge, province):
    """A few real rows, so that routes get past their first 404 to read the rest of the request."""
    from vmeeting.booking import service as booking

    admin = make_user("admin", username="walker")
    bridge = make_bridge()
    endpoint = make_endpoint(bridge_id=bridge.id)
    starts_at = (datetime.now(timezone.utc) + timedelta(days=10)).replace(hour=2, minute=0, second=0, microsecond=0)
    while starts_at.weekday() >= 5:
        starts_at += timedelta(days=1)
    meeting = booking.book_meeting(
        {"title": "Giao ban", "starts_at": starts_at, "ends_at": starts_at + timedelta(hours=1),
         "chair_endpoint_id": endpoint.id, "allow_non_working_time": True},
        booking.resolve_sites(endpoint_ids=[endpoint.id]), actor=admin,
    )
    db.session.commit()
    existing = {"meeting_id": meeting.id, "occurrence_id": meeting.occurrences[0].id, "endpoint_id": endpoint.id,
                "unit_id": province.id, "bridge_id": bridge.id, "user_id": admin.id,
                # a token that is not the walker's own, which a revoke would end
                "token_id": 2**31 - 1}
    return admin, existing


class _ReadArgs(ImmutableMultiDict):
    """The query string or form of a walked request, noting each name the route looks up (in `_READ`)."""

    def __getitem__(self, key):
        _READ.add(key)
        return super().__getitem__(key)

    def get(self, key, default=None, type=None):
        _READ.add(key)
        return super().get(key, default, type)

    def getlist(self, key, type=None):
        _READ.add(key)
        return super().getlist(key, type)

    def __contains__(self, key):
        _READ.add(key)
        return super().__contains__(key)

    def __iter__(self):  # a route that goes over every name reads them all
        _READ.update(ImmutableMultiDict.keys(self))
        return super().__iter__()

    def keys(self):
        _READ.update(super().keys())
        return super().keys()

    def items(self, multi=False):
        _READ.update(super().keys())
        return super().items(multi)

    def lists(self):
        _READ.update(super().keys())
        return super().lists()

    def to_dict(self, flat=True):
        _READ.update(super().keys())
        return super().to_dict(flat)


class _ReadObject(dict):
    """A JSON object of a walked request, noting each key the route looks up (in `_READ`)."""

    def __getitem__(self, key):
        _READ.add(key)
        return super().__getitem__(key)

    def get(self, key, default=None):
        _READ.add(key)
        return super().get(key, default)

    def __contains__(self, key):
        _READ.add(key)
        return super().__contains__(key)

    def pop(self, key, *default):
        _READ.add(key)
        return super().pop(key, *default)

    def __iter__(self):
        _READ.update(dict.keys(self))
        return super().__iter__()

    def keys(self):
        _READ.update(dict.keys(self))
        return super().keys()

    def items(self):
        _READ.update(dict.keys(self))
        return super().items()


class _ReadJSON:
    """The request's json_module: objects decoded as _ReadObject."""

    @staticmethod
    def loads(data, **kwargs):
        return json.loads(data, object_hook=_ReadObject, **kwargs)


#: the names the walked route has looked up since the walk last cleared it
_READ = set()


def _walk(client, app, existing, headers=None):
    # Forms must get past CSRF to read their numbers; a fault is collected, not raised, to list them all.
    app.config.update(WTF_CSRF_ENABLED=False, PROPAGATE_EXCEPTIONS=False)
    failures, raised = [], []

    def on_exception(sender, exception, **extra):
        raised.append(f"{type(exception).__name__}: {exception}"[:200])

    request_class = app.request_class
    app.request_class = type("ReadRequest", (request_class,), {"parameter_storage_class": _ReadArgs,
                                                                "json_module": _ReadJSON})
    got_request_exception.connect(on_exception, app)
    try:
        for method, path, kwargs in _requests(app, existing, signed_in=bool(headers), read=_READ):
            db.session.rollback()
            raised.clear()
            response = client.open(path, method=method, headers=headers or {}, **kwargs)
            if response.status_code >= 500:
                failures.append(f"{method} {path} {kwargs} -> {response.status_code} {raised}")
    finally:
        got_request_exception.disconnect(on_exception, app)
        app.request_class = request_class
    return failures


def _caught_by_the_net(caplog):
    """The 400 of errorpages for an overflow is a net: every value must be refused before it (by bounds)."""
    return [r.getMessage()[:300] for r in caplog.records if r.name == "vmeeting.core.errorpages" and "range" in r.getMessage()]


@pytest.mark.long
def test_no_route_answers_5xx_to_out_of_range_numbers_signed_out(app, client, seeded, caplog):
    _admin, existing = seeded
    failures = _walk(client, app, existing)
    assert not failures, "\n".join(failures)
    assert not _caught_by_the_net(caplog)


@pytest.mark.long
def test_no_route_answers_5xx_to_out_of_range_numbers_as_admin(app, client, seeded, login, api_headers, caplog):
    admin, existing = seeded
    login(admin)
    headers = api_headers(user=admin)
    failures = _walk(client, app, existing, headers=headers)
    assert not failures, "\n".join(failures)
    assert not _caught_by_the_net(caplog)
    # the walk ran signed in to the end, on the page and in the API
    assert client.get("/account").status_code == 200
    assert client.get("/api/v1/units", headers=headers).status_code == 200


@pytest.mark.parametrize("path", ["/calendar?date=9999-12-31", "/calendar?date=0001-01-01&view=month",
                                  "/meetings/9223372036854775808", "/endpoints?unit_id=2147483648"])
def test_the_reported_cases_answer_200_or_404(client, login_as, path):
    login_as("viewer")
    assert client.get(path).status_code in (200, 404)


def test_an_id_too_large_in_the_api_is_404_and_in_a_body_400(client, api_headers, make_endpoint):
    headers = api_headers("admin")
    assert client.get("/api/v1/meetings/2147483648", headers=headers).status_code == 404
    body = {"title": "Họp", "starts_at": "2030-01-07T08:00:00+07:00", "ends_at": "2030-01-07T09:00:00+07:00",
            "chair_endpoint_id": 2**63, "endpoint_ids": [2**31]}
    response = client.post("/api/v1/meetings", headers=headers, json=body)
    assert response.status_code == 400 and "endpoint_ids" in response.get_json()["error"]["fields"]
    response = client.post("/api/v1/meetings", headers=headers, json={**body, "endpoint_ids": [make_endpoint().id]})
    assert response.status_code == 400 and "chair_endpoint_id" in response.get_json()["error"]["fields"]
    response = client.get("/api/v1/meetings?from=9999-12-31T23:00:00%2B07:00", headers=headers)
    assert response.status_code == 400 and "from" in response.get_json()["error"]["fields"]
