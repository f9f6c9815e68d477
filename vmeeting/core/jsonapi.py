"""What every JSON blueprint shares: token sign-in, the error shape, pagination."""

import sqlalchemy as sa
from flask import Blueprint, current_app, g, jsonify, request

from vmeeting.core.bounds import MAX_PAGE
from vmeeting.core.database import MAX_ID
from vmeeting.core.errors import ValidationError
from vmeeting.core.extensions import csrf, db
from vmeeting.core.text import N_, say

MAX_PER_PAGE = 500
DEFAULT_PER_PAGE = 50


#: the app's bearer-token look-up, a function (token: str) -> user or None, which auth's init_app registers
#: (set_token_user): the API's conventions live here, who holds a token is auth's business
TOKEN_USER = "vmeeting.token_user"


def set_token_user(app, lookup):
    """Make lookup(token: str) -> user or None the way every API blueprint of app signs a bearer token in."""
    app.extensions[TOKEN_USER] = lookup


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
        token_user = current_app.extensions.get(TOKEN_USER)
        g.api_user = token_user(token.strip()) if token_user and scheme.lower() == "bearer" else None
        if g.api_user is not None:
            db.session.commit()  # a writer's token use (auth.service.record_token_use); a reader's read ends

    return bp


def committed(answer):
    """Commit the request's change and return `answer` (any Flask return value), built before the commit.

    Nothing after a commit may touch the database: the change is stored, and a
    read that failed then (the connection dropped, SQLite's write lock held by
    the worker) would answer 503 for a stored change, and a client's retry
    would meet its own write as a conflict (issue 23). The caller builds its
    whole answer from the flushed change first (the services flush, so new rows
    have their ids); only the commit itself can fail, and then nothing was stored.
    """
    db.session.commit()
    return answer


def error_response(status, code, message, **extra):
    """Return the contract's error body with its status."""
    body = {"code": code, "message": message}
    body.update(extra)
    return jsonify({"error": body}), status


#: how deep a request's JSON may nest; no body of the API needs more than a list inside an object
MAX_JSON_DEPTH = 8


def json_body(schema=None):
    """Return the request's JSON object, or raise ValidationError naming `body`, or each list field sent as no list.

    Refused as well: a body nested deeper than MAX_JSON_DEPTH (Python's parser
    would recurse until it fails) and text that is not Unicode scalar values
    (a lone surrogate such as "\ud800", which RFC 8259 section 8.2 leaves
    undefined and no database can store) or holds NUL, which PostgreSQL's text
    cannot hold.

    `schema` is the body's schema in the OpenAPI document (the capability's
    apidoc.py): every property it declares an array must arrive as a JSON
    array, or the answer is 400 naming the field. A string ("attendees":
    "a@b.vn"), a number, an object or null is a client's bug, even where a
    page's form would send text that the service splits (CONTRACT.md: strict
    types); the items are the service's to check.
    """
    try:
        data = request.get_json(silent=True)
    except RecursionError:
        data = None
    if not isinstance(data, dict):
        raise ValidationError({"body": N_("Cần một đối tượng JSON hợp lệ (Content-Type: application/json).")})
    problem = _json_problem(data, 1)
    if problem:
        raise ValidationError({"body": problem})
    wrong = list_errors(data, schema) if schema is not None else {}
    if wrong:
        raise ValidationError(wrong)
    return data


def list_errors(data, schema):
    """Return {field: reason} for each property `schema` declares an array that `data` holds as something else."""
    return {name: NOT_A_LIST for name in list_fields(schema) if name in data and not _is_list(data[name], schema, name)}


NOT_A_LIST = N_("Phải là một danh sách JSON (mảng […]), kể cả khi chỉ có một phần tử.")


def _types(schema):
    kind = schema.get("type")
    return set(kind) if isinstance(kind, list) else {kind}


def list_fields(schema):
    """Return the names of the properties an OpenAPI object schema declares arrays (alone or with null)."""
    return [name for name, prop in schema.get("properties", {}).items() if "array" in _types(prop)]


def _is_list(value, schema, name):
    return isinstance(value, list) or (value is None and "null" in _types(schema["properties"][name]))


#: what json.loads makes that holds no text to check
_PLAIN_SCALARS = frozenset({int, float, bool, type(None)})


def _json_problem(value, depth):
    """Return why a parsed JSON value cannot be taken, or ''."""
    if depth > MAX_JSON_DEPTH:
        return f"JSON lồng quá sâu (tối đa {MAX_JSON_DEPTH} cấp)."
    if type(value) in _PLAIN_SCALARS:  # most of a national booking's body: 10,000 site ids
        return ""
    if isinstance(value, str):
        if "\x00" in value:
            return "Văn bản không được chứa ký tự NUL (\\u0000)."
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return "Văn bản chứa ký tự Unicode không hợp lệ (nửa cặp thay thế, ví dụ \\ud800)."
        return ""
    items = value.items() if isinstance(value, dict) else value if isinstance(value, list) else ()
    for item in items:
        for part in (item if isinstance(value, dict) else (item,)):
            problem = _json_problem(part, depth + 1)
            if problem:
                return problem
    return ""


def int_arg(name, *, minimum=1, maximum=MAX_ID, default=None):
    """Return the query parameter as an integer within bounds, default if absent; raise ValidationError."""
    raw = request.args.get(name, "").strip()
    if raw == "":
        return default
    # isdigit alone would let through "²" and other digits int() refuses.
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 12 or not minimum <= int(raw) <= maximum:
        raise ValidationError({name: say("Phải là số nguyên từ %(minimum)s đến %(maximum)s.", minimum=minimum,
                                         maximum=maximum)})
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


def paginated(select, serialize):
    """Run a Select one page at a time and answer the contract's list shape."""
    page, per_page = page_args()
    total = db.session.scalar(sa.select(sa.func.count()).select_from(select.order_by(None).subquery()))
    rows = db.session.scalars(select.limit(per_page).offset((page - 1) * per_page)).all()
    return jsonify({"items": [serialize(row) for row in rows], "total": total, "page": page, "per_page": per_page})
