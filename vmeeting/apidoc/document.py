"""The OpenAPI 3.1 document of /api/v1, written by hand from CONTRACT.md.

`DOCUMENT` describes every operation the contract names for today's API;
`document_for(app)` keeps only the operations the app routes, so what is
served never promises a path that answers 404. Two suites hold it to the
code: tests/apidoc/test_document.py (every route of the url_map under /api/v1
is described, nothing else; the document validates) and
tests/apidoc/test_schemathesis.py (every operation fuzzed; every answer
matches its schema, none is a 5xx).

Shapes only here: the rules behind them live in each capability's service.
"""

import copy
import re

API_PREFIX = "/api/v1"
VERSION = "1.0.0"

# -- building blocks -----------------------------------------------------------------------


def ref(name):
    return {"$ref": f"#/components/schemas/{name}"}


def nullable(schema):
    """A schema that also admits null (OpenAPI 3.1 spells it as a type list)."""
    schema = dict(schema)
    if "$ref" in schema:
        return {"anyOf": [schema, {"type": "null"}]}
    kind = schema.get("type")
    schema["type"] = [kind, "null"] if isinstance(kind, str) else [*kind, "null"]
    if "enum" in schema:
        schema["enum"] = [*schema["enum"], None]
    return schema


def obj(properties, required=(), *, additional=False, description=None):
    schema = {"type": "object", "properties": properties, "additionalProperties": additional}
    if required:
        schema["required"] = list(required)
    if description:
        schema["description"] = description
    return schema


def array(items, **extra):
    return {"type": "array", "items": items, **extra}


#: no maximum: an id too large to exist is the client's to send, and gets 404 (or 400 in a body)
ID = {"type": "integer", "minimum": 1}
STRING = {"type": "string"}
BOOL = {"type": "boolean"}
INSTANT = {"type": "string", "format": "date-time",
           "description": "ISO 8601 with an offset, e.g. 2026-12-07T08:00:00+07:00; without an offset: 400"}
DATE = {"type": "string", "format": "date"}


def json_content(schema):
    return {"application/json": {"schema": schema}}


def error_response(description):
    return {"description": description, "content": json_content(ref("Error"))}


ERRORS = {
    "400": error_response("Bad input; `error.fields` names each bad field and why (in Vietnamese)."),
    "401": {**error_response("No valid bearer token."),
            "headers": {"WWW-Authenticate": {"schema": STRING, "description": 'Bearer realm="vmeeting" (RFC 6750)'}}},
    "403": error_response("The token's user lacks the permission."),
    "404": error_response("No such record (also for an id too large to exist)."),
    "409": error_response("Conflict with other records: busy sites (`conflicts`), a full bridge (`capacity`), "
                          "a site in a future meeting, a cancelled or finished sitting."),
    "412": error_response("`If-Match` names an older version of the record: someone changed it meanwhile; "
                          "nothing was changed."),
    "413": error_response("The request body is too large."),
    "429": error_response("Too many requests; slow down."),
    "503": error_response("The database is unreachable; try again later."),
}


def responses(ok_status, ok_description, ok_schema, *errors, ok_content=None, ok_headers=None):
    """The operation's answers: its success, the errors it names, and 401/413/429/503 that any may give."""
    answers = {ok_status: {"description": ok_description,
                           "content": ok_content if ok_content is not None else json_content(ok_schema)}}
    if ok_headers:
        answers[ok_status]["headers"] = ok_headers
    for status in sorted({*errors, "401", "429", "503"}):
        answers[status] = ERRORS[status]
    return answers


def path_param(name, description, schema=ID):
    return {"name": name, "in": "path", "required": True, "description": description, "schema": schema}


def query(name, description, schema=STRING, **extra):
    return {"name": name, "in": "query", "required": False, "description": description, "schema": schema, **extra}


def id_list_query(name, description):
    # Comma-separated in one parameter or the parameter repeated: both are read.
    return query(name, description + " (comma-separated, or the parameter repeated)",
                 array({"type": "string", "pattern": r"^[0-9]{1,18}(,[0-9]{1,18})*$"}),
                 style="form", explode=True)


PAGE = [
    query("page", "page number, from 1", {"type": "integer", "minimum": 1, "maximum": 1_000_000, "default": 1}),
    query("per_page", "items per page", {"type": "integer", "minimum": 1, "maximum": 500, "default": 50}),
]


def page_of(item):
    return obj({"items": array(item), "total": {"type": "integer", "minimum": 0},
                "page": {"type": "integer", "minimum": 1}, "per_page": {"type": "integer", "minimum": 1}},
               ["items", "total", "page", "per_page"])


def body(schema, description=None):
    content = {"required": True, "content": json_content(schema)}
    if description:
        content["description"] = description
    return content


def operation(op_id, tag, summary, answers, *, parameters=(), request_body=None, description=None, public=False):
    op = {"operationId": op_id, "tags": [tag], "summary": summary, "responses": answers}
    if description:
        op["description"] = description
    if parameters:
        op["parameters"] = list(parameters)
    if request_body:
        op["requestBody"] = request_body
    if public:
        op["security"] = []
    return op


# -- shapes ----------------------------------------------------------------------------------

ENDPOINT_STATUSES = ["active", "maintenance", "retired"]
PROBE_METHODS = ["sip-options", "tcp", "none"]
CATEGORIES = ["provincial", "agency", "district", "commune", "other"]
TRANSPORTS = ["tslcd", "wan", "internet"]
PROTOCOLS = ["sip", "h323", "webrtc"]
CHECKS = ["camera", "microphone", "display", "network", "test_call"]

ENDPOINT_WRITABLE = {
    "code": {"type": "string", "pattern": r"^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$", "description": "unique"},
    "name": {"type": "string", "minLength": 1, "maxLength": 200},
    "unit_id": ID,
    "category": {"type": "string", "enum": CATEGORIES},
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

CONFLICT = obj({
    "endpoint_id": ID, "endpoint_name": STRING, "meeting_id": ID, "meeting_title": STRING,
    "occurrence_id": ID, "starts_at": INSTANT, "ends_at": INSTANT,
}, ["endpoint_id", "meeting_id", "starts_at", "ends_at"], additional=True)

CAPACITY = obj({
    "bridge_id": ID, "bridge_code": STRING, "ports": {"type": "integer"}, "in_use": {"type": "integer"},
    "requested": {"type": "integer"}, "starts_at": INSTANT, "ends_at": INSTANT,
}, ["bridge_id", "ports", "in_use", "requested"], additional=True)

OCCURRENCE = obj({
    "id": ID, "starts_at": INSTANT, "ends_at": INSTANT, "status": {"type": "string", "enum": ["scheduled", "cancelled"]},
    "is_moved": BOOL, "original_starts_at": INSTANT,
}, ["id", "starts_at", "ends_at", "status", "is_moved", "original_starts_at"])

WARNING = obj({"endpoint_id": ID, "kind": {"type": "string", "enum": ["down", "incident"]}, "message": STRING},
              ["endpoint_id", "kind", "message"], additional=True,
              description="a site that is down or has an open incident; it does not stop the booking")

SKIPPED = obj({"starts_at": INSTANT, "reason": STRING}, ["starts_at", "reason"], additional=True,
              description="a sitting of the series left out by skip_non_working or skip_conflicting")

MEETING = obj({
    "id": ID, "uid": {"type": "string", "description": "iCalendar UID (RFC 5545 §3.8.4.7)"},
    "title": STRING, "description": STRING,
    "status": {"type": "string", "enum": ["scheduled", "cancelled"]},
    "sequence": {"type": "integer", "minimum": 0, "description": "iCalendar SEQUENCE; every change that matters bumps it"},
    "starts_at": INSTANT, "ends_at": INSTANT,
    "setup_minutes": {"type": "integer", "minimum": 0, "maximum": 240},
    "recurrence": nullable({"type": "string", "description": "RRULE (RFC 5545 §3.3.10)"}),
    "recurrence_text": nullable({"type": "string", "description": "the RRULE in words"}),
    "chair_endpoint_id": ID, "bridge_id": nullable(ID), "organizer_id": nullable(ID),
    "attendees": array({"type": "string"}),
    "endpoint_ids": array(ID), "endpoint_count": {"type": "integer", "minimum": 0},
    "selection": {"type": "object", "description": "what was chosen: units, groups, endpoints, all"},
    "occurrences": array(OCCURRENCE),
    "created_at": INSTANT, "updated_at": INSTANT,
    "skipped": array(SKIPPED), "warnings": array(WARNING),
}, ["id", "uid", "title", "description", "status", "sequence", "starts_at", "ends_at", "setup_minutes",
    "recurrence", "chair_endpoint_id", "bridge_id", "attendees", "endpoint_ids", "endpoint_count", "occurrences",
    "created_at", "updated_at"], additional=True)

MEETING_INPUT = {
    "title": {"type": "string", "minLength": 1, "maxLength": 200},
    "description": STRING,
    "starts_at": INSTANT,
    "ends_at": INSTANT,
    "chair_endpoint_id": ID,
    "endpoint_ids": array(ID),
    "unit_ids": array(ID, description="units, each with everything below it"),
    "group_ids": array(ID),
    "all_endpoints": BOOL,
    "bridge_id": nullable(ID),
    "setup_minutes": {"type": "integer", "minimum": 0, "maximum": 240},
    "recurrence": nullable({"type": "string", "description": "an RRULE (RFC 5545 §3.3.10); no BYHOUR/BYMINUTE/BYSECOND"}),
    "attendees": array({"type": "string", "format": "email"}, description="extra e-mail addresses"),
    "skip_busy": {"type": "boolean", "description": "book without the sites that are busy instead of answering 409"},
    "allow_non_working_time": {"type": "boolean",
                               "description": "book a sitting on a non-working day or outside working hours"},
    "skip_non_working": {"type": "boolean", "description": "with recurrence: leave out sittings on non-working days"},
    "skip_conflicting": {"type": "boolean", "description": "with recurrence: leave out sittings at which a site is busy"},
}

PROBE = obj({
    "reachable": nullable(BOOL), "rtt_ms": nullable({"type": "number", "minimum": 0}),
    "method": nullable(STRING), "checked_at": nullable(INSTANT), "error": nullable(STRING),
}, ["reachable", "rtt_ms", "checked_at", "error"], additional=True)

READINESS_ITEM = obj({
    "endpoint_id": ID, "code": STRING, "name": STRING, "district_id": ID, "district": STRING,
    "technician_id": nullable(ID),
    "status": {"type": "string", "enum": ["ready", "issue", "pending"]},
    "checks": obj({name: BOOL for name in CHECKS}, CHECKS),
    "note": STRING, "probe": PROBE,
    "confirmed_by": nullable(ID), "confirmed_by_name": nullable(STRING), "confirmed_at": nullable(INSTANT),
    "is_ready": BOOL,
    "verdict": {"type": "string", "enum": ["ready", "issue", "pending", "unreachable"],
                "description": "The site's one verdict: issue first, then a failed probe, then the answer."},
}, ["endpoint_id", "status", "checks", "note", "probe", "confirmed_by", "confirmed_at"], additional=True)

COUNT = {"type": "integer", "minimum": 0}
READINESS_BOARD = obj({
    "meeting_id": ID, "title": STRING,
    "occurrence": obj({"id": ID, "starts_at": INSTANT, "ends_at": INSTANT,
                       "status": {"type": "string", "enum": ["scheduled", "cancelled"]}},
                      ["id", "starts_at", "ends_at", "status"]),
    "summary": obj({"ready": COUNT, "issue": COUNT, "pending": COUNT, "unreachable": COUNT, "total": COUNT,
                    "verdicts": obj({name: COUNT for name in ("ready", "issue", "pending", "unreachable")},
                                    ["ready", "issue", "pending", "unreachable"],
                                    description="Each site counted once by its verdict: they add up to total.")},
                   ["ready", "issue", "pending", "unreachable"]),
    "districts": array(obj({"id": ID, "name": STRING, "total": COUNT}, ["id", "name", "total"])),
    "items": array(READINESS_ITEM),
}, ["meeting_id", "occurrence", "summary", "items"], additional=True)

HOLIDAY_KINDS = ["holiday", "day_off", "working_day"]

SCHEMAS = {
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
    "Meeting": MEETING,
    "MeetingInput": obj(MEETING_INPUT, ["title", "starts_at", "ends_at", "chair_endpoint_id"]),
    "MeetingPatch": {**obj({k: v for k, v in MEETING_INPUT.items()
                            if k not in ("skip_non_working", "skip_conflicting")}), "minProperties": 1},
    "OccurrenceListItem": obj({
        "id": {**ID, "description": "the meeting's id"}, "occurrence_id": ID, "title": STRING,
        "starts_at": INSTANT, "ends_at": INSTANT, "status": {"type": "string", "enum": ["scheduled", "cancelled"]},
        "is_recurring": BOOL, "chair_endpoint_id": ID, "endpoint_count": COUNT,
    }, ["id", "occurrence_id", "title", "starts_at", "ends_at", "status", "is_recurring"], additional=True),
    "Slots": obj({
        "items": array(obj({"starts_at": INSTANT, "ends_at": INSTANT}, ["starts_at", "ends_at"])),
        "total": COUNT, "endpoint_count": COUNT,
    }, ["items", "total"], additional=True),
    "Readiness": READINESS_BOARD,
    "ReadinessItem": READINESS_ITEM,
    "Confirmation": obj({
        "status": {"type": "string", "enum": ["ready", "issue"]},
        "checks": obj({name: BOOL for name in CHECKS}),
        "note": {"type": "string", "description": "required with status issue"},
        "occurrence_id": {**ID, "description": "the sitting; the meeting's current one when left out"},
    }, ["status"]),
    "Holiday": obj({"date": DATE, "name": STRING, "kind": {"type": "string", "enum": HOLIDAY_KINDS}},
                   ["date", "name", "kind"], additional=True),
    "HolidayInput": obj({"date": DATE, "name": {"type": "string", "minLength": 1},
                         "kind": {"type": "string", "enum": ["day_off", "working_day"]}}, ["date", "name", "kind"]),
    "NetworkState": obj({
        "endpoint_id": ID, "state": {"type": "string", "enum": ["up", "down", "unknown"]},
        "since": nullable(INSTANT), "last_checked_at": nullable(INSTANT), "last_seen_at": nullable(INSTANT),
        "rtt_ms": nullable({"type": "number", "minimum": 0}), "error": nullable(STRING),
    }, ["endpoint_id", "state", "since", "last_checked_at", "rtt_ms", "error"], additional=True),
    "Network": obj({
        "summary": obj({"up": COUNT, "down": COUNT, "unknown": COUNT}, ["up", "down", "unknown"]),
        "items": array(ref("NetworkState")), "total": COUNT,
    }, ["summary", "items", "total"], additional=True),
    "Incident": obj({
        "id": ID, "endpoint_id": ID, "title": STRING,
        "severity": {"type": "string", "enum": ["minor", "major", "critical"]},
        "status": {"type": "string", "enum": ["open", "resolved"]},
        "source": {"type": "string", "enum": ["manual", "network", "readiness"]},
        "note": nullable(STRING), "opened_at": INSTANT, "opened_by": nullable(ID),
        "resolved_at": nullable(INSTANT), "resolved_by": nullable(ID), "resolution": nullable(STRING),
    }, ["id", "endpoint_id", "title", "severity", "status", "source", "opened_at", "resolved_at", "resolution"],
        additional=True),
    "IncidentInput": obj({"endpoint_id": ID, "title": {"type": "string", "minLength": 1},
                          "severity": {"type": "string", "enum": ["minor", "major", "critical"]},
                          "note": STRING}, ["endpoint_id", "title", "severity"]),
    "Resolution": obj({"resolution": {"type": "string", "minLength": 1}}, ["resolution"]),
    "AttendanceItem": obj({
        "endpoint_id": ID, "status": nullable({"type": "string", "enum": ["present", "late", "absent"]}),
        "reason": nullable(STRING), "marked_by": nullable(ID), "marked_at": nullable(INSTANT),
    }, ["endpoint_id", "status", "reason", "marked_by", "marked_at"], additional=True),
    "Attendance": obj({
        "occurrence_id": ID,
        "summary": obj({"present": COUNT, "late": COUNT, "absent": COUNT, "unmarked": COUNT},
                       ["present", "late", "absent", "unmarked"]),
        "items": array(ref("AttendanceItem")),
    }, ["summary", "items"], additional=True),
    "AttendanceMark": obj({"status": {"type": "string", "enum": ["present", "late", "absent"]},
                           "reason": {"type": "string", "description": "required for absent"}}, ["status"]),
    "AttendanceReport": obj({
        "from": INSTANT, "to": INSTANT,
        "districts": array({"type": "object"}), "endpoints": array({"type": "object"}),
        "total": obj({k: COUNT for k in ("booked", "present", "late", "absent", "unmarked")},
                     ["booked", "present", "late", "absent"]),
    }, ["districts", "endpoints", "total"], additional=True),
}

MEETING_ID = path_param("meeting_id", "the meeting")
OCCURRENCE_ID = path_param("occurrence_id", "one sitting of the meeting")
ENDPOINT_ID = path_param("endpoint_id", "the endpoint")
ETAG = {"ETag": {"schema": STRING, "description": "the meeting's version, for If-Match"}}
IF_MATCH = {"name": "If-Match", "in": "header", "required": False, "schema": STRING,
            "description": "the ETag of GET; an older one gets 412 and changes nothing"}
SITTING_QUERY = query("occurrence_id", "the sitting; the meeting's current one when left out", ID)
WINDOW = [query("from", "start of the window (default: now)", INSTANT),
          query("to", "end of the window (default: from + 14 days; at most 400 days after from)", INSTANT)]

PATHS = {
    "/openapi.json": {
        "get": operation("openapi", "Document", "This document (no token needed)",
                         {"200": {"description": "OpenAPI 3.1", "content": json_content({"type": "object"})}},
                         public=True),
    },
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
                query("unit_id", "the unit and everything below it", ID),
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
    "/meetings": {
        "get": operation(
            "listOccurrences", "Booking", "Sittings in a window, recurring series expanded",
            responses("200", "a page of sittings", page_of(ref("OccurrenceListItem")), "400", "403"),
            parameters=[*WINDOW, query("endpoint_id", "only sittings of this endpoint", ID),
                        query("include_cancelled", "1: cancelled sittings too", {"type": "string", "enum": ["0", "1"]}),
                        *PAGE]),
        "post": operation(
            "createMeeting", "Booking", "Book a meeting",
            responses("201", "the meeting; `skipped` lists sittings left out, `warnings` sites down or with an "
                             "open incident", ref("Meeting"), "400", "403", "409", "413"),
            request_body=body(ref("MeetingInput"), "one of endpoint_ids, unit_ids, group_ids, all_endpoints"),
            description="A sitting that starts in the past: 400 (`fields.starts_at`). Busy sites or a full bridge: "
                        "409 with `conflicts` or `capacity`, nothing stored. A sitting on a non-working day or "
                        "outside working hours: 409 with `error.code = non_working_time`, unless "
                        "`allow_non_working_time`."),
    },
    "/meetings/{meeting_id}": {
        "parameters": [MEETING_ID],
        "get": operation("getMeeting", "Booking", "One meeting with its sittings",
                         responses("200", "the meeting", ref("Meeting"), "403", "404", ok_headers=ETAG)),
        "patch": operation(
            "updateMeeting", "Booking", "Reschedule or change the sites; bumps sequence",
            responses("200", "the meeting", ref("Meeting"), "400", "403", "404", "409", "412", "413",
                      ok_headers=ETAG),
            parameters=[IF_MATCH], request_body=body(ref("MeetingPatch")),
            description="Same 409 rules as booking. Changing only the text of a meeting that has begun is allowed."),
    },
    "/meetings/{meeting_id}/cancel": {
        "parameters": [MEETING_ID],
        "post": operation("cancelMeeting", "Booking", "Cancel the meeting (kept, status cancelled); sends CANCEL",
                          responses("200", "the meeting", ref("Meeting"), "403", "404", "409")),
    },
    "/meetings/{meeting_id}/occurrences/{occurrence_id}": {
        "parameters": [MEETING_ID, OCCURRENCE_ID],
        "patch": operation("moveOccurrence", "Booking", "Move one sitting of a series",
                           responses("200", "the meeting", ref("Meeting"), "400", "403", "404", "409", "413"),
                           request_body=body(obj({"starts_at": INSTANT, "ends_at": INSTANT,
                                                  "allow_non_working_time": BOOL}, ["starts_at", "ends_at"]))),
    },
    "/meetings/{meeting_id}/occurrences/{occurrence_id}/cancel": {
        "parameters": [MEETING_ID, OCCURRENCE_ID],
        "post": operation("cancelOccurrence", "Booking",
                          "Cancel one sitting (CANCEL with its RECURRENCE-ID); the only remaining one cancels the meeting",
                          responses("200", "the meeting", ref("Meeting"), "403", "404", "409")),
    },
    "/meetings/{meeting_id}/invite.ics": {
        "parameters": [MEETING_ID],
        "get": operation("meetingCalendar", "Invites", "The meeting as iCalendar (RFC 5545)",
                         responses("200", "the calendar", None, "403", "404",
                                   ok_content={"text/calendar": {"schema": STRING}})),
    },
    "/meetings/{meeting_id}/readiness": {
        "parameters": [MEETING_ID],
        "get": operation("getReadiness", "Readiness", "Every site's readiness for a sitting",
                         responses("200", "the board", ref("Readiness"), "400", "403", "404"),
                         parameters=[SITTING_QUERY]),
    },
    "/meetings/{meeting_id}/readiness/{endpoint_id}": {
        "parameters": [MEETING_ID, ENDPOINT_ID],
        "put": operation("confirmReadiness", "Readiness",
                         "Confirm a site ready or report its issue (a technician only for their own sites)",
                         responses("200", "the site's readiness", ref("ReadinessItem"),
                                   "400", "403", "404", "409", "413"),
                         parameters=[SITTING_QUERY], request_body=body(ref("Confirmation"))),
    },
    "/meetings/{meeting_id}/probe": {
        "parameters": [MEETING_ID],
        "post": operation("probeMeeting", "Readiness", "Probe every site of the sitting now",
                          responses("200", "the board after the probes", ref("Readiness"), "400", "403", "404", "409"),
                          parameters=[SITTING_QUERY]),
    },
    "/slots": {
        "get": operation(
            "findSlots", "Booking",
            "The earliest free slots, never before now, in working hours on working days (set-up included)",
            responses("200", "the slots", ref("Slots"), "400", "403"),
            parameters=[
                id_list_query("endpoint_ids", "endpoints"), id_list_query("unit_ids", "units, with everything below"),
                id_list_query("group_ids", "groups"),
                query("all_endpoints", "1: every bookable endpoint", {"type": "string", "enum": ["0", "1", "true"]}),
                query("duration_minutes", "length of the meeting",
                      {"type": "integer", "minimum": 15, "maximum": 720, "default": 60}),
                query("setup_minutes", "set-up window before the start",
                      {"type": "integer", "minimum": 0, "maximum": 240}),
                query("limit", "how many slots", {"type": "integer", "minimum": 1, "maximum": 50, "default": 5}),
                query("bridge_id", "the bridge every site joins through", ID),
                *WINDOW,
            ]),
    },
    "/network": {
        "get": operation("getNetwork", "Network", "Every active site's last known state, with the count in each",
                         responses("200", "the states", ref("Network"), "400", "403"),
                         parameters=[query("unit_id", "only the sites of this unit and below", ID),
                                     *PAGE]),
    },
    "/incidents": {
        "get": operation("listIncidents", "Network", "Incidents of sites, newest first",
                         responses("200", "the incidents", page_of(ref("Incident")), "400", "403"),
                         parameters=[query("open", "1: only open ones", {"type": "string", "enum": ["0", "1"]}),
                                     query("endpoint_id", "one site", ID),
                                     query("unit_id", "the sites of this unit and below", ID), *PAGE]),
        "post": operation("openIncident", "Network", "Open an incident on a site (a technician only on their own)",
                          responses("201", "the incident", ref("Incident"), "400", "403", "413"),
                          request_body=body(ref("IncidentInput"))),
    },
    "/incidents/{incident_id}/resolve": {
        "parameters": [path_param("incident_id", "the incident")],
        "post": operation("resolveIncident", "Network", "Resolve an open incident, saying what was done",
                          responses("200", "the incident", ref("Incident"), "400", "403", "404", "409", "413"),
                          request_body=body(ref("Resolution"))),
    },
    "/meetings/{meeting_id}/occurrences/{occurrence_id}/attendance": {
        "parameters": [MEETING_ID, OCCURRENCE_ID],
        "get": operation("getAttendance", "Roll-call", "The roll-call of one sitting",
                         responses("200", "the roll-call", ref("Attendance"), "400", "403", "404")),
    },
    "/meetings/{meeting_id}/occurrences/{occurrence_id}/attendance/{endpoint_id}": {
        "parameters": [MEETING_ID, OCCURRENCE_ID, ENDPOINT_ID],
        "put": operation("markAttendance", "Roll-call",
                         "Mark one site present, late or absent (the organizer, the chair site's technician, "
                         "schedulers, admins)",
                         responses("200", "the site's mark", ref("AttendanceItem"), "400", "403", "404", "409", "413"),
                         request_body=body(ref("AttendanceMark"))),
    },
    "/reports/attendance": {
        "get": operation("attendanceReport", "Roll-call",
                         "Per district and per site over a period: sittings booked, present, late, absent",
                         responses("200", "the report", ref("AttendanceReport"), "400", "403"),
                         parameters=[query("from", "start (a date or an instant; 30 days before `to` by default)",
                                           STRING),
                                     query("to", "end (a date or an instant; tomorrow by default)", STRING),
                                     query("unit_id", "the sites of this unit and below", ID)]),
    },
    "/holidays": {
        "get": operation("listHolidays", "Working time", "The working calendar of a year",
                         responses("200", "the year's holidays, days off and working days",
                                   obj({"items": array(ref("Holiday")), "total": COUNT}, ["items"], additional=True),
                                   "400", "403"),
                         parameters=[query("year", "the year (default: this year)",
                                           {"type": "integer", "minimum": 1900, "maximum": 9999})]),
        "post": operation("declareDay", "Working time", "Declare a day off or a working day (admin)",
                          responses("201", "the declared day", ref("Holiday"), "400", "403", "409", "413"),
                          request_body=body(ref("HolidayInput"))),
    },
    "/holidays/{day}": {
        "delete": operation("removeDay", "Working time", "Remove a declared day off or working day (admin)",
                            {"204": {"description": "removed"},
                             **{status: ERRORS[status] for status in ("400", "401", "403", "404", "429", "503")}},
                            parameters=[path_param("day", "the day, YYYY-MM-DD", DATE)]),
    },
}

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
    "paths": PATHS,
    "components": {
        "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                       "description": "an API token from `flask users token NAME`"}},
        "schemas": SCHEMAS,
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
