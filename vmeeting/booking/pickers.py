"""The booking form's site search: what its pickers ask when the country's sites are too many for the page."""

from flask import jsonify, request
from flask_babel import gettext

from vmeeting.auth.guards import permission_required
from vmeeting.booking.forms import site_label
from vmeeting.booking.sites import PICKER_FOUND_SITES, find_site_options
from vmeeting.booking.views import bp

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
