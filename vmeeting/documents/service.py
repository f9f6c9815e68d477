"""The documents' rules: a meeting's basis document, its giấy mời (draft, DOCX, PDF, issue), office templates.

Plain functions over the session: they flush and raise (ValidationError
naming the field, in Vietnamese), the caller commits. What the capabilities
around hear of it goes through booking's hooks (documents.__init__ wires
them): the invites quote the issued giấy mời (`invite_reference`) and may
carry its signed PDF (`invite_attachments`); a booking too close to its start
is warned (`late_notice_warnings`).
"""

import re
from datetime import date, datetime, timedelta

import sqlalchemy as sa

from vmeeting.audit import service as audit
from vmeeting.booking.validation import hold_meeting
from vmeeting.core.database import utcnow
from vmeeting.core.errors import ValidationError
from vmeeting.core.extensions import db
from vmeeting.core.text import N_, clean, say
from vmeeting.core.timefmt import to_local
from vmeeting.documents import edxml, render
from vmeeting.documents.letter import letter_context, nfc
from vmeeting.documents.models import BasisDocument, InvitationLetter, LetterTemplate
from vmeeting.documents.sample import SAMPLE_CONTEXT  # noqa: F401 (views list its tags)
from vmeeting.documents.template_build import DEFAULT_TEMPLATE
from vmeeting.working_time.service import WorkingCalendar

ConverterUnavailable = render.ConverterUnavailable
TemplateFailed = render.TemplateFailed

#: QĐ 45/2018/QĐ-TTg: a meeting's invitation reaches the invitees at least this many working days before it
NOTICE_WORKING_DAYS = 3
MAX_PDF_BYTES = 8 * 1024 * 1024
#: the clerk's fields of the draft and their longest lengths (the columns')
LETTER_FIELDS = {
    "parent_body": 300, "issuing_body": 300, "notation": 40, "chair_person": 500,
    "attendees_province": 2000, "attendees_district": 2000, "attendees_commune": 2000,
    "technical_contact": 500, "signer_authority": 200, "signer_title": 200, "signer_name": 200,
    "recipients": 2000,
}
MULTILINE = {"attendees_province", "attendees_district", "attendees_commune", "recipients"}
BASIS_FIELDS = {"number": 100, "issuer": 300, "summary": 1000}
_NOTATION = re.compile(r"^[0-9A-Za-zĐđ.\-]*$")


# -- reading ------------------------------------------------------------------------------------


def basis_of(meeting):
    """The meeting's BasisDocument, or None."""
    return db.session.scalar(sa.select(BasisDocument).where(BasisDocument.meeting_id == meeting.id))


def letter_of(meeting):
    """The meeting's InvitationLetter, or None (a draft of defaults)."""
    return db.session.scalar(sa.select(InvitationLetter).where(InvitationLetter.meeting_id == meeting.id))


def context_for(meeting, today=None):
    """The giấy mời's template context for the meeting (documents.letter.letter_context)."""
    return letter_context(meeting, letter_of(meeting), basis_of(meeting), today=today or to_local(utcnow()).date())


def active_template():
    """The LetterTemplate in use, or None for the default (documents/giay_moi_mau.docx)."""
    return db.session.scalar(sa.select(LetterTemplate).where(LetterTemplate.is_active)
                             .order_by(LetterTemplate.uploaded_at.desc(), LetterTemplate.id.desc()).limit(1))


def template_bytes():
    """The bytes of the template in use."""
    row = active_template()
    return row.content if row is not None else DEFAULT_TEMPLATE.read_bytes()


def docx_for(meeting, today=None):
    """The meeting's draft giấy mời as DOCX bytes; raises TemplateFailed (its reason) when the template in use
    cannot be filled for this meeting (an office's own, checked only with the sample meeting)."""
    return render.fill(template_bytes(), context_for(meeting, today))


def pdf_for(meeting, today=None):
    """The same draft as PDF bytes; raises ConverterUnavailable where LibreOffice is not (or fails)."""
    return render.docx_to_pdf(docx_for(meeting, today))


def converter_available():
    return render.soffice_path() is not None


# -- checking input ------------------------------------------------------------------------------


def _text_fields(data, limits, required=()):
    values, errors = {}, {}
    for field, limit in limits.items():
        raw = data.get(field, "")
        if raw is None:
            raw = ""
        if not isinstance(raw, str):
            errors[field] = N_("Phải là chuỗi ký tự.")
            continue
        value = nfc(raw).strip() if field in MULTILINE else clean(raw)
        if field in MULTILINE:
            value = "\n".join(clean(line) for line in value.splitlines() if clean(line))
        if len(value) > limit:
            errors[field] = say("Dài quá %(limit)s ký tự.", limit=limit)
        elif field in required and not value:
            errors[field] = N_("Không được để trống.")
        values[field] = value
    return values, errors


def _date(value, field, errors):
    """A date from 'YYYY-MM-DD', 'dd/mm/yyyy' or a date; None (and errors[field]) otherwise."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str):
        for form in ("%Y-%m-%d", "%d/%m/%Y"):
            try:
                day = datetime.strptime(value.strip(), form).date()
            except ValueError:
                continue
            if 1900 <= day.year <= 2100:
                return day
    errors[field] = N_("Ngày theo dạng dd/mm/yyyy (hoặc YYYY-MM-DD).")
    return None


def _pdf(data, field, errors):
    if data is None:
        return None
    if len(data) > MAX_PDF_BYTES:
        errors[field] = say("Tệp PDF lớn hơn %(mb)s MB.", mb=MAX_PDF_BYTES // 2**20)
    elif not data.startswith(b"%PDF-"):
        errors[field] = N_("Tệp không phải PDF.")
    return data


# -- the basis document ---------------------------------------------------------------------------


def _hold(meeting):
    """Lock the meeting's row until the caller commits (booking.validation.hold_meeting, no version named).

    A meeting has at most one basis document and one giấy mời (unique
    meeting_id): two first writes at once would both insert, and the second
    fail on PostgreSQL. Under the lock the second waits, then finds and
    updates the first's row. On SQLite the write transaction already holds it.
    """
    hold_meeting(meeting)


def save_basis(meeting, data, pdf=None, pdf_name=None, actor=None, source="typed"):
    """Set the meeting's basis document from data {number, issued_on, issuer, summary}; return it.

    pdf: the document's PDF bytes (kept when None and one was kept before).
    Raises ValidationError naming each bad field; writes nothing then.
    """
    values, errors = _text_fields(data, BASIS_FIELDS, required=BASIS_FIELDS)
    issued_on = _date(data.get("issued_on"), "issued_on", errors)
    pdf = _pdf(pdf, "pdf", errors)
    if errors:
        raise ValidationError(errors)
    _hold(meeting)
    row = basis_of(meeting) or BasisDocument(meeting_id=meeting.id)
    row.number, row.issuer, row.summary = values["number"], values["issuer"], values["summary"]
    row.issued_on, row.source, row.updated_by_id = issued_on, source, getattr(actor, "id", None)
    if pdf is not None:
        row.pdf, row.pdf_name = pdf, clean(pdf_name or "van-ban-can-cu.pdf")[:200]
    db.session.add(row)
    db.session.flush()
    audit.record(actor, "update", "meeting", meeting.id, summary=f"Văn bản căn cứ: số {row.number}")
    return row


def save_basis_from_edxml(meeting, data, actor=None):
    """Read an .edxml file's header (documents.edxml) into the meeting's basis document; return it."""
    header = edxml.read_edxml(data)
    return save_basis(meeting, {"number": header.number, "issued_on": header.issued_on, "issuer": header.issuer,
                                "summary": header.summary}, pdf=header.pdf, pdf_name=header.pdf_name,
                      actor=actor, source="edxml")


def remove_basis(meeting, actor=None):
    """Forget the meeting's basis document (if any)."""
    _hold(meeting)
    row = basis_of(meeting)
    if row is not None:
        db.session.delete(row)
        db.session.flush()
        audit.record(actor, "update", "meeting", meeting.id, summary="Bỏ văn bản căn cứ")


# -- the giấy mời ---------------------------------------------------------------------------------


def save_letter(meeting, data, actor=None):
    """Set the draft's fields (LETTER_FIELDS) from data; return the InvitationLetter."""
    values, errors = _text_fields(data, LETTER_FIELDS)
    if values.get("notation") and not _NOTATION.match(values["notation"]):
        errors["notation"] = N_("Ký hiệu chỉ gồm chữ, số, dấu chấm và gạch nối (ví dụ UBND, VP).")
    if errors:
        raise ValidationError(errors)
    _hold(meeting)
    row = letter_of(meeting) or InvitationLetter(meeting_id=meeting.id)
    for field, value in values.items():
        setattr(row, field, value)
    db.session.add(row)
    db.session.flush()
    return row


def issue_letter(meeting, data, signed_pdf=None, signed_pdf_name=None, actor=None):
    """Record the number and date iOffice gave the giấy mời (and its signed PDF); return the InvitationLetter.

    data: {number: "12/GM-UBND", issued_on, attach_pdf: bool}. From then on the
    invites quote it; with attach_pdf and a signed PDF kept, they carry it.
    """
    errors = {}
    number = clean(data.get("number") if isinstance(data.get("number"), str) else "")
    if not number:
        errors["number"] = N_("Không được để trống.")
    elif len(number) > 100:
        errors["number"] = say("Dài quá %(limit)s ký tự.", limit=100)
    elif "/" not in number:
        errors["number"] = N_("Ghi số và ký hiệu như iOffice đã cấp, ví dụ 12/GM-UBND.")
    issued_on = _date(data.get("issued_on"), "issued_on", errors)
    signed_pdf = _pdf(signed_pdf, "signed_pdf", errors)
    attach = data.get("attach_pdf", False)
    if not isinstance(attach, bool):
        errors["attach_pdf"] = N_("Phải là true hoặc false.")
    _hold(meeting)
    row = letter_of(meeting) or InvitationLetter(meeting_id=meeting.id)
    if attach and signed_pdf is None and row.signed_pdf_name is None:
        errors["attach_pdf"] = N_("Chưa có bản PDF đã ký để gửi kèm.")
    if errors:
        raise ValidationError(errors)
    row.issued_number, row.issued_on, row.is_pdf_attached = number, issued_on, attach
    row.issued_by_id = getattr(actor, "id", None)
    if signed_pdf is not None:
        row.signed_pdf, row.signed_pdf_name = signed_pdf, clean(signed_pdf_name or "giay-moi-da-ky.pdf")[:200]
    db.session.add(row)
    db.session.flush()
    audit.record(actor, "update", "meeting", meeting.id, summary=f"Giấy mời số {number} ngày {issued_on:%d/%m/%Y}")
    return row


def reference_text(letter):
    """'Theo Giấy mời số 12/GM-UBND ngày 05/02/2027', or '' for a letter not issued."""
    if letter is None or not letter.issued_number:
        return ""
    return f"Theo Giấy mời số {letter.issued_number} ngày {letter.issued_on:%d/%m/%Y}"


def invite_reference(meeting):
    """Booking's invite-text source: the issued giấy mời the invites quote ([(heading, text)])."""
    letter = letter_of(meeting)
    text = reference_text(letter)
    if not text:
        return []
    return [("Giấy mời", text + (f" của {letter.issuing_body}" if letter.issuing_body else "") + ".")]


def invite_attachments(meeting):
    """Booking's invite-attachment source: [(filename, bytes)] of the signed PDF when the clerk asked."""
    letter = db.session.scalar(sa.select(InvitationLetter).where(
        InvitationLetter.meeting_id == meeting.id, InvitationLetter.is_pdf_attached.is_(True)))
    if letter is None or letter.signed_pdf is None:
        return []
    return [(letter.signed_pdf_name or "giay-moi.pdf", letter.signed_pdf)]


# -- templates --------------------------------------------------------------------------------------


def upload_template(filename, data, actor=None):
    """Check an office's template (rendered with a sample meeting) and make it the one in use; return its row."""
    name = clean(filename or "")
    if not name.lower().endswith(".docx"):
        raise ValidationError({"template": N_("Chọn tệp Word .docx.")})
    render.check_template(data, SAMPLE_CONTEXT)
    db.session.execute(sa.update(LetterTemplate).where(LetterTemplate.is_active).values(is_active=False))
    row = LetterTemplate(filename=name[:200], content=data, uploaded_by_id=getattr(actor, "id", None))
    db.session.add(row)
    db.session.flush()
    audit.record(actor, "create", "letter_template", row.id, summary=f"Mẫu giấy mời {row.filename}")
    return row


def restore_default_template(actor=None):
    """Go back to the shipped template (the uploaded ones are kept, inactive)."""
    db.session.execute(sa.update(LetterTemplate).where(LetterTemplate.is_active).values(is_active=False))
    audit.record(actor, "update", "letter_template", "default", summary="Dùng lại mẫu giấy mời mặc định")


# -- the notice period ------------------------------------------------------------------------------


def latest_sending_day(meeting_day):
    """The last local day a giấy mời may go out and still leave NOTICE_WORKING_DAYS working days before meeting_day.

    QĐ 45/2018/QĐ-TTg: the invitation reaches the invitees at least 3
    working days before the meeting; counted on the working calendar
    (working_time: weekends, public holidays, declared days).
    """
    span = WorkingCalendar(meeting_day - timedelta(days=60), meeting_day - timedelta(days=1))
    days = list(span.working_days())
    return days[-NOTICE_WORKING_DAYS] if len(days) >= NOTICE_WORKING_DAYS else meeting_day - timedelta(days=60)


def late_notice_warnings(meeting, now=None):
    """Booking's meeting-warning source: [{endpoint_id: None, kind: "late_notice", message}] or [].

    A meeting whose first sitting is fewer than NOTICE_WORKING_DAYS working
    days away: the giấy mời may reach people late. A warning, never a refusal
    (an urgent meeting is the organiser's call).
    """
    now = now or utcnow()
    if meeting.is_cancelled or meeting.starts_at <= now:
        return []
    today, meeting_day = to_local(now).date(), to_local(meeting.starts_at).date()
    if today <= latest_sending_day(meeting_day):
        return []
    return [{"endpoint_id": None, "kind": "late_notice",
             "message": say("Cuộc họp cách hôm nay chưa đến %(days)s ngày làm việc: giấy mời có thể đến muộn "
                            "(QĐ 45/2018/QĐ-TTg yêu cầu gửi trước ít nhất %(days)s ngày làm việc).",
                            days=NOTICE_WORKING_DAYS)}]
