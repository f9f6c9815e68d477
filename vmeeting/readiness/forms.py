"""The technician's confirmation form and the report's period."""

from datetime import datetime, time, timedelta

from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from vmeeting.core.forms_i18n import AppForm
from wtforms import BooleanField, DateField, HiddenField, SubmitField, TextAreaField
from wtforms.validators import Optional
from wtforms.validators import ValidationError as FieldError
from wtforms.widgets import TextInput

from vmeeting.readiness.models import CHECKS
from vmeeting.core.timefmt import local_to_utc

DATE_INPUT = {"widget": TextInput(), "format": ["%d/%m/%Y", "%Y-%m-%d"],
              "render_kw": {"placeholder": "dd/mm/yyyy", "inputmode": "numeric"}}
MAX_REPORT_DAYS = 400


class ConfirmForm(AppForm):
    """A site's checklist and note, with one button for ready and one for a problem."""

    # the labels of service.CHECK_LABELS, written out so the translation tools find them
    camera = BooleanField(_l("Camera"))
    microphone = BooleanField(_l("Micro, loa"))
    display = BooleanField(_l("Màn hình"))
    network = BooleanField(_l("Đường truyền"))
    test_call = BooleanField(_l("Kết nối thử với điểm chủ tọa"))
    note = TextAreaField(_l("Ghi chú / mô tả sự cố"), render_kw={"rows": 2, "maxlength": 2000})
    next = HiddenField()
    ready = SubmitField(_l("Sẵn sàng"))
    issue = SubmitField(_l("Có sự cố"))

    def fill(self, readiness):
        """Show what was last confirmed."""
        if readiness is not None:
            for name in CHECKS:
                getattr(self, name).data = bool((readiness.checks or {}).get(name))
            self.note.data = readiness.note

    def values(self):
        """Return the service's input: status from the button pressed, checks, note."""
        return {"status": "issue" if self.issue.data else "ready",
                "checks": {name: bool(getattr(self, name).data) for name in CHECKS},
                "note": self.note.data or ""}


class ReportForm(AppForm):
    """The report's period, as local days (both included)."""

    class Meta:
        csrf = False  # a GET filter changes nothing

    date_from = DateField(_l("Từ ngày"), validators=[Optional()], **DATE_INPUT)
    date_to = DateField(_l("Đến ngày"), validators=[Optional()], **DATE_INPUT)

    def validate_date_to(self, field):
        if field.data and self.date_from.data:
            if field.data < self.date_from.data:
                raise FieldError(gettext("Ngày kết thúc phải sau ngày bắt đầu."))
            if (field.data - self.date_from.data).days > MAX_REPORT_DAYS:
                raise FieldError(gettext("Khoảng thời gian tối đa %(days)s ngày.", days=MAX_REPORT_DAYS))

    def period(self, today):
        """Return (from, to) UTC instants; the last 30 days up to today when not given."""
        day_to = self.date_to.data or today
        day_from = self.date_from.data or day_to - timedelta(days=29)
        return (local_to_utc(datetime.combine(day_from, time.min)),
                local_to_utc(datetime.combine(day_to + timedelta(days=1), time.min)))
