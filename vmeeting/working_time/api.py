"""JSON API for the working calendar: GET/POST /holidays, DELETE /holidays/{date} (CONTRACT.md)."""

from datetime import datetime

from flask import abort, g, jsonify

from vmeeting.auth.guards import api_permission_required
from vmeeting.core.jsonapi import api_blueprint, committed, int_arg, json_body
from vmeeting.core.timefmt import local_zone
from vmeeting.working_time import service

bp = api_blueprint("working_time_api", __name__)


def declared_json(row):
    return {"date": row.day.isoformat(), "name": row.name, "kind": row.kind}


@bp.get("/holidays")
@api_permission_required("meetings.view")
def list_days():
    """The year's holidays, declared days off and working days; ?year= (default: this year)."""
    year = int_arg("year", minimum=service.FIRST_YEAR, maximum=service.LAST_YEAR,
                   default=datetime.now(local_zone()).year)
    items = service.year_items(year)
    return jsonify({"items": items, "total": len(items), "year": year})


@bp.post("/holidays")
@api_permission_required("calendar.edit")
def declare():
    """Declare a day off or a working day: 201 with it; 400 naming the field; 409 if declared already."""
    row = service.declare_day(json_body(), actor=g.api_user)
    return committed((jsonify(declared_json(row)), 201))


@bp.delete("/holidays/<day>")
@api_permission_required("calendar.edit")
def remove(day):
    """Remove a declared day: 204; 404 when none is declared that day (public holidays stay)."""
    try:
        service.remove_day(day, actor=g.api_user)
    except LookupError:
        abort(404)
    return committed(("", 204))
