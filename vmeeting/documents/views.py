"""The giấy mời page of a meeting (basis document, draft, DOCX/PDF, issue) and the admin's template page."""

import io

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user

from vmeeting.auth.guards import permission_required
from vmeeting.booking.models import Meeting
from vmeeting.core.errors import ValidationError
from vmeeting.core.extensions import db
from vmeeting.core.text import shown
from vmeeting.documents import service
from vmeeting.documents.forms import BasisForm, IssueForm, LetterForm, TemplateForm

bp = Blueprint("documents", __name__)

DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def _meeting(meeting_id):
    return db.get_or_404(Meeting, meeting_id)


def _upload(field):
    """The bytes of an uploaded file field, or None when none was chosen."""
    storage = field.data
    if storage is None or not getattr(storage, "filename", ""):
        return None, None
    return storage.read(), storage.filename


def _put_errors(form, exc, fallback):
    for name, reason in exc.fields.items():
        field = form._fields.get(name) or form._fields[fallback]
        field.errors = [*field.errors, shown(reason)]


def _page(meeting, basis_form=None, letter_form=None, issue_form=None, status=200):
    basis, letter = service.basis_of(meeting), service.letter_of(meeting)
    if basis_form is None:
        basis_form = BasisForm(prefix="basis", formdata=None)
        if basis is not None:
            basis_form.number.data, basis_form.issued_on.data = basis.number, basis.issued_on
            basis_form.issuer.data, basis_form.summary.data = basis.issuer, basis.summary
    if letter_form is None:
        letter_form = LetterForm(prefix="letter", formdata=None)
        letter_form.fill_from(letter)
    if issue_form is None:
        issue_form = IssueForm(prefix="issue", formdata=None)
        if letter is not None:
            issue_form.number.data, issue_form.issued_on.data = letter.issued_number, letter.issued_on
            issue_form.attach_pdf.data = letter.is_pdf_attached
    return render_template("documents/meeting.html", meeting=meeting, basis=basis, letter=letter,
                           basis_form=basis_form, letter_form=letter_form, issue_form=issue_form,
                           reference=service.reference_text(letter), converter=service.converter_available(),
                           warnings=service.late_notice_warnings(meeting)), status


@bp.get("/meetings/<int:meeting_id>/giay-moi")
@permission_required("meetings.view")
def meeting_page(meeting_id):
    """The meeting's giấy mời: its basis document, the draft's fields, DOCX and PDF, the issue."""
    return _page(_meeting(meeting_id))


@bp.post("/meetings/<int:meeting_id>/giay-moi/basis")
@permission_required("meetings.book")
def save_basis(meeting_id):
    """Save the basis document typed in, read it from an .edxml, or remove it (action=remove)."""
    meeting = _meeting(meeting_id)
    form = BasisForm(prefix="basis")
    if request.form.get("action") == "remove":
        service.remove_basis(meeting, actor=current_user)
        db.session.commit()
        flash(_("Đã bỏ văn bản căn cứ."), "info")
        return redirect(url_for("documents.meeting_page", meeting_id=meeting.id))
    if not form.validate_on_submit():
        return _page(meeting, basis_form=form, status=400)
    try:
        data, _name = _upload(form.edxml)
        if data is not None:
            service.save_basis_from_edxml(meeting, data, actor=current_user)
        else:
            pdf, pdf_name = _upload(form.pdf)
            service.save_basis(meeting, form.data_for_service(), pdf=pdf, pdf_name=pdf_name, actor=current_user)
        db.session.commit()
    except ValidationError as exc:
        db.session.rollback()
        _put_errors(form, exc, "number")
        return _page(meeting, basis_form=form, status=400)
    flash(_("Đã lưu văn bản căn cứ."), "success")
    return redirect(url_for("documents.meeting_page", meeting_id=meeting.id))


@bp.post("/meetings/<int:meeting_id>/giay-moi/draft")
@permission_required("meetings.book")
def save_draft(meeting_id):
    """Save the draft's fields (bodies, chair, attendees, contact, signer, recipients)."""
    meeting = _meeting(meeting_id)
    form = LetterForm(prefix="letter")
    if not form.validate_on_submit():
        return _page(meeting, letter_form=form, status=400)
    try:
        service.save_letter(meeting, {name: form[name].data for name in service.LETTER_FIELDS}, actor=current_user)
        db.session.commit()
    except ValidationError as exc:
        db.session.rollback()
        _put_errors(form, exc, "issuing_body")
        return _page(meeting, letter_form=form, status=400)
    flash(_("Đã lưu nội dung giấy mời."), "success")
    return redirect(url_for("documents.meeting_page", meeting_id=meeting.id))


@bp.post("/meetings/<int:meeting_id>/giay-moi/issue")
@permission_required("meetings.book")
def issue(meeting_id):
    """Record the number and date iOffice gave (and the signed PDF): the invites quote it from now on."""
    meeting = _meeting(meeting_id)
    form = IssueForm(prefix="issue")
    if not form.validate_on_submit():
        return _page(meeting, issue_form=form, status=400)
    try:
        pdf, pdf_name = _upload(form.signed_pdf)
        letter = service.issue_letter(meeting, form.data_for_service(), signed_pdf=pdf, signed_pdf_name=pdf_name,
                                      actor=current_user)
        text = service.reference_text(letter)
        db.session.commit()
    except ValidationError as exc:
        db.session.rollback()
        _put_errors(form, exc, "number")
        return _page(meeting, issue_form=form, status=400)
    flash(_("Đã ghi số giấy mời. Thư mời gửi từ nay ghi: «%(text)s».", text=text), "success")
    return redirect(url_for("documents.meeting_page", meeting_id=meeting.id))


def _template_failed(meeting, exc):
    """Back to the meeting's giấy mời page, saying why the template in use could not be filled for it."""
    flash(_("Mẫu giấy mời đang dùng không điền được cho cuộc họp này: %(reason)s Quản trị viên hãy sửa mẫu "
            "hoặc dùng lại mẫu mặc định.", reason=shown(exc.reason)), "danger")
    return redirect(url_for("documents.meeting_page", meeting_id=meeting.id))


@bp.get("/meetings/<int:meeting_id>/giay-moi.docx")
@permission_required("meetings.view")
def docx(meeting_id):
    """The draft giấy mời as a Word document."""
    meeting = _meeting(meeting_id)
    try:
        content = service.docx_for(meeting)
    except service.TemplateFailed as exc:
        return _template_failed(meeting, exc)
    return send_file(io.BytesIO(content), mimetype=DOCX_TYPE, as_attachment=True,
                     download_name=f"giay-moi-{meeting.id}.docx")


@bp.get("/meetings/<int:meeting_id>/giay-moi.pdf")
@permission_required("meetings.view")
def pdf(meeting_id):
    """The draft giấy mời as PDF; without LibreOffice, the page says so and offers the DOCX."""
    meeting = _meeting(meeting_id)
    try:
        content = service.pdf_for(meeting)
    except service.TemplateFailed as exc:
        return _template_failed(meeting, exc)
    except service.ConverterUnavailable:
        flash(_("Máy chủ chưa cài LibreOffice nên không tạo được bản PDF; hãy tải bản Word (.docx)."), "warning")
        return redirect(url_for("documents.meeting_page", meeting_id=meeting.id))
    return send_file(io.BytesIO(content), mimetype="application/pdf", as_attachment=False,
                     download_name=f"giay-moi-{meeting.id}.pdf")


@bp.get("/meetings/<int:meeting_id>/giay-moi/basis.pdf")
@permission_required("meetings.view")
def basis_pdf(meeting_id):
    """The basis document's PDF, as kept."""
    row = service.basis_of(_meeting(meeting_id))
    if row is None or row.pdf_name is None:
        abort(404)
    return send_file(io.BytesIO(row.pdf), mimetype="application/pdf", download_name=row.pdf_name)


@bp.get("/meetings/<int:meeting_id>/giay-moi/signed.pdf")
@permission_required("meetings.view")
def signed_pdf(meeting_id):
    """The signed giấy mời's PDF, as the clerk uploaded it."""
    row = service.letter_of(_meeting(meeting_id))
    if row is None or row.signed_pdf_name is None:
        abort(404)
    return send_file(io.BytesIO(row.signed_pdf), mimetype="application/pdf", download_name=row.signed_pdf_name)


@bp.route("/documents/template", methods=["GET", "POST"])
@permission_required("documents.templates")
def template():
    """The giấy mời template in use; an admin uploads the office's own (checked before it is accepted)."""
    form = TemplateForm()
    status = 200
    if request.method == "POST":
        if request.form.get("action") == "default":
            service.restore_default_template(actor=current_user)
            db.session.commit()
            flash(_("Đã dùng lại mẫu giấy mời mặc định."), "info")
            return redirect(url_for("documents.template"))
        data, name = _upload(form.template) if form.validate_on_submit() else (None, None)
        if data is None and not form.errors:
            form.template.errors = [_("Chọn tệp Word .docx.")]
        elif data is not None:
            try:
                row = service.upload_template(name, data, actor=current_user)
                db.session.commit()
            except ValidationError as exc:
                db.session.rollback()
                _put_errors(form, exc, "template")
            else:
                flash(_("Đã nhận mẫu «%(name)s»: giấy mời từ nay theo mẫu này.", name=row.filename), "success")
                return redirect(url_for("documents.template"))
        status = 400
    return render_template("documents/template.html", form=form, active=service.active_template(),
                           tags=sorted(service.SAMPLE_CONTEXT)), status


@bp.get("/documents/template.docx")
@permission_required("documents.templates")
def template_download():
    """The template in use, to start an office's own from."""
    row = service.active_template()
    return send_file(io.BytesIO(service.template_bytes()), mimetype=DOCX_TYPE, as_attachment=True,
                     download_name=row.filename if row is not None else "giay-moi-mau.docx")
