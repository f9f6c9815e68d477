"""The approvals' part of the OpenAPI document (api.py beside it): the inbox and a decision (issue 27).

Its `Approval` schema is also what booking's `Meeting.approvals` lists.
"""

from vmeeting.core.openapi import (
    COUNT, ID, INSTANT, PAGE, STRING, array, body, nullable, obj, operation, page_of, path_param, query, ref,
    responses,
)

APPROVAL = obj({
    "unit_id": {**ID, "description": "the approving unit: the nearest unit with an approver, from the sites' own "
                                     "unit upward; the province's for units without one"},
    "unit_name": nullable(STRING),
    "status": {"type": "string", "enum": ["pending", "approved", "refused"]},
    "endpoint_ids": array(ID, description="the meeting's sites this unit answers for (a refusal takes them off)"),
    "round": {"type": "integer", "minimum": 1, "description": "1 for the booking; +1 each time a change asks again"},
    "requested_at": nullable(INSTANT),
    "decided_by": nullable({**ID, "description": "the deciding user's id; null while pending, or when refused "
                                                 "automatically at the meeting's start"}),
    "decided_at": nullable(INSTANT),
    "reason": nullable(STRING),
}, ["unit_id", "status", "endpoint_ids", "decided_by", "decided_at", "reason"], additional=True)

INBOX_ITEM = {**APPROVAL, "properties": {**APPROVAL["properties"], "meeting_id": ID, "title": STRING,
                                         "starts_at": INSTANT,
                                         "booked_by": nullable({**ID, "description": "the booker's user id"}),
                                         "meeting": obj({
    "id": ID, "title": STRING, "description": STRING, "status": {"type": "string",
                                                                "enum": ["scheduled", "pending", "cancelled"]},
    "starts_at": INSTANT, "ends_at": INSTANT, "recurrence": nullable(STRING), "chair_endpoint_id": ID,
    "endpoint_count": COUNT,
    "organizer": nullable(obj({"id": ID, "name": STRING, "agency": STRING}, ["id", "name"], additional=True)),
}, ["id", "title", "status", "starts_at", "ends_at"], additional=True)}}

DECISION = obj({"decision": {"type": "string", "enum": ["approve", "refuse"]},
                "reason": {"type": "string", "maxLength": 500,
                           "description": "required to refuse (the booker reads it in a mail); optional to approve"}},
               ["decision"])

SCHEMAS = {
    "Approval": APPROVAL,
    "ApprovalInboxItem": INBOX_ITEM,
    "ApprovalDecision": DECISION,
    "ApprovalDecided": {**APPROVAL, "properties": {
        **APPROVAL["properties"], "meeting_id": ID,
        "meeting_status": {"type": "string", "enum": ["scheduled", "pending", "cancelled"],
                           "description": "scheduled once no unit is pending (the invites are queued then); "
                                          "cancelled when the refused unit holds the chair site"}}},
}

PATHS = {
    "/approvals": {
        "get": operation(
            "listApprovals", "Booking", "The requests the token's user may decide (their inbox «Chờ duyệt»)",
            responses("200", "a page of requests, soonest meeting first", page_of(ref("ApprovalInboxItem")), "400",
                      "403"),
            parameters=[query("status", "pending (default: of meetings still pending), approved, refused, all",
                              {"type": "string", "enum": ["pending", "approved", "refused", "all"]}), *PAGE],
            description="Users who approve nothing (no `approves`, not admin) get an empty list."),
    },
    "/meetings/{meeting_id}/approvals/{unit_id}": {
        "parameters": [path_param("meeting_id", "the meeting"), path_param("unit_id", "the approving unit")],
        "post": operation(
            "decideApproval", "Booking", "Approve or refuse one unit's request",
            responses("200", "the decision", ref("ApprovalDecided"), "400", "403", "404", "409"),
            request_body=body(ref("ApprovalDecision")),
            description="403 for a user who does not approve for that unit (the booker included). 409 with "
                        "`error.approval` (its state) when the request is decided already or the meeting is no "
                        "longer pending: of many deciding at once, one decides. A refusal takes the unit's sites "
                        "off every sitting and tells the booker; a refused chair site cancels the meeting. When no "
                        "unit is pending any more the meeting is scheduled and the invites go out."),
    },
}
