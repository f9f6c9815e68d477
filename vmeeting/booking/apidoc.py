"""Booking's part of the OpenAPI document: api.py's operations (meetings, sittings, slots), their shapes.

Written beside api.py so that a route and its description change together;
`vmeeting.apidoc.document` merges SCHEMAS and PATHS into the document it serves.
"""

from vmeeting.core.openapi import (
    BOOL, COUNT, ID, INSTANT, PAGE, STRING, array, body, id_list_query, nullable, obj, operation, page_of,
    path_param, query, ref, responses,
)

CONFLICT = obj({
    "endpoint_id": ID, "endpoint_name": STRING, "meeting_id": ID, "meeting_title": STRING,
    "endpoint_district": {**STRING, "description": "the district the site is shown under (its former district "
                          "for a 2025 commune-level unit), without «Huyện »; empty at province level"},
    "occurrence_id": ID, "starts_at": INSTANT, "ends_at": INSTANT,
    "priority": {"type": "string", "enum": ["central", "province", "local", "internal"],
                 "description": "the busy meeting's priority class"},
    "displaceable": {"type": "boolean", "description": "whether this booking's class is strictly above the busy "
                     "meeting's: `displace_lower_priority: true` would take the site from it"},
}, ["endpoint_id", "meeting_id", "starts_at", "ends_at"], additional=True)

PRIORITY = {"type": "string", "enum": ["central", "province", "local", "internal"], "default": "local",
            "description": "the priority class, highest first: central (Trung ương), province (Tỉnh), local "
                           "(Huyện, xã), internal (Nội bộ). An admin may set any; a scheduler of the province "
                           "office (no home unit) up to province; any other scheduler local or internal: a class "
                           "above the caller's is 403 with `fields.priority`, an unknown one 400"}

CAPACITY = obj({
    "bridge_id": ID, "bridge_code": STRING, "ports": {"type": "integer"}, "in_use": {"type": "integer"},
    "requested": {"type": "integer"}, "starts_at": INSTANT, "ends_at": INSTANT,
}, ["bridge_id", "ports", "in_use", "requested"], additional=True)

OCCURRENCE = obj({
    "id": ID, "starts_at": INSTANT, "ends_at": INSTANT,
    "status": {"type": "string", "enum": ["scheduled", "cancelled"],
               "description": "cancelled: this sitting, or the whole meeting, was cancelled"},
    "is_moved": BOOL, "original_starts_at": INSTANT,
}, ["id", "starts_at", "ends_at", "status", "is_moved", "original_starts_at"])

WARNING = obj({"endpoint_id": nullable(ID), "kind": {"type": "string", "enum": ["down", "incident", "late_notice"]},
               "message": STRING},
              ["endpoint_id", "kind", "message"], additional=True,
              description="a site that is down or has an open incident, or (endpoint_id null, late_notice) a "
                          "meeting fewer than 3 working days away, whose giấy mời may arrive late "
                          "(QĐ 45/2018/QĐ-TTg); it does not stop the booking")

SKIPPED = obj({"starts_at": INSTANT, "reason": STRING}, ["starts_at", "reason"], additional=True,
              description="a sitting of the series left out by skip_non_working or skip_conflicting")

MEETING = obj({
    "id": ID, "uid": {"type": "string", "description": "iCalendar UID (RFC 5545 §3.8.4.7)"},
    "title": STRING, "description": STRING,
    "status": {"type": "string", "enum": ["scheduled", "pending", "cancelled"],
               "description": "pending: sites outside the booker's scope wait for their units' approval (`approvals`); "
                              "it holds its sites, and no invite goes out until it is scheduled"},
    "approvals": array(ref("Approval"), description="one per approving unit; [] for a booking within scope "
                                                    "(the schema is the approvals' fragment's, vmeeting/approvals)"),
    "priority": PRIORITY,
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
    "unit_ids": array(ID, description="units, each with everything below it valid on the meeting's day; a unit "
                      "ended by then stands for its successors (registry.succession)"),
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
    "priority": PRIORITY,
    "displace_lower_priority": {"type": "boolean", "description": "take the busy sites from sittings of a strictly "
                                "lower class, in the same transaction: a single meeting loses those sites (or is "
                                "cancelled when its chair site is taken), a series' sitting loses them (or is "
                                "cancelled); their people get a CANCEL, the others the updated REQUEST, the booker a "
                                "mail with the next free slots, and both meetings' history records it. Any busy "
                                "sitting of an equal or higher class: 409 as without it, nothing displaced"},
}

MEETING_ID = path_param("meeting_id", "the meeting")
OCCURRENCE_ID = path_param("occurrence_id", "one sitting of the meeting")
ETAG = {"ETag": {"schema": STRING, "description": "the meeting's version, for If-Match"}}
IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key", "in": "header", "required": False,
    "schema": {"type": "string", "minLength": 1, "maxLength": 257},
    "description": "draft-ietf-httpapi-idempotency-key-header: an sf-string (\"…\", 1–255 characters of printable "
                   "ASCII) or a bare token, unique per request of this user; a retry with the same key and body "
                   "gets the first answer (201, `Idempotent-Replayed: true`) and books nothing; kept 24 hours"}
REPLAYED = {"Idempotent-Replayed": {"schema": {"type": "string", "enum": ["true"]},
                                    "description": "present on the answer repeated to a retry with the same "
                                                   "Idempotency-Key"}}
IF_MATCH = {"name": "If-Match", "in": "header", "required": False, "schema": STRING,
            "description": "optional: the ETag the change is based on (GET's, or the last write's), e.g. "
                           "`\"meeting-18-v3\"`; checked under the meeting's row lock. An older one, or a value "
                           "naming no version of this meeting (a weak or malformed tag), gets 412 "
                           "`precondition_failed` with the `changes` made meanwhile (each with `details`, old → new) "
                           "and changes nothing. `*`, or no header: the change applies to the current version"}
WINDOW = [query("from", "start of the window (default: now)", INSTANT),
          query("to", "end of the window (default: from + 14 days; at most 400 days after from)", INSTANT)]

#: what a cancel must send: one call never cancels a meeting of 213 sites by accident
CANCEL_INPUT = obj({"confirm": {"type": "boolean", "const": True, "description": "must be true: one call never "
                                                                             "cancels by accident"},
                    "reason": {"type": "string", "maxLength": 500,
                               "description": "told to the attendees in the CANCEL mail"}},
                   ["confirm"])
CANCEL_REFUSED = ('Without `{"confirm": true}` (an empty or other body, `"confirm": 1`), or with a `reason` that '
                  "is not a string: 400 naming `confirm` or `reason`, nothing cancelled.")

SCHEMAS = {
    "CancelInput": CANCEL_INPUT,
    "Meeting": MEETING,
    "MeetingInput": obj(MEETING_INPUT, ["title", "starts_at", "ends_at", "chair_endpoint_id"]),
    "MeetingPatch": {**obj({k: v for k, v in MEETING_INPUT.items()
                            if k not in ("skip_non_working", "skip_conflicting")}), "minProperties": 1},
    "OccurrenceListItem": obj({
        "id": {**ID, "description": "the meeting's id"}, "occurrence_id": ID, "title": STRING,
        "starts_at": INSTANT, "ends_at": INSTANT,
        "status": {"type": "string", "enum": ["scheduled", "pending", "cancelled"]},
        "is_recurring": BOOL, "chair_endpoint_id": ID, "endpoint_count": COUNT, "priority": PRIORITY,
    }, ["id", "occurrence_id", "title", "starts_at", "ends_at", "status", "is_recurring"], additional=True),
    "Slots": obj({
        "items": array(obj({"starts_at": INSTANT, "ends_at": INSTANT}, ["starts_at", "ends_at"])),
        "total": COUNT, "endpoint_count": COUNT,
    }, ["items", "total"], additional=True),
}

PATHS = {
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
                             "open incident", ref("Meeting"), "400", "403", "409", "413", "422",
                      ok_headers={**ETAG, **REPLAYED}),
            parameters=[IDEMPOTENCY_KEY],
            request_body=body(ref("MeetingInput"), "one of endpoint_ids, unit_ids, group_ids, all_endpoints"),
            description="Sites outside the booker's scope (a scheduler's home unit and below): 201 with `status: "
                        "pending` and `approvals`, no invite until every unit approved; a site no unit answers for "
                        "on the meeting's day: 400 `fields.endpoint_ids` naming it. "
                        "A sitting that starts in the past: 400 (`fields.starts_at`). Busy sites or a full bridge: "
                        "409 with `conflicts` (each with the busy meeting's `priority` and whether it is `displaceable`, and "
                        "`error.displaceable`: whether `displace_lower_priority` would free them all) or `capacity`, "
                        "nothing stored. A class above the caller's: 403 with `fields.priority`. A sitting on a non-working day or "
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
            description="Same 409 rules as booking. Changing only the text of a meeting that has begun is allowed; "
                        "a sitting that has begun keeps its start (400 `fields.starts_at`), its end may be extended "
                        "(409 naming the next meeting on a clash) or shortened, not to before now."),
    },
    "/meetings/{meeting_id}/cancel": {
        "parameters": [MEETING_ID],
        "post": operation("cancelMeeting", "Booking",
                          "Cancel the meeting (kept, status cancelled, every sitting reads cancelled); sends CANCEL",
                          responses("200", "the meeting", ref("Meeting"), "400", "403", "404", "409", "412",
                                    ok_headers=ETAG),
                          parameters=[IF_MATCH], request_body=body(ref("CancelInput")),
                          description=CANCEL_REFUSED + " `reason` is told in the CANCEL mail."),
    },
    "/meetings/{meeting_id}/occurrences/{occurrence_id}": {
        "parameters": [MEETING_ID, OCCURRENCE_ID],
        "patch": operation("moveOccurrence", "Booking", "Move one sitting of a series",
                           responses("200", "the meeting", ref("Meeting"), "400", "403", "404", "409", "412", "413",
                                     ok_headers=ETAG),
                           description="A sitting that has begun (its set-up window open) keeps its start: only "
                                       "`ends_at` may change, extended (409 naming the next meeting on a clash) or "
                                       "shortened, not to before now; another start is 400 `fields.starts_at`. A "
                                       "sitting that has ended does not move (400).",
                           parameters=[IF_MATCH], request_body=body(obj({"starts_at": INSTANT, "ends_at": INSTANT,
                                                  "allow_non_working_time": BOOL}, ["starts_at", "ends_at"]))),
    },
    "/meetings/{meeting_id}/occurrences/{occurrence_id}/cancel": {
        "parameters": [MEETING_ID, OCCURRENCE_ID],
        "post": operation("cancelOccurrence", "Booking",
                          "Cancel one sitting (CANCEL with its RECURRENCE-ID); the only remaining one cancels the meeting",
                          responses("200", "the meeting", ref("Meeting"), "400", "403", "404", "409", "412",
                                    ok_headers=ETAG),
                          parameters=[IF_MATCH], request_body=body(ref("CancelInput")), description=CANCEL_REFUSED),
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
}
