"""Registry pages: endpoints, units, bridges and groups."""

import sqlalchemy as sa
from flask import Blueprint, render_template, request

from vmeeting.auth.guards import permission_required
from vmeeting.extensions import db
from vmeeting.registry import service
from vmeeting.registry.models import ENDPOINT_STATUSES

bp = Blueprint("registry", __name__)

PER_PAGE = 50


@bp.get("/endpoints")
@permission_required("registry.view")
def endpoints():
    """List endpoints with search, unit and status filters, in Vietnamese order."""
    q = request.args.get("q", "").strip()
    unit_id = request.args.get("unit_id", type=int)
    status = request.args.get("status") if request.args.get("status") in ENDPOINT_STATUSES else None
    page = max(request.args.get("page", 1, type=int), 1)
    query = service.search_endpoints(q, unit_id, status)
    total = db.session.scalar(sa.select(sa.func.count()).select_from(query.order_by(None).subquery()))
    rows = db.session.scalars(query.limit(PER_PAGE).offset((page - 1) * PER_PAGE)).all()
    return render_template(
        "registry/endpoints.html",
        endpoints=rows, total=total, page=page, pages=max((total + PER_PAGE - 1) // PER_PAGE, 1),
        q=q, unit_id=unit_id, status=status, unit_tree=service.unit_tree(),
        labels=service.CHOICE_LABELS,
    )


@bp.get("/units")
@permission_required("registry.view")
def units():
    """Show the tree of administrative units in official order."""
    return render_template("registry/units.html", unit_tree=service.unit_tree())


@bp.get("/bridges")
@permission_required("registry.view")
def bridges():
    """List the MCU bridges and their capacity."""
    return render_template("registry/bridges.html", bridges=db.session.scalars(service.bridges_select()).all())


@bp.get("/groups")
@permission_required("registry.view")
def groups():
    """List saved endpoint groups."""
    return render_template("registry/groups.html", groups=db.session.scalars(service.groups_select()).all())
