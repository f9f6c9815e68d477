"""Error answers: JSON under /api/, a page elsewhere."""

import logging

import sqlalchemy as sa
from flask import g, render_template, request
from flask_babel import gettext
from flask_login import AnonymousUserMixin
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from vmeeting.core.errors import Conflict, NotFound, ValidationError
from vmeeting.core.extensions import db
from vmeeting.core.jsonapi import error_response
from vmeeting.core.text import N_, say, shown

#: in Vietnamese for the API; the error page shows them in the page's language (text.N_)
MESSAGES = {
    400: N_("Yêu cầu không hợp lệ."),
    401: N_("Cần đăng nhập (mã API hợp lệ trong tiêu đề Authorization: Bearer)."),
    403: N_("Bạn không có quyền thực hiện thao tác này."),
    404: N_("Không tìm thấy."),
    405: N_("Phương thức không được hỗ trợ."),
    409: N_("Xung đột với dữ liệu hiện có."),
    412: N_("Dữ liệu đã bị người khác thay đổi; hãy tải lại rồi thử lại."),
    413: N_("Tệp quá lớn."),
    429: N_("Quá nhiều yêu cầu, vui lòng thử lại sau."),
    500: N_("Lỗi máy chủ."),
    503: N_("Không kết nối được cơ sở dữ liệu. Vui lòng thử lại sau ít phút."),
}
CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
         405: "method_not_allowed", 409: "conflict", 412: "precondition_failed", 413: "too_large", 429: "too_many_requests",
         500: "server_error", 503: "database_unavailable"}
#: how long a client should wait before trying again while the database is away
RETRY_AFTER_SECONDS = 30


log = logging.getLogger(__name__)


def _is_api():
    return request.path.startswith("/api/")


def is_outage(exc):
    """Tell whether a database error means the database cannot be reached (or is too busy), not a bad query.

    OperationalError covers a refused or dropped connection, a server shutting
    down, a database that refuses connections, SQLite's "unable to open" and
    "database is locked"; InterfaceError a connection already closed; a
    DBAPIError marked connection_invalidated, a connection lost mid-query.
    """
    return isinstance(exc, (sa.exc.OperationalError, sa.exc.InterfaceError)) or (
        isinstance(exc, sa.exc.DBAPIError) and exc.connection_invalidated)


#: SQLSTATEs of a transaction the database chose to refuse because another ran at once (PostgreSQL's
#: deadlock_detected and serialization_failure, Appendix A of its manual): nothing was written, and the
#: same request sent again normally succeeds. Not an outage: the database answered.
TRANSACTION_CONFLICTS = {"40P01", "40001"}


def is_transaction_conflict(exc):
    """Tell whether a database error is a transaction refused for another running at once (a deadlock's victim,
    a serialization failure): 409, to be sent again, rather than the 503 of a database that is away."""
    return getattr(getattr(exc, "orig", None), "sqlstate", None) in TRANSACTION_CONFLICTS


def register(app):
    """Install the handlers on the app."""

    def _forget_session():
        try:
            db.session.rollback()
        except sa.exc.SQLAlchemyError:  # the connection itself is gone: drop it, the pool gives a new one
            db.session.close()

    @app.errorhandler(ValidationError)
    def on_validation(exc):
        db.session.rollback()
        if _is_api():
            return error_response(400, "validation_error", exc.message, fields=exc.fields)
        return render_template("errors/error.html", code=400, message=shown(exc.message),
                               fields={name: shown(reason) for name, reason in exc.fields.items()}), 400

    @app.errorhandler(Conflict)
    def on_conflict(exc):
        db.session.rollback()
        if _is_api():
            return error_response(exc.status, exc.code, exc.message, **exc.details)
        return render_template("errors/error.html", code=exc.status, message=shown(exc.message)), exc.status

    @app.errorhandler(NotFound)
    def on_not_found(exc):
        return on_http(app.aborter.mapping[404]())

    @app.errorhandler(CSRFError)
    def on_csrf(exc):
        message = gettext("Phiên biểu mẫu đã hết hạn hoặc không hợp lệ (CSRF). Hãy tải lại trang và thử lại.")
        return render_template("errors/error.html", code=400, message=message), 400

    @app.errorhandler(HTTPException)
    def on_http(exc):
        code = exc.code or 500
        message = MESSAGES.get(code, exc.description)
        if code == 413 and app.config.get("MAX_CONTENT_LENGTH"):
            message = say("Tệp hoặc dữ liệu gửi lên quá lớn: mỗi lần tối đa %(megabytes)s MB. Hãy chia tệp nhỏ hơn.",
                          megabytes=app.config["MAX_CONTENT_LENGTH"] // 2**20)
        if _is_api():
            response, status = error_response(code, CODES.get(code, "error"), message)
            if code == 401:
                challenge = 'Bearer realm="vmeeting"'
                if request.headers.get("Authorization"):
                    challenge += ', error="invalid_token"'  # RFC 6750: a token came, and was refused
                response.headers["WWW-Authenticate"] = challenge
            # A 405 must say which methods the path takes; the JSON body replaces werkzeug's answer.
            for name, value in exc.get_headers():
                if name.lower() == "allow":
                    response.headers["Allow"] = value
            return response, status
        return render_template("errors/error.html", code=code, message=shown(message)), code

    @app.errorhandler(sa.exc.DBAPIError)
    def on_database_error(exc):
        """503 while the database is away (the pool reconnects by itself once it is back); a 400 for a
        value the database cannot hold (a bounds check missed it: logged, so it gets one)."""
        _forget_session()
        if is_transaction_conflict(exc):
            log.warning("transaction refused for a concurrent one on %s %s: %s", request.method, request.path, exc.orig)
            message = N_("Một thay đổi khác diễn ra cùng lúc nên thao tác này chưa được lưu. Hãy thử lại.")
            if _is_api():
                response, status = error_response(409, "transaction_conflict", message)
            else:
                response, status = render_template("errors/error.html", code=409, message=shown(message)), 409
            return response, status, {"Retry-After": "1"}
        if is_outage(exc):
            # The page must not ask the database who is signed in while saying that it is away.
            g._login_user = AnonymousUserMixin()
            log.warning("database unavailable on %s %s: %s", request.method, request.path, exc.orig)
            if _is_api():
                response, status = error_response(503, CODES[503], MESSAGES[503])
            else:
                response, status = render_template("errors/error.html", code=503, message=gettext(MESSAGES[503])), 503
            return response, status, {"Retry-After": str(RETRY_AFTER_SECONDS)}
        if isinstance(exc, sa.exc.DataError):
            log.warning("value out of the database's range on %s %s: %s", request.method, request.path, exc.orig)
            return _bad_value()
        raise exc

    @app.errorhandler(OverflowError)
    def on_overflow(exc):
        """A number or date too large for the driver or for date arithmetic: the client's value, a 400."""
        _forget_session()
        log.warning("value out of range on %s %s: %s", request.method, request.path, exc)
        return _bad_value()

    def _bad_value():
        message = N_("Có số hoặc ngày nằm ngoài phạm vi cho phép.")
        if _is_api():
            return error_response(400, "bad_request", message)
        return render_template("errors/error.html", code=400, message=shown(message)), 400

    @app.errorhandler(500)
    def on_server_error(exc):
        db.session.rollback()
        if _is_api():
            return error_response(500, "server_error", MESSAGES[500])
        return render_template("errors/error.html", code=500, message=gettext(MESSAGES[500])), 500
