"""Registry pages of the units as of a day: the tree valid on a date, and one unit with its successions.

Lạng Sơn changed twice (01/12/2024, 200 → 194 communes; 01/7/2025, Nghị quyết 1672/NQ-UBTVQH15: 65
communes and no district level): the pages read the registry as of today, and `?valid_on=YYYY-MM-DD`
reads it as it was (or will be) on another day. These views sit on the registry blueprint.
"""

from flask import render_template, request
from sqlalchemy.orm import joinedload

from vmeeting.auth.guards import permission_required
from vmeeting.core.bounds import query_date, query_id
from vmeeting.core.database import utcnow
from vmeeting.core.extensions import db
from vmeeting.core.timefmt import to_local
from vmeeting.registry import service, succession, views
from vmeeting.registry.forms import UNIT_KIND_LABELS
from vmeeting.registry.models import AdminUnit
from vmeeting.registry.views import bp


def local_today():
    """Today in the office's zone."""
    return to_local(utcnow()).date()


def page_day():
    """Return (day, today): the day a page reads the registry on (?valid_on=YYYY-MM-DD, today when absent or
    not a day between MIN_DAY and MAX_DAY), and today."""
    today = local_today()
    return request.args.get("valid_on", type=query_date) or today, today


@bp.get("/units")
@permission_required("registry.view")
def units():
    """Show the tree of the units valid on a day (today by default) in official order, with their counts.

    Query: valid_on (YYYY-MM-DD: the tree as it was that day), under (a unit:
    its subtree alone). Past UNITS_SHOWN units (the country's ten thousand)
    the page lists the provinces and districts, each district with its number
    of communes, a link to them.
    """
    day, today = page_day()
    under = request.args.get("under", type=query_id)
    root = db.session.get(AdminUnit, under) if under else None
    context = {"root": root, "day": day, "today": today, "commune_counts": None,
               "level_counts": _level_counts(day), "kind_labels": UNIT_KIND_LABELS}
    if root is not None:
        return render_template("registry/units.html", unit_tree=service.unit_tree(day, under=root.id), **context)
    if service.unit_count() > views.UNITS_SHOWN:
        context["commune_counts"] = service.child_counts(on_day=day)
        return render_template("registry/units.html", **context,
                               unit_tree=service.unit_tree(day, levels=service.OUTLINE_LEVELS))
    return render_template("registry/units.html", unit_tree=service.unit_tree(day), **context)


def _level_counts(day):
    """{level: {kind: count}} of the units valid on day, for the page's summary line."""
    counts = {}
    query = (service.units_select(day).order_by(None)
             .with_only_columns(AdminUnit.level, AdminUnit.kind, db.func.count()).group_by(AdminUnit.level, AdminUnit.kind))
    for level, kind, number in db.session.execute(query):
        counts.setdefault(level, {})[kind] = number
    return counts


@bp.get("/units/<int:unit_id>")
@permission_required("registry.view")
def unit(unit_id):
    """Show one unit, whatever its dates: its parent, validity, the units below it on a day, its
    predecessors and successors (full or partial, the day and the legal basis), and what stands for it today
    when it has ended (succession.resolve_on)."""
    found = db.get_or_404(AdminUnit, unit_id, options=[joinedload(AdminUnit.parent)])
    day, today = page_day()
    if not found.is_valid_on(day) and request.args.get("valid_on") is None:
        day = found.valid_to or found.valid_from or today  # a former unit is shown as it last was
    links = succession.links([found.id])[found.id]
    others = {u.id: u for u in db.session.scalars(service.units_select().where(AdminUnit.id.in_(
        [link["unit_id"] for side in links.values() for link in side])).options(joinedload(AdminUnit.parent)))}
    children = [u for u, depth in service.unit_tree(day, under=found.id) if depth == 1]
    now_stands_for = None
    if found.valid_to is not None and found.valid_to < today:
        now_stands_for = succession.resolve_on([found.id], today)[found.id]
    site_count = db.session.scalar(service.search_endpoints(unit_id=found.id).order_by(None)
                                   .with_only_columns(db.func.count()))
    return render_template("registry/unit.html", unit=found, links=links, others=others, children=children,
                           day=day, today=today, now_stands_for=now_stands_for, site_count=site_count,
                           kind_labels=UNIT_KIND_LABELS)
