"""The base of the app's forms: WTForms' own messages in Vietnamese, naming the field.

WTForms ships no `vi` catalogue, so its parse errors (a date that is no date, a
choice not offered) would reach people in English; and its messages never say
which field they are about, while ours do.
"""

from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms.widgets import TextInput

DATE_FORMATS = ["%d/%m/%Y", "%Y-%m-%d"]
#: dates are typed and read dd/mm/yyyy (DOMAIN.md), whatever the browser's locale
DATE_INPUT = {"widget": TextInput(), "render_kw": {"placeholder": "dd/mm/yyyy", "inputmode": "numeric"}}

from vmeeting.core.bounds import check_day
from vmeeting.core.text import shown

#: WTForms' message ids and what we say instead; `%(field)s` is the field's label,
#: other placeholders are filled by WTForms afterwards. Vietnamese has no plural.
MESSAGES = {
    "Not a valid date value.": _l("«%(field)s» không phải ngày hợp lệ; hãy nhập theo dạng dd/mm/yyyy."),
    "Not a valid time value.": _l("«%(field)s» không phải giờ hợp lệ; hãy nhập theo dạng HH:MM."),
    "Not a valid datetime value.": _l("«%(field)s» không phải thời điểm hợp lệ; hãy nhập dd/mm/yyyy HH:MM."),
    "Not a valid integer value.": _l("«%(field)s» phải là một số nguyên."),
    "Not a valid decimal value.": _l("«%(field)s» phải là một số."),
    "Not a valid float value.": _l("«%(field)s» phải là một số."),
    "Not a valid choice.": _l("«%(field)s»: lựa chọn không có trong danh sách."),
    "Invalid Choice: could not coerce.": _l("«%(field)s»: lựa chọn không có trong danh sách."),
    "Invalid choice(s): one or more data inputs could not be coerced.":
        _l("«%(field)s»: có lựa chọn không có trong danh sách."),
    "'%(value)s' is not a valid choice for this field.":
        _l("«%(field)s»: '%(value)s' không có trong danh sách."),
    "This field is required.": _l("«%(field)s» không được để trống."),
    "Invalid email address.": _l("«%(field)s»: địa chỉ thư không hợp lệ."),
}


class _LaterPlaceholders(dict):
    """Leave WTForms' own placeholders (`%(value)s`) for WTForms to fill."""

    def __missing__(self, key):
        return f"%({key})s"


class FieldTranslations:
    """The `gettext` of one field: our text for WTForms' messages, in the page's language."""

    def __init__(self, field):
        self.field = field

    def _ours(self, message_id):
        text = MESSAGES.get(message_id)
        if text is None:
            return None
        label = str(self.field.label.text)
        if "%(value)s" in message_id:
            label = label.replace("%", "%%")  # WTForms formats the result once more
        return str(text) % _LaterPlaceholders(field=label)

    def gettext(self, string):
        return self._ours(string) or string

    def ngettext(self, singular, plural, n):
        return self._ours(singular) or (singular if n == 1 else plural)


class AppForm(FlaskForm):
    """Every form of the app: Flask-WTF's CSRF, WTForms' messages in Vietnamese naming the field,
    and every date within bounds.MIN_DAY..MAX_DAY (what date arithmetic near year 1 or 9999 could not do).
    """

    def validate(self, extra_validators=None):
        """Validate every field, then refuse any date outside the calendar the app computes with."""
        is_valid = super().validate(extra_validators)
        for field in self:
            day = field.data.date() if isinstance(field.data, datetime) else field.data
            if isinstance(day, date) and not field.errors:
                try:
                    check_day(day)
                except ValueError as exc:
                    field.errors = [*field.errors, f"«{field.label.text}»: {shown(exc.args[0])}"]
                    is_valid = False
        return is_valid

    class Meta:
        def bind_field(self, form, unbound_field, options):
            field = super().bind_field(form, unbound_field, options)
            field._translations = FieldTranslations(field)
            return field
