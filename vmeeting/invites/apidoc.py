"""The invites' part of the OpenAPI document: api.py's operation (a meeting as iCalendar).

Written beside api.py so that a route and its description change together;
`vmeeting.apidoc.document` merges SCHEMAS and PATHS into the document it serves.
"""

from vmeeting.booking.apidoc import MEETING_ID
from vmeeting.core.openapi import STRING, operation, responses

SCHEMAS = {}

PATHS = {
    "/meetings/{meeting_id}/invite.ics": {
        "parameters": [MEETING_ID],
        "get": operation("meetingCalendar", "Invites", "The meeting as iCalendar (RFC 5545)",
                         responses("200", "the calendar", None, "403", "404",
                                   ok_content={"text/calendar": {"schema": STRING}})),
    },
}
