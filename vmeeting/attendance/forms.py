"""Marking one site of a sitting."""

from flask_babel import lazy_gettext as _l
from wtforms import HiddenField, RadioField, StringField
from wtforms.validators import Length

from vmeeting.attendance.service import REASON_MAX
from vmeeting.core.forms_i18n import AppForm

STATUS_CHOICES = [("present", _l("Có mặt")), ("late", _l("Đến muộn")), ("absent", _l("Vắng"))]


class MarkForm(AppForm):
    """One site's mark: present, late or absent, and the reason (required for absent, by the service)."""

    status = RadioField(_l("Điểm danh"), choices=STATUS_CHOICES)
    reason = StringField(_l("Lý do"), validators=[Length(max=REASON_MAX)],
                         render_kw={"list": "attendance-reasons", "maxlength": REASON_MAX})
    endpoint_id = HiddenField()
    #: set when the status shown is a hint (readiness, the last sweep), not a mark yet
    suggested = False
