"""The invites' part of the OpenAPI document: api.py's operations (a meeting as iCalendar, its answers).

Written beside api.py so that a route and its description change together;
`vmeeting.apidoc.document` merges SCHEMAS and PATHS into the document it serves.
"""

from vmeeting.booking.apidoc import MEETING_ID
from vmeeting.core.openapi import BOOL, COUNT, ID, INSTANT, STRING, array, nullable, obj, operation, ref, responses

PARTSTAT = {"type": "string", "enum": ["ACCEPTED", "TENTATIVE", "DECLINED", "DELEGATED"]}
ANSWER_FIELDS = {
    "partstat": PARTSTAT, "comment": STRING,
    "source": {"type": "string", "enum": ["link", "mail"],
               "description": "the signed link in the mail, or the calendar's iTIP REPLY"},
    "sequence": COUNT, "responded_at": INSTANT,
    "delegated_to": nullable({"type": "string", "description": "DELEGATED: the address the invite went on to"}),
    "delegated_from": nullable({"type": "string", "description": "a delegate's answer: who handed the invite on"}),
}

SCHEMAS = {
    "Answer": obj(ANSWER_FIELDS, list(ANSWER_FIELDS)),
    "SittingAnswer": obj({"occurrence_id": ID, "original_starts_at": INSTANT, **ANSWER_FIELDS},
                         ["occurrence_id", "original_starts_at", *ANSWER_FIELDS]),
    "InviteeAnswers": obj({
        "email": STRING, "name": nullable(STRING), "endpoint_ids": array(ID),
        "delegate": {**BOOL, "description": "answers as the delegate of an invited person (RFC 5546 §3.2.2.3)"},
        "answer": nullable(ref("Answer")),
        "sittings": array(ref("SittingAnswer")),
    }, ["email", "name", "endpoint_ids", "delegate", "answer", "sittings"]),
    "RefusedReply": obj({
        "kind": {"type": "string", "enum": ["rejected", "unusable"]},
        "method": nullable({"type": "string", "description": "iTIP METHOD: REPLY, REFRESH, COUNTER"}),
        "sender": STRING, "attendee": nullable(STRING), "subject": STRING,
        "reason": {"type": "string", "description": "in Vietnamese"}, "received_at": INSTANT,
    }, ["kind", "method", "sender", "attendee", "subject", "reason", "received_at"]),
    "MeetingAnswers": obj({
        "answers": array(ref("InviteeAnswers")),
        "refused_replies": {**array(ref("RefusedReply")),
                            "description": "only for the meeting's booker and admins: mails from the organizer "
                                           "mailbox that changed nothing, with the reason"},
    }, ["answers"]),
}

PATHS = {
    "/meetings/{meeting_id}/invite.ics": {
        "parameters": [MEETING_ID],
        "get": operation("meetingCalendar", "Invites", "The meeting as iCalendar (RFC 5545)",
                         responses("200", "the calendar", None, "403", "404",
                                   ok_content={"text/calendar": {"schema": STRING}})),
    },
    "/meetings/{meeting_id}/answers": {
        "parameters": [MEETING_ID],
        "get": operation("meetingAnswers", "Invites",
                         "Everyone's answer to the invite, for the whole meeting and per sitting (RECURRENCE-ID)",
                         responses("200", "the answers", ref("MeetingAnswers"), "403", "404")),
    },
}
