"""Registry pages for files: import endpoints from CSV or XLSX (preview, then all or nothing), export them.

The rules live in `registry/transfer.py`; these views sit on the registry blueprint.
"""

from datetime import date, datetime

from flask import abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from vmeeting.auth.guards import permission_required
from vmeeting.core.errors import NotFound, ValidationError
from vmeeting.core.extensions import db
from vmeeting.registry import service, transfer
from vmeeting.registry.forms import ENDPOINT_LABELS, ImportConfirmForm, ImportForm
from vmeeting.registry.views import bp, list_filters, render_form, show_errors
from vmeeting.core.timefmt import local_zone

#: Vietnamese names of an import file's columns, for the preview
IMPORT_COLUMN_LABELS = {
    **ENDPOINT_LABELS,
    "unit_code": _l("Mã đơn vị"), "unit_name": _l("Tên đơn vị"),
    "bridge": ENDPOINT_LABELS["bridge_id"], "technician": ENDPOINT_LABELS["technician_id"],
    "file": _l("Tệp"),
}


@bp.route("/endpoints/import", methods=["GET", "POST"])
@permission_required("endpoints.edit")
def import_endpoints():
    """Upload a file and preview it: every bad row with its reason, nothing saved yet."""
    form = ImportForm()
    report = batch = filename = None
    set_aside_note = ""
    if form.validate_on_submit():
        upload = form.file.data
        if upload is None or not upload.filename:
            form.file.errors = [*form.file.errors, _("Chọn một tệp CSV hoặc XLSX.")]
        else:
            filename = upload.filename
            try:
                read = transfer.read_file(filename, upload.stream)
            except ValidationError as exc:
                show_errors(form, exc)
            else:
                rows, set_aside_note = read.rows, read.note()
                report = transfer.check_rows(rows, current_user)
                if report.is_valid:
                    # Only a clean file is kept for the confirm step; a bad one is shown, never stored.
                    batch = transfer.stage_import(rows, filename, current_user)
                    db.session.commit()
                else:
                    db.session.rollback()
    return _import_page(form, report, batch, filename, set_aside_note)


def _import_page(form, report, batch=None, filename=None, set_aside_note=""):
    """Render the import page: the upload form, and the preview of a checked file.

    The rows' reasons and the note of the columns set aside are the service's Vietnamese;
    `shown` says them in the page's language.
    """
    return render_form(
        "registry/endpoint_import.html", form, report=report, filename=filename, set_aside_note=set_aside_note,
        confirm_form=ImportConfirmForm(token=batch.token) if batch else None,
        columns=transfer.COLUMNS, headers=transfer.HEADERS, column_labels=IMPORT_COLUMN_LABELS,
        max_mb=transfer.MAX_FILE_BYTES // 2**20, max_rows=transfer.LIMITS.rows,
    )


@bp.post("/endpoints/import/confirm")
@permission_required("endpoints.edit")
def confirm_import():
    """Apply a previewed import, all rows or none."""
    form = ImportConfirmForm()
    if not form.validate_on_submit() or not form.token.data:
        abort(400)
    try:
        batch = transfer.load_batch(form.token.data, current_user)
        filename = batch.filename
        report = transfer.apply_batch(batch, current_user)
    except NotFound:
        db.session.rollback()
        flash(_("Bản xem trước đã hết hạn hoặc đã được nhập. Hãy tải tệp lên lại."), "warning")
        return redirect(url_for(".import_endpoints"))
    except ValidationError as exc:
        # The registry changed since the preview: show the rows again, nothing was written.
        db.session.rollback()
        flash(_("Không nhập gì: dữ liệu đã thay đổi từ lúc xem trước. Hãy sửa tệp rồi tải lên lại."), "error")
        if getattr(exc, "report", None) is None:
            return redirect(url_for(".import_endpoints"))
        return _import_page(ImportForm(formdata=None), exc.report, filename=filename)[0], 400
    db.session.commit()
    flash(_("Đã nhập tệp %(filename)s: %(created)d điểm cầu mới, %(updated)d điểm cầu được cập nhật.",
            filename=filename, created=report.created, updated=report.updated), "success")
    return redirect(url_for(".endpoints"))


XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@bp.get("/endpoints/export.<any(csv, xlsx):fmt>")
@permission_required("registry.view")
def export_endpoints(fmt):
    """Download the endpoints of the list's current filters as CSV or XLSX.

    Headers and fixed values are in Vietnamese; `?columns=technical` gives the
    technical names (code, status=active…) that scripts read.
    """
    labels = "technical" if request.args.get("columns") == "technical" else "vi"
    rows = transfer.export_rows(service.search_endpoints(**list_filters()))
    if fmt == "csv":
        body, mimetype = transfer.write_csv(rows, labels), "text/csv; charset=utf-8"
    else:
        body, mimetype = transfer.write_xlsx(rows, labels), XLSX_MIMETYPE
    filename = f"diem-cau-{date.today():%Y%m%d}.{fmt}"
    return body, 200, {"Content-Type": mimetype, "Content-Disposition": f'attachment; filename="{filename}"'}


@bp.get("/endpoints/import/template.xlsx")
@permission_required("endpoints.edit")
def import_template():
    """Download the import template: Vietnamese header, a sample row, lists for the fixed values and units."""
    body = transfer.write_template(datetime.now(local_zone()).date())
    return body, 200, {"Content-Type": XLSX_MIMETYPE,
                       "Content-Disposition": 'attachment; filename="mau-nhap-diem-cau.xlsx"'}
