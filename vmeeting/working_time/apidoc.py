"""The working calendar's part of the OpenAPI document: api.py's operations (holidays), their shapes.

Written beside api.py so that a route and its description change together;
`vmeeting.apidoc.document` merges SCHEMAS and PATHS into the document it serves.
"""

from vmeeting.core.openapi import (
    COUNT, DATE, ERRORS, STRING, array, body, obj, operation, path_param, query, ref, responses,
)

#: holiday, in_lieu (nghỉ bù), swapped_day_off and swapped_working_day (làm bù) come from the law and the
#: government's notices (the `holidays` package); day_off and working_day are declared here
HOLIDAY_KINDS = ["holiday", "in_lieu", "swapped_day_off", "swapped_working_day", "day_off", "working_day"]

SCHEMAS = {
    "Holiday": obj({"date": DATE, "name": STRING, "kind": {"type": "string", "enum": HOLIDAY_KINDS}},
                   ["date", "name", "kind"], additional=True),
    "HolidayInput": obj({"date": DATE, "name": {"type": "string", "minLength": 1},
                         "kind": {"type": "string", "enum": ["day_off", "working_day"]}}, ["date", "name", "kind"]),
}

PATHS = {
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
