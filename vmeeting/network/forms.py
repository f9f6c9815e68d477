"""Opening and resolving an incident."""

from flask_babel import lazy_gettext as _l
from wtforms import SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from vmeeting.core.forms_i18n import AppForm
from vmeeting.network.service import TEXT_MAX, TITLE_MAX

SEVERITY_CHOICES = [("minor", _l("Nhẹ")), ("major", _l("Nặng")), ("critical", _l("Nghiêm trọng"))]


class IncidentForm(AppForm):
    """A new incident at a site: which site, what, how bad, and a note."""

    endpoint_id = SelectField(_l("Điểm cầu"), coerce=int, validate_choice=True)
    title = StringField(_l("Sự cố"), validators=[DataRequired(_l("Nhập tiêu đề sự cố.")), Length(max=TITLE_MAX)],
                        render_kw={"maxlength": TITLE_MAX, "placeholder": _l("Ví dụ: Mất tiếng ở điểm cầu")})
    severity = SelectField(_l("Mức độ"), choices=SEVERITY_CHOICES, default="major")
    note = TextAreaField(_l("Ghi chú"), validators=[Length(max=TEXT_MAX)], render_kw={"rows": 3})


class ResolveForm(AppForm):
    """What was done to resolve an incident."""

    resolution = TextAreaField(_l("Đã khắc phục thế nào"),
                               validators=[DataRequired(_l("Ghi rõ đã khắc phục thế nào.")), Length(max=TEXT_MAX)],
                               render_kw={"rows": 3})
