"""What the booking form's pickers ask when the country's sites and units are too many for the page:
a search of the sites, and the communes of a district once it is opened."""

from flask import jsonify, request
from flask_babel import gettext

from vmeeting.auth.guards import permission_required
from vmeeting.booking.forms import site_label
from vmeeting.booking.sites import PICKER_FOUND_SITES, find_site_options, unit_options
from vmeeting.booking.views import bp
from vmeeting.core.bounds import query_date, query_id
from vmeeting.core.database import utcnow
from vmeeting.core.text import fold
from vmeeting.core.timefmt import to_local

#: the longest search text taken (a site's name and its district fit well within it)
MAX_SEARCH_LENGTH = 100


@bp.get("/meetings/sites")
@permission_required("meetings.book")
def site_search():
    """Search the active sites a booking may name, for the pickers (Tom Select's remote load).

    Query: q (the typed text, accent-blind, every word must match the name or
    code; at most MAX_SEARCH_LENGTH characters). Answer: a JSON list of at most
    PICKER_FOUND_SITES {id, text (the name and district, as the pickers show
    it), code, search}, best first; an empty q answers []. 400 naming `q` when too long.
    """
    q = request.args.get("q", "").strip()
    if len(q) > MAX_SEARCH_LENGTH:
        message = gettext("Tìm tối đa %(n)s ký tự.", n=MAX_SEARCH_LENGTH)
        return jsonify({"error": {"code": "validation_error", "message": message, "fields": {"q": message}}}), 400
    if not q:
        return jsonify([])
    return jsonify([{"id": site["id"], "text": site_label(site), "code": site["code"], "search": site["search"]}
                    for site in find_site_options(q, PICKER_FOUND_SITES)])


@bp.get("/meetings/units")
@permission_required("meetings.book")
def unit_children():
    """The communes of one district (or province) of the booking form's unit tree, when it is opened.

    Query: parent_id (a head of the tree, as the form shows it), day (YYYY-MM-DD:
    the meeting's day, whose units are valid; today when absent or unreadable).
    Answer: a JSON list of {id, name, count (active sites in it and below),
    search (the folded name)}, in official order; 400 naming parent_id when it
    is absent or no id, 404 naming it when it heads no part of that day's tree.
    """
    parent_id = request.args.get("parent_id", type=query_id)
    if parent_id is None:
        message = gettext("Cần mã đơn vị (số).")
        return jsonify({"error": {"code": "validation_error", "message": message, "fields": {"parent_id": message}}}), 400
    day = request.args.get("day", type=query_date) or to_local(utcnow()).date()
    for (head, _count), communes in unit_options(day):
        if head.id == parent_id:
            return jsonify([{"id": unit.id, "name": unit.name, "count": count, "search": fold(unit.name)}
                            for unit, count in communes])
    message = gettext("Không có đơn vị này.")
    return jsonify({"error": {"code": "not_found", "message": message, "fields": {"parent_id": message}}}), 404
