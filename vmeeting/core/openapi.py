"""The building blocks of an OpenAPI 3.1 description: schemas, parameters, answers, operations.

Each capability describes its own routes with these, in its `apidoc.py` beside
its `api.py`; `vmeeting.apidoc` assembles the document. Shapes only here: the
rules behind them live in each capability's service.
"""


def ref(name):
    return {"$ref": f"#/components/schemas/{name}"}


def nullable(schema):
    """A schema that also admits null (OpenAPI 3.1 spells it as a type list)."""
    schema = dict(schema)
    if "$ref" in schema:
        return {"anyOf": [schema, {"type": "null"}]}
    kind = schema.get("type")
    schema["type"] = [kind, "null"] if isinstance(kind, str) else [*kind, "null"]
    if "enum" in schema:
        schema["enum"] = [*schema["enum"], None]
    return schema


def obj(properties, required=(), *, additional=False, description=None):
    schema = {"type": "object", "properties": properties, "additionalProperties": additional}
    if required:
        schema["required"] = list(required)
    if description:
        schema["description"] = description
    return schema


def array(items, **extra):
    return {"type": "array", "items": items, **extra}


#: no maximum: an id too large to exist is the client's to send, and gets 404 (or 400 in a body)
ID = {"type": "integer", "minimum": 1}
STRING = {"type": "string"}
BOOL = {"type": "boolean"}
INSTANT = {"type": "string", "format": "date-time",
           "description": "ISO 8601 with an offset, e.g. 2026-12-07T08:00:00+07:00; without an offset: 400"}
DATE = {"type": "string", "format": "date"}
COUNT = {"type": "integer", "minimum": 0}


def json_content(schema):
    return {"application/json": {"schema": schema}}


def error_response(description):
    return {"description": description, "content": json_content(ref("Error"))}


ERRORS = {
    "400": error_response("Bad input; `error.fields` names each bad field and why (in Vietnamese)."),
    "401": {**error_response("No valid bearer token."),
            "headers": {"WWW-Authenticate": {"schema": STRING, "description": 'Bearer realm="vmeeting" (RFC 6750)'}}},
    "403": error_response("The token's user lacks the permission."),
    "404": error_response("No such record (also for an id too large to exist)."),
    "409": error_response("Conflict with other records: busy sites (`conflicts`), a full bridge (`capacity`), "
                          "a site in a future meeting, a cancelled or finished sitting."),
    "412": error_response("`If-Match` names an older version of the record: someone changed it meanwhile; "
                          "nothing was changed."),
    "413": error_response("The request body is too large."),
    "422": error_response("The `Idempotency-Key` was used by this user, in the last 24 hours, for a request "
                          "with another body (`error.code = idempotency_key_reused`, `fields.Idempotency-Key`); "
                          "nothing was stored."),
    "429": error_response("Too many requests; slow down."),
    "503": error_response("The database is unreachable; try again later."),
}


def responses(ok_status, ok_description, ok_schema, *errors, ok_content=None, ok_headers=None):
    """The operation's answers: its success, the errors it names, and 401/413/429/503 that any may give."""
    answers = {ok_status: {"description": ok_description,
                           "content": ok_content if ok_content is not None else json_content(ok_schema)}}
    if ok_headers:
        answers[ok_status]["headers"] = ok_headers
    for status in sorted({*errors, "401", "429", "503"}):
        answers[status] = ERRORS[status]
    return answers


def path_param(name, description, schema=ID):
    return {"name": name, "in": "path", "required": True, "description": description, "schema": schema}


def query(name, description, schema=STRING, **extra):
    return {"name": name, "in": "query", "required": False, "description": description, "schema": schema, **extra}


def id_list_query(name, description):
    # Comma-separated in one parameter or the parameter repeated: both are read.
    return query(name, description + " (comma-separated, or the parameter repeated)",
                 array({"type": "string", "pattern": r"^[0-9]{1,18}(,[0-9]{1,18})*$"}),
                 style="form", explode=True)


PAGE = [
    query("page", "page number, from 1", {"type": "integer", "minimum": 1, "maximum": 1_000_000, "default": 1}),
    query("per_page", "items per page", {"type": "integer", "minimum": 1, "maximum": 500, "default": 50}),
]


def page_of(item):
    return obj({"items": array(item), "total": {"type": "integer", "minimum": 0},
                "page": {"type": "integer", "minimum": 1}, "per_page": {"type": "integer", "minimum": 1}},
               ["items", "total", "page", "per_page"])


def body(schema, description=None):
    content = {"required": True, "content": json_content(schema)}
    if description:
        content["description"] = description
    return content


def operation(op_id, tag, summary, answers, *, parameters=(), request_body=None, description=None, public=False):
    op = {"operationId": op_id, "tags": [tag], "summary": summary, "responses": answers}
    if description:
        op["description"] = description
    if parameters:
        op["parameters"] = list(parameters)
    if request_body:
        op["requestBody"] = request_body
    if public:
        op["security"] = []
    return op

