"""Error answers: JSON under /api/, a page elsewhere."""

from flask import render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from vmeeting.errors import Conflict, NotFound, ValidationError
from vmeeting.extensions import db
from vmeeting.jsonapi import error_response

MESSAGES = {
    400: "Yêu cầu không hợp lệ.",
    401: "Cần đăng nhập (mã API hợp lệ trong tiêu đề Authorization: Bearer).",
    403: "Bạn không có quyền thực hiện thao tác này.",
    404: "Không tìm thấy.",
    405: "Phương thức không được hỗ trợ.",
    409: "Xung đột với dữ liệu hiện có.",
    413: "Tệp quá lớn.",
    429: "Quá nhiều yêu cầu, vui lòng thử lại sau.",
    500: "Lỗi máy chủ.",
}
CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
         405: "method_not_allowed", 409: "conflict", 413: "too_large", 429: "too_many_requests",
         500: "server_error"}


def _is_api():
    return request.path.startswith("/api/")


def register(app):
    """Install the handlers on the app."""

    @app.errorhandler(ValidationError)
    def on_validation(exc):
        db.session.rollback()
        if _is_api():
            return error_response(400, "validation_error", exc.message, fields=exc.fields)
        return render_template("errors/error.html", code=400, message=exc.message, fields=exc.fields), 400

    @app.errorhandler(Conflict)
    def on_conflict(exc):
        db.session.rollback()
        if _is_api():
            return error_response(409, "conflict", exc.message, **exc.details)
        return render_template("errors/error.html", code=409, message=exc.message), 409

    @app.errorhandler(NotFound)
    def on_not_found(exc):
        return on_http(app.aborter.mapping[404]())

    @app.errorhandler(CSRFError)
    def on_csrf(exc):
        message = "Phiên biểu mẫu đã hết hạn hoặc không hợp lệ (CSRF). Hãy tải lại trang và thử lại."
        return render_template("errors/error.html", code=400, message=message), 400

    @app.errorhandler(HTTPException)
    def on_http(exc):
        code = exc.code or 500
        message = MESSAGES.get(code, exc.description)
        if code == 413 and app.config.get("MAX_CONTENT_LENGTH"):
            message = (f"Tệp hoặc dữ liệu gửi lên quá lớn: mỗi lần tối đa"
                       f" {app.config['MAX_CONTENT_LENGTH'] // 2**20} MB. Hãy chia tệp nhỏ hơn.")
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
        return render_template("errors/error.html", code=code, message=message), code

    @app.errorhandler(500)
    def on_server_error(exc):
        db.session.rollback()
        if _is_api():
            return error_response(500, "server_error", MESSAGES[500])
        return render_template("errors/error.html", code=500, message=MESSAGES[500]), 500
