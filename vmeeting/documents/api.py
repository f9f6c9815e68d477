"""JSON API for a meeting's documents (CONTRACT.md): the draft giấy mời, its basis document, its issue.

PUT bodies are JSON, or multipart/form-data with the same fields as form
fields and the files: `edxml` or `pdf` (basis document), `signed_pdf` (issue).
"""

import io

from flask import g, jsonify, request, send_file

from vmeeting.auth.guards import api_permission_required
from vmeeting.booking.models import Meeting
from vmeeting.core.errors import ValidationError
from vmeeting.core.extensions import db
from vmeeting.core.jsonapi import api_blueprint, committed, error_response, json_body
from vmeeting.core.text import N_
from vmeeting.documents import service
from vmeeting.documents.views import DOCX_TYPE

bp = api_blueprint("documents_api", __name__)


def _meeting(meeting_id):
    return db.get_or_404(Meeting, meeting_id)


def basis_json(row):
    return {"number": row.number, "issued_on": row.issued_on.isoformat(), "issuer": row.issuer,
            "summary": row.summary, "source": row.source, "has_pdf": row.pdf_name is not None}


def letter_json(row):
    return {"number": row.issued_number, "issued_on": row.issued_on.isoformat() if row.issued_on else None,
            "attach_pdf": row.is_pdf_attached, "has_signed_pdf": row.signed_pdf_name is not None,
            "reference": service.reference_text(row)}


def _body_and_files(*names):
    """(fields, {name: (bytes, filename)}) from a JSON body or a multipart form."""
    if request.mimetype == "multipart/form-data":
        files = {}
        for name in names:
            storage = request.files.get(name)
            if storage is not None and storage.filename:
                files[name] = (storage.read(), storage.filename)
        fields = {key: value for key, value in request.form.items()}
        if "attach_pdf" in fields:
            value = fields["attach_pdf"].strip().lower()
            if value not in ("true", "false", "1", "0"):
                raise ValidationError({"attach_pdf": N_("Phải là true hoặc false.")})
            fields["attach_pdf"] = value in ("true", "1")
        return fields, files
    return json_body(), {}


def _template_failed(exc):
    """409 template_failed: the office's template in use cannot be filled for this meeting (an admin's to fix)."""
    return error_response(409, "template_failed", f"Mẫu giấy mời đang dùng không điền được cho cuộc họp này: "
                                                  f"{exc.reason}")


@bp.get("/meetings/<int:meeting_id>/giay-moi.docx")
@api_permission_required("meetings.view")
def docx(meeting_id):
    """The draft giấy mời (Nghị định 30/2020/NĐ-CP, Phụ lục I) as DOCX; 409 template_failed when the template
    in use cannot be filled for this meeting."""
    meeting = _meeting(meeting_id)
    try:
        content = service.docx_for(meeting)
    except service.TemplateFailed as exc:
        return _template_failed(exc)
    return send_file(io.BytesIO(content), mimetype=DOCX_TYPE, as_attachment=True,
                     download_name=f"giay-moi-{meeting.id}.docx")


@bp.get("/meetings/<int:meeting_id>/giay-moi.pdf")
@api_permission_required("meetings.view")
def pdf(meeting_id):
    """The same draft as PDF; 503 converter_unavailable where LibreOffice is not installed (or fails)."""
    meeting = _meeting(meeting_id)
    try:
        content = service.pdf_for(meeting)
    except service.TemplateFailed as exc:
        return _template_failed(exc)
    except service.ConverterUnavailable:
        return error_response(503, "converter_unavailable",
                              "Máy chủ chưa cài LibreOffice nên không tạo được bản PDF; hãy tải bản .docx.")
    return send_file(io.BytesIO(content), mimetype="application/pdf", download_name=f"giay-moi-{meeting.id}.pdf")


@bp.put("/meetings/<int:meeting_id>/basis-document")
@api_permission_required("meetings.book")
def put_basis(meeting_id):
    """Set the basis document: JSON {number, issued_on, issuer, summary}, or multipart with `edxml` (or `pdf`)."""
    meeting = _meeting(meeting_id)
    fields, files = _body_and_files("edxml", "pdf")
    if "edxml" in files:
        row = service.save_basis_from_edxml(meeting, files["edxml"][0], actor=g.api_user)
    else:
        pdf, pdf_name = files.get("pdf", (None, None))
        row = service.save_basis(meeting, fields, pdf=pdf, pdf_name=pdf_name, actor=g.api_user)
    return committed(jsonify(basis_json(row)))


@bp.put("/meetings/<int:meeting_id>/giay-moi")
@api_permission_required("meetings.book")
def put_issue(meeting_id):
    """Record the issued giấy mời: {number, issued_on, attach_pdf}, multipart with `signed_pdf` to keep its PDF."""
    meeting = _meeting(meeting_id)
    fields, files = _body_and_files("signed_pdf")
    pdf, pdf_name = files.get("signed_pdf", (None, None))
    row = service.issue_letter(meeting, fields, signed_pdf=pdf, signed_pdf_name=pdf_name, actor=g.api_user)
    return committed(jsonify(letter_json(row)))
