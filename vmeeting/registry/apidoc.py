"""The registry's part of the OpenAPI document: api.py's operations (units, endpoints, bridges), their shapes.

Written beside api.py so that a route and its description change together;
`vmeeting.apidoc.document` merges SCHEMAS and PATHS into the document it serves.
"""

from vmeeting.core.openapi import (
    BOOL, DATE, ID, INSTANT, PAGE, STRING, array, body, nullable, obj, operation, page_of, path_param, query, ref,
    responses,
)

ENDPOINT_STATUSES = ["active", "maintenance", "retired"]
PROBE_METHODS = ["sip-options", "tcp", "none"]
CATEGORIES = ["provincial", "agency", "district", "commune", "other"]
TRANSPORTS = ["tslcd", "wan", "internet"]
PROTOCOLS = ["sip", "h323", "webrtc"]

ENDPOINT_WRITABLE = {
    "code": {"type": "string", "pattern": r"^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$", "description": "unique"},
    "name": {"type": "string", "minLength": 1, "maxLength": 200},
    "unit_id": ID,
    "category": {"type": "string", "enum": CATEGORIES,
                 "description": "left out (or blank) on a new endpoint: its unit's level's (province → provincial, "
                                "district → district, commune → commune); an endpoint that has one keeps it"},
    "address": {"type": "string", "maxLength": 300},
    "sip_uri": {"type": "string", "maxLength": 300,
                "description": "a SIP URI the probes can dial (RFC 3261 §19.1), e.g. sip:room@10.0.0.5:5060"},
    "probe": {"type": "string", "enum": PROBE_METHODS},
    "bridge_id": nullable(ID),
    "status": {"type": "string", "enum": ENDPOINT_STATUSES},
    "contact_name": {"type": "string", "maxLength": 200},
    "contact_phone": {"type": "string", "maxLength": 40},
    "contact_emails": array({"type": "string", "format": "email"}),
    "technician_id": nullable({**ID, "description": "a user of role technician"}),
    "transport": {"type": "string", "enum": TRANSPORTS},
    "protocol": {"type": "string", "enum": PROTOCOLS},
    "device_model": {"type": "string", "maxLength": 120},
    "device_serial": {"type": "string", "maxLength": 120},
    "platform_ref": {"type": "string", "maxLength": 120},
    "notes": {"type": "string", "maxLength": 5000},
}

ENDPOINT_ID = path_param("endpoint_id", "the endpoint")

SCHEMAS = {
    "Unit": obj({
        "id": ID, "code": STRING, "name": STRING,
        "kind": {"type": "string", "description": "tỉnh, thành phố, huyện, thị xã, xã, phường, thị trấn"},
        "level": {"type": "string", "enum": ["province", "district", "commune"]},
        "parent_id": nullable(ID), "valid_from": nullable(DATE),
        "valid_until": nullable({**DATE, "description": "the last day the unit existed; null while it exists"}),
        "valid_to": nullable({**DATE, "description": "the older name of valid_until"}),
        "predecessors": array(ref("UnitLink"), description="the units it took all or part of"),
        "successors": array(ref("UnitLink"), description="the units that took all or part of it"),
    }, ["id", "code", "name", "kind", "level", "parent_id", "valid_from", "valid_until", "valid_to"]),
    "UnitLink": obj({
        "unit_id": ID, "kind": {"type": "string", "enum": ["full", "partial"]},
    }, ["unit_id", "kind"]),
    "Endpoint": obj({
        **ENDPOINT_WRITABLE, "id": ID, "unit_name": STRING, "created_at": INSTANT, "updated_at": INSTANT,
        "retired_at": nullable(INSTANT), "sip_uri": {"type": "string"}, "name": STRING,
        "code": STRING, "contact_emails": array(STRING),
        "contact_name": STRING, "contact_phone": STRING, "address": STRING, "notes": STRING,
        "device_model": STRING, "device_serial": STRING, "platform_ref": STRING,
    }, ["id", *ENDPOINT_WRITABLE, "unit_name", "created_at", "updated_at", "retired_at"]),
    "EndpointInput": obj(ENDPOINT_WRITABLE, ["code", "name", "unit_id"]),
    "EndpointPatch": {**obj(ENDPOINT_WRITABLE), "minProperties": 1},
    "Bridge": obj({"id": ID, "code": STRING, "name": STRING, "ports": {"type": "integer", "minimum": 1},
                   "address": STRING, "is_active": BOOL}, ["id", "code", "name", "ports", "address", "is_active"]),
}

PATHS = {
    "/units": {
        "get": operation("listUnits", "Registry", "The administrative units valid on a day, in official order",
                         responses("200", "a page of units, each with its predecessors and successors",
                                   page_of(ref("Unit")), "400", "403"),
                         parameters=[query("valid_on", "the day (default today, local time); 400 names it when "
                                           "it is not a day", DATE), *PAGE]),
    },
    "/units/{unit_id}": {
        "get": operation("getUnit", "Registry", "One unit",
                         responses("200", "the unit", ref("Unit"), "403", "404"),
                         parameters=[path_param("unit_id", "the unit")]),
    },
    "/endpoints": {
        "get": operation(
            "listEndpoints", "Registry", "Search endpoints",
            responses("200", "a page of endpoints", page_of(ref("Endpoint")), "400", "403"),
            parameters=[
                query("q", "matches name and code without regard to case or Vietnamese accents "
                           "(`lang son` finds `Lạng Sơn`)", {"type": "string", "maxLength": 200}),
                query("unit_id", "the unit and everything below it valid today; a unit that has ended stands for "
                      "the units that succeeded it (a former district: what its communes became)", ID),
                query("status", "one status", {"type": "string", "enum": ENDPOINT_STATUSES}),
                *PAGE,
            ]),
        "post": operation(
            "createEndpoint", "Registry", "Create an endpoint",
            responses("201", "the endpoint", ref("Endpoint"), "400", "403", "413",
                      ok_headers={"Location": {"schema": STRING, "description": "the endpoint's address"}}),
            request_body=body(ref("EndpointInput"))),
    },
    "/endpoints/{endpoint_id}": {
        "parameters": [ENDPOINT_ID],
        "get": operation("getEndpoint", "Registry", "One endpoint",
                         responses("200", "the endpoint", ref("Endpoint"), "403", "404")),
        "patch": operation("updateEndpoint", "Registry", "Change the fields given; the others stay",
                           responses("200", "the endpoint", ref("Endpoint"), "400", "403", "404", "409", "413"),
                           request_body=body(ref("EndpointPatch"))),
        "delete": operation("retireEndpoint", "Registry", "Retire the endpoint (history is kept)",
                            responses("200", "the retired endpoint", ref("Endpoint"), "403", "404", "409"),
                            description="409 while the endpoint is in a future meeting."),
    },
    "/bridges": {
        "get": operation("listBridges", "Registry", "MCU bridges with their capacity in ports",
                         responses("200", "a page of bridges", page_of(ref("Bridge")), "400", "403"), parameters=PAGE),
    },
    "/bridges/{bridge_id}": {
        "get": operation("getBridge", "Registry", "One bridge", responses("200", "the bridge", ref("Bridge"), "403", "404"),
                         parameters=[path_param("bridge_id", "the bridge")]),
    },
}
