"""Readiness's part of the OpenAPI document: api.py's operations (board, confirmations, probes), their shapes.

Written beside api.py so that a route and its description change together;
`vmeeting.apidoc.document` merges SCHEMAS and PATHS into the document it serves.
"""

from vmeeting.booking.apidoc import MEETING_ID
from vmeeting.core.openapi import (
    BOOL, COUNT, ID, INSTANT, STRING, array, body, nullable, obj, operation, query, ref, responses,
)
from vmeeting.readiness.verdict import VERDICTS
from vmeeting.registry.apidoc import ENDPOINT_ID

CHECKS = ["camera", "microphone", "display", "network", "test_call"]

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
    "province_id": ID, "province": STRING,
    "technician_name": nullable(STRING),
    "is_ready": {**BOOL, "description": "The verdict is `ready`."},
    "verdict": {"type": "string", "enum": list(VERDICTS),
                "description": "The site's one verdict, first match of: down (the network's sweeps say so), "
                               "unreachable (this sitting's last probe failed, no sweep heard it since), issue "
                               "(the technician's answer), incident (an incident is open at the site), pending "
                               "(no answer yet), ready."},
    "network": obj({"state": {"type": "string", "enum": ["up", "down", "unknown"]}, "since": nullable(INSTANT)},
                   ["state", "since"], description="The site's state from the network's sweeps."),
    "incident": nullable({**STRING, "description": "The title of an incident open at the site."}),
}, ["endpoint_id", "status", "checks", "note", "probe", "confirmed_by", "confirmed_at"], additional=True)

READINESS_BOARD = obj({
    "meeting_id": ID, "title": STRING,
    "occurrence": obj({"id": ID, "starts_at": INSTANT, "ends_at": INSTANT,
                       "status": {"type": "string", "enum": ["scheduled", "cancelled"]}},
                      ["id", "starts_at", "ends_at", "status"]),
    "summary": obj({**{name: COUNT for name in VERDICTS}, "total": COUNT,
                    "verdicts": obj({name: COUNT for name in VERDICTS}, list(VERDICTS),
                                    description="The same counts again (the name earlier versions used).")},
                   [*VERDICTS, "total"],
                   description="Each site counted once, by its verdict: the counts add up to total. The same "
                               "counts as the today board, the readiness board and the network board."),
    "districts": array(obj({"id": ID, "name": STRING, "total": COUNT}, ["id", "name", "total"])),
    "items": array(READINESS_ITEM),
}, ["meeting_id", "occurrence", "summary", "items"], additional=True)

SITTING_QUERY = query("occurrence_id", "the sitting; the meeting's current one when left out", ID)

SCHEMAS = {
    "Readiness": READINESS_BOARD,
    "ReadinessItem": READINESS_ITEM,
    "Confirmation": obj({
        "status": {"type": "string", "enum": ["ready", "issue"]},
        "checks": obj({name: BOOL for name in CHECKS}),
        "note": {"type": "string", "description": "required with status issue"},
        "occurrence_id": {**ID, "description": "the sitting; the meeting's current one when left out"},
    }, ["status"]),
}

PATHS = {
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
}
