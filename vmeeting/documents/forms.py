"""The giấy mời page's forms: the basis document, the draft's fields, the issue; the admin's template upload."""

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import BooleanField, DateField, StringField, TextAreaField
from wtforms.validators import Length, Optional

from vmeeting.core.forms_i18n import DATE_FORMATS, DATE_INPUT, AppForm


class BasisForm(AppForm):
    """The văn bản căn cứ, typed in (number, date, issuer, summary, its PDF) or read from an .edxml."""

    number = StringField(_l("Số, ký hiệu"), validators=[Length(max=100)], render_kw={"placeholder": "125/UBND-KGVX"})
    issued_on = DateField(_l("Ngày ban hành"), format=DATE_FORMATS, validators=[Optional()], **DATE_INPUT)
    issuer = StringField(_l("Cơ quan ban hành"), validators=[Length(max=300)])
    summary = TextAreaField(_l("Trích yếu"), validators=[Length(max=1000)], render_kw={"rows": 2})
    pdf = FileField(_l("Bản PDF của văn bản (nếu có)"))
    edxml = FileField(_l("Hoặc đọc từ tệp .edxml (QCVN 102:2016/BTTTT)"))

    def data_for_service(self):
        return {"number": self.number.data, "issued_on": self.issued_on.data, "issuer": self.issuer.data,
                "summary": self.summary.data}


class LetterForm(AppForm):
    """What the draft says beyond the booking: the bodies, who chairs and attends, the contact, the signer."""

    parent_body = StringField(_l("Cơ quan chủ quản cấp trên"), validators=[Length(max=300)])
    issuing_body = StringField(_l("Cơ quan ban hành giấy mời"), validators=[Length(max=300)])
    notation = StringField(_l("Ký hiệu cơ quan (sau GM-)"), validators=[Length(max=40)],
                           render_kw={"placeholder": "UBND"})
    chair_person = StringField(_l("Chủ trì"), validators=[Length(max=500)])
    attendees_province = TextAreaField(_l("Thành phần tại điểm cầu chủ trì (cấp tỉnh)"),
                                       validators=[Length(max=2000)], render_kw={"rows": 2})
    attendees_district = TextAreaField(_l("Thành phần tại các điểm cầu cấp huyện"), validators=[Length(max=2000)],
                                       render_kw={"rows": 2})
    attendees_commune = TextAreaField(_l("Thành phần tại các điểm cầu cấp xã"), validators=[Length(max=2000)],
                                      render_kw={"rows": 2})
    technical_contact = StringField(_l("Liên hệ kỹ thuật"), validators=[Length(max=500)])
    signer_authority = StringField(_l("Quyền hạn người ký (TM., KT., TL.…)"), validators=[Length(max=200)])
    signer_title = StringField(_l("Chức vụ người ký"), validators=[Length(max=200)])
    signer_name = StringField(_l("Họ tên người ký"), validators=[Length(max=200)])
    recipients = TextAreaField(_l("Nơi nhận (mỗi dòng một nơi)"), validators=[Length(max=2000)],
                               render_kw={"rows": 3})

    def fill_from(self, letter):
        for name in self._fields:
            if name != "csrf_token" and letter is not None:
                self[name].data = getattr(letter, name)


class IssueForm(AppForm):
    """The giấy mời as iOffice numbered and signed it."""

    number = StringField(_l("Số, ký hiệu đã cấp"), validators=[Length(max=100)],
                         render_kw={"placeholder": "12/GM-UBND"})
    issued_on = DateField(_l("Ngày ban hành"), format=DATE_FORMATS, validators=[Optional()], **DATE_INPUT)
    signed_pdf = FileField(_l("Bản PDF đã ký số (nếu có)"))
    attach_pdf = BooleanField(_l("Gửi kèm bản PDF đã ký theo thư mời từ nay"))

    def data_for_service(self):
        return {"number": self.number.data or "", "issued_on": self.issued_on.data,
                "attach_pdf": bool(self.attach_pdf.data)}


class TemplateForm(AppForm):
    template = FileField(_l("Mẫu giấy mời (.docx)"))
