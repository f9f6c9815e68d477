"""The roll-call's part of the OpenAPI document: api.py's operations (marks, the report), their shapes.

Written beside api.py so that a route and its description change together;
`vmeeting.apidoc.document` merges SCHEMAS and PATHS into the document it serves.
"""

from vmeeting.booking.apidoc import MEETING_ID, OCCURRENCE_ID
from vmeeting.core.openapi import (
    COUNT, ID, INSTANT, STRING, array, body, nullable, obj, operation, query, ref, responses,
)
from vmeeting.registry.apidoc import ENDPOINT_ID

SCHEMAS = {
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

PATHS = {
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
}
