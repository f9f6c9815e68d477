"""What every JSON blueprint shares: token sign-in, the error shape, pagination."""

import sqlalchemy as sa
from flask import Blueprint, abort, g, jsonify, request

from vmeeting.auth.service import user_for_token
from vmeeting.bounds import MAX_PAGE
from vmeeting.database import MAX_ID
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
    """Return the request's JSON object, or raise ValidationError naming `body`."""
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise ValidationError({"body": "Cần một đối tượng JSON hợp lệ (Content-Type: application/json)."})
    return data


def int_arg(name, *, minimum=1, maximum=MAX_ID, default=None):
    """Return the query parameter as an integer within bounds, default if absent; raise ValidationError."""
    raw = request.args.get(name, "").strip()
    if raw == "":
        return default
    # isdigit alone would let through "²" and other digits int() refuses.
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 12 or not minimum <= int(raw) <= maximum:
        raise ValidationError({name: f"Phải là số nguyên từ {minimum} đến {maximum}."})
    return int(raw)


def page_args():
    """Return (page, per_page) from the query string, or raise ValidationError naming each bad one."""
    errors, values = {}, {}
    for name, default, maximum in (("page", 1, MAX_PAGE), ("per_page", DEFAULT_PER_PAGE, MAX_PER_PAGE)):
        try:
            values[name] = int_arg(name, maximum=maximum, default=default)
        except ValidationError as exc:
            errors.update(exc.fields)
    if errors:
        raise ValidationError(errors)
    return values["page"], values["per_page"]


def get_or_404(model, ident):
    """Return the row with that id, or answer 404 (ids beyond any row included)."""
    row = db.session.get(model, ident) if 0 < ident <= MAX_ID else None
    if row is None:
        abort(404)
    return row


def paginated(select, serialize):
    """Run a Select one page at a time and answer the contract's list shape."""
    page, per_page = page_args()
    total = db.session.scalar(sa.select(sa.func.count()).select_from(select.order_by(None).subquery()))
    rows = db.session.scalars(select.limit(per_page).offset((page - 1) * per_page)).all()
    return jsonify({"items": [serialize(row) for row in rows], "total": total, "page": page, "per_page": per_page})
