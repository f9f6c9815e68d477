"""The network's part of the OpenAPI document: api.py's operations (states, incidents), their shapes.

Written beside api.py so that a route and its description change together;
`vmeeting.apidoc.document` merges SCHEMAS and PATHS into the document it serves.
"""

from vmeeting.core.openapi import (
    COUNT, ID, INSTANT, PAGE, STRING, array, body, nullable, obj, operation, page_of, path_param, query, ref,
    responses,
)

SCHEMAS = {
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
}

PATHS = {
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
}
