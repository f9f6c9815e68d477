"""What every JSON blueprint shares: token sign-in, the error shape, pagination."""

import sqlalchemy as sa
from flask import Blueprint, g, jsonify, request

from vmeeting.auth.service import user_for_token
from vmeeting.errors import ValidationError
from vmeeting.extensions import csrf, db

MAX_PER_PAGE = 500
DEFAULT_PER_PAGE = 50


def api_blueprint(name, import_name):
    """Return a blueprint under /api/v1 that signs in by bearer token only.

    The session cookie is ignored here, which is why CSRF does not apply: a
    browser cannot attach the Authorization header on another site's behalf.
    """
    bp = Blueprint(name, import_name, url_prefix="/api/v1")
    csrf.exempt(bp)

    @bp.before_request
    def authenticate():
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        g.api_user = user_for_token(token.strip()) if scheme.lower() == "bearer" else None
        if g.api_user is not None:
            db.session.commit()  # keeps last_used_at

    return bp


def error_response(status, code, message, **extra):
    """Return the contract's error body with its status."""
    body = {"code": code, "message": message}
    body.update(extra)
    return jsonify({"error": body}), status


def json_body():
    """Return the request's JSON object, or raise ValidationError."""
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise ValidationError({"body": "Cần một đối tượng JSON (Content-Type: application/json)."})
    return data


def page_args():
    """Return (page, per_page) from the query string, or raise ValidationError."""
    errors = {}
    values = {}
    for name, default, upper in (("page", 1, None), ("per_page", DEFAULT_PER_PAGE, MAX_PER_PAGE)):
        raw = request.args.get(name, default)
        try:
            value = int(raw)
        except (TypeError, ValueError):
            errors[name] = "Phải là số nguyên dương."
            continue
        if value < 1 or (upper is not None and value > upper):
            errors[name] = f"Phải từ 1 đến {upper}." if upper else "Phải là số nguyên dương."
        values[name] = value
    if errors:
        raise ValidationError(errors)
    return values["page"], values["per_page"]


def paginated(select, serialize):
    """Run a Select one page at a time and answer the contract's list shape."""
    page, per_page = page_args()
    total = db.session.scalar(sa.select(sa.func.count()).select_from(select.order_by(None).subquery()))
    rows = db.session.scalars(select.limit(per_page).offset((page - 1) * per_page)).all()
    return jsonify({"items": [serialize(row) for row in rows], "total": total, "page": page, "per_page": per_page})
