"""The form that declares a day off or a working day."""

from flask_babel import lazy_gettext as _l
from wtforms import DateField, SelectField, StringField
from wtforms.validators import DataRequired, InputRequired, Length

from vmeeting.core.forms_i18n import DATE_FORMATS, DATE_INPUT, AppForm


class DeclaredDayForm(AppForm):
    day = DateField(_l("Ngày"), format=DATE_FORMATS, validators=[InputRequired(_l("Nhập ngày (dd/mm/yyyy)."))],
                    **DATE_INPUT)
    kind = SelectField(_l("Loại"), choices=[("day_off", _l("Ngày nghỉ (nghỉ bù)")),
                                            ("working_day", _l("Ngày làm việc bù (Thứ Bảy, Chủ Nhật)"))])
    name = StringField(_l("Tên, căn cứ"), validators=[DataRequired(_l("Nhập tên, ví dụ «Nghỉ bù Quốc khánh».")),
                                                      Length(max=200)])

    def data_for_service(self):
        return {"date": self.day.data, "kind": self.kind.data, "name": self.name.data}
