"""The OpenAPI 3.1 document of /api/v1, written by hand from CONTRACT.md, assembled here from its fragments.

Each capability describes the operations of its api.py, and their shapes, in
the `apidoc.py` beside it (SCHEMAS and PATHS, built with `vmeeting.core.openapi`);
FRAGMENTS below lists them, and `DOCUMENT` is their union with what is common
(the error shape, this document's own path). A path or a schema described twice
is refused when the module loads. `document_for(app)` keeps only the operations
the app routes, so what is served never promises a path that answers 404. Two
suites hold it to the code: tests/apidoc/test_document.py (every route of the
url_map under /api/v1 is described, nothing else; the document validates) and
tests/apidoc/test_schemathesis.py (every operation fuzzed; every answer
matches its schema, none is a 5xx).

Shapes only here: the rules behind them live in each capability's service.
"""

import copy
import re

from vmeeting.approvals import apidoc as approvals
from vmeeting.attendance import apidoc as attendance
from vmeeting.booking import apidoc as booking
from vmeeting.booking.apidoc import CAPACITY, CONFLICT
from vmeeting.core.openapi import STRING, array, json_content, nullable, obj, operation
from vmeeting.documents import apidoc as documents
from vmeeting.invites import apidoc as invites
from vmeeting.network import apidoc as network
from vmeeting.readiness import apidoc as readiness
from vmeeting.registry import apidoc as registry
from vmeeting.working_time import apidoc as working_time

API_PREFIX = "/api/v1"
VERSION = "1.0.0"

#: each capability's description of its api.py: a capability that gains an API adds its fragment here
FRAGMENTS = (registry, booking, invites, readiness, network, attendance, working_time, documents, approvals)

#: what no one capability owns: every error's shape (CONTRACT.md) and this document's own path
COMMON_SCHEMAS = {
    "Error": obj({
        "error": obj({
            "code": {"type": "string", "description": "machine-readable: validation_error, conflict, not_found, "
                                                      "non_working_time, precondition_failed, ..."},
            "message": {"type": "string", "description": "for people, in Vietnamese"},
            "fields": {"type": "object", "additionalProperties": STRING,
                       "description": "on 400: each bad field and the reason"},
            "conflicts": array(CONFLICT),
            "capacity": nullable(CAPACITY),
            "sittings": array({"type": "object"}, description="on non_working_time: each such sitting"),
        }, ["code", "message"], additional=True),
    }, ["error"]),
}

COMMON_PATHS = {
    "/openapi.json": {
        "get": operation("openapi", "Document", "This document (no token needed)",
                         {"200": {"description": "OpenAPI 3.1", "content": json_content({"type": "object"})}},
                         public=True),
    },
}


def merged(common, part):
    """Return `common` with every fragment's `part` ("SCHEMAS" or "PATHS") added; ValueError on a name given twice."""
    whole = dict(common)
    for fragment in FRAGMENTS:
        for name, value in getattr(fragment, part).items():
            if name in whole:
                raise ValueError(f"{part} {name!r} of {fragment.__name__} is described twice")
            whole[name] = value
    return whole


DOCUMENT = {
    "openapi": "3.1.0",
    "info": {
        "title": "vmeeting API",
        "version": VERSION,
        "summary": "Registry, booking, readiness and invites of a province's video-conference network",
        "description": (
            "The JSON API of CONTRACT.md. Sign in with `Authorization: Bearer <token>` "
            "(`flask --app wsgi users token NAME` prints one). Times are ISO 8601 with an offset; a time "
            "without one is refused with 400. Every error is `{\"error\": {\"code\", \"message\", ...}}`; "
            "lists answer `{\"items\", \"total\"}` and take `page` and `per_page` (at most 500)."),
    },
    "servers": [{"url": API_PREFIX}],
    "security": [{"bearer": []}],
    "tags": [{"name": name} for name in ("Registry", "Booking", "Readiness", "Invites", "Working time", "Network", "Roll-call",
                                                 "Document")],
    "paths": merged(COMMON_PATHS, "PATHS"),
    "components": {
        "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                       "description": "an API token from `flask users token NAME`"}},
        "schemas": merged(COMMON_SCHEMAS, "SCHEMAS"),
    },
}

HTTP_METHODS = ("get", "put", "post", "delete", "patch")
_CONVERTER = re.compile(r"<(?:[a-z]+:)?([a-z_]+)>")


def openapi_path(rule):
    """Turn a werkzeug rule under /api/v1 into the document's path: /meetings/<int:meeting_id> → /meetings/{meeting_id}."""
    return _CONVERTER.sub(r"{\1}", rule[len(API_PREFIX):])


def routed_operations(app):
    """Return {(path, method)} for every route of the app under /api/v1, as the document spells them."""
    found = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith(API_PREFIX + "/"):
            for method in rule.methods - {"HEAD", "OPTIONS"}:
                found.add((openapi_path(rule.rule), method.lower()))
    return found


def described_operations(document=DOCUMENT):
    """Return {(path, method)} for every operation the document describes."""
    return {(path, method) for path, item in document["paths"].items() for method in item if method in HTTP_METHODS}


def document_for(app):
    """Return the document with only the operations the app routes (contract items not built yet left out)."""
    routed = routed_operations(app)
    document = copy.deepcopy(DOCUMENT)
    for path in list(document["paths"]):
        item = document["paths"][path]
        for method in [m for m in item if m in HTTP_METHODS]:
            if (path, method) not in routed:
                del item[method]
        if not any(m in item for m in HTTP_METHODS):
            del document["paths"][path]
    used = {tag for item in document["paths"].values() for m in HTTP_METHODS if m in item for tag in item[m]["tags"]}
    document["tags"] = [tag for tag in document["tags"] if tag["name"] in used]
    return document
