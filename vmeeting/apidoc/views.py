"""Serves the OpenAPI document of /api/v1 and a reference page that reads it (Redoc, bundled).

Neither needs a sign-in: the document describes shapes, not data, and is in
the source anyway. The page loads nothing from outside the app.
"""

from flask import Blueprint, current_app, jsonify, render_template

from vmeeting.apidoc.document import API_PREFIX, document_for

bp = Blueprint("apidoc", __name__)

#: Redoc styles itself inline, embeds its fonts as data: URLs and runs its search in a worker made from a blob
REFERENCE_CSP = ("default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; "
                 "worker-src 'self' blob:; frame-ancestors 'none'; form-action 'self'")


@bp.get(API_PREFIX + "/openapi.json")
def openapi():
    """Answer the OpenAPI 3.1 document of the operations this app serves."""
    return jsonify(document_for(current_app))


@bp.get("/api/docs")
def reference():
    """The API reference, readable in a browser, offline."""
    response = current_app.make_response(render_template("apidoc/reference.html"))
    response.headers["Content-Security-Policy"] = REFERENCE_CSP
    return response
