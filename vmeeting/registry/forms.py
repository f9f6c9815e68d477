"""Registry forms: they turn what people type into the values the service checks.

The rules themselves (codes, SIP addresses, e-mails, parents...) live in
`registry/service.py`; these forms only parse input (dd/mm/yyyy dates, ids,
lists of e-mails) and name each field in Vietnamese.
"""

from datetime import datetime

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import BooleanField, Field, HiddenField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.widgets import CheckboxInput, ListWidget

try:
    from wtforms.fields.choices import SelectChoice
except ImportError:  # WTForms before 3.3 takes (value, label) tuples
    def SelectChoice(value, label):  # noqa: N802 (stands in for the class)
        return value, label

from vmeeting.core.bounds import as_id
from vmeeting.core.forms_i18n import AppForm
from vmeeting.registry.service import CHOICE_LABELS, DIAL_FIELDS, ENDPOINT_FIELDS, UNIT_LEVEL_OF_KIND

DATE_FORMAT = "%d/%m/%Y"


def id_or_raw(value):
    """Return an id as int, None for an empty choice, anything else unchanged for the service to refuse."""
    if value in (None, "", "None"):
        return None
    if isinstance(value, int):
        return value
    text = str(value).strip()
    return as_id(text) if text.isascii() and text.isdigit() else text


def choices_of(field, *, exclude=()):
    """Return (value, label) pairs for one of the endpoint's fixed choices, in the page's language."""
    return [SelectChoice(value, _l(label)) for value, label in CHOICE_LABELS[field].items() if value not in exclude]


def unit_choices(unit_tree, *, blank=None):
    """Return select choices for units, indented to show the tree (names repeat in a province)."""
    choices = [SelectChoice("", blank)] if blank else []
    for unit, depth in unit_tree:
        label = "\u00a0\u00a0\u00a0" * depth + unit.name
        if unit.valid_to is not None:
            label += " " + _("(đến %(day)s)", day=unit.valid_to.strftime(DATE_FORMAT))
        choices.append(SelectChoice(unit.id, label))
    return choices


class DayField(Field):
    """A calendar day entered as dd/mm/yyyy; empty means no date."""

    widget = StringField.widget

    def _value(self):
        if self.raw_data:
            return self.raw_data[0]
        return self.data.strftime(DATE_FORMAT) if self.data else ""

    def process_formdata(self, valuelist):
        text = (valuelist[0] if valuelist else "").strip()
        if not text:
            self.data = None
            return
        try:
            self.data = datetime.strptime(text, DATE_FORMAT).date()
        except ValueError:
            self.data = None
            raise ValueError(_("Ngày phải có dạng dd/mm/yyyy, ví dụ 01/07/2025.")) from None


class EmailListField(StringField):
    """E-mail addresses separated by commas, semicolons or spaces; shown joined by commas."""

    def _value(self):
        if self.raw_data:
            return self.raw_data[0]
        if isinstance(self.data, (list, tuple)):
            return ", ".join(self.data)
        return self.data or ""


class IdSelectField(SelectField):
    """A select whose value is an id; an unknown id is left for the service to refuse in Vietnamese."""

    def __init__(self, label=None, validators=None, **kwargs):
        super().__init__(label, validators, coerce=id_or_raw, validate_choice=False, **kwargs)


class IdCheckboxField(SelectMultipleField):
    """A list of checkboxes whose values are ids."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()

    def __init__(self, label=None, validators=None, **kwargs):
        super().__init__(label, validators, coerce=int, validate_choice=False, **kwargs)

    def process_formdata(self, valuelist):
        ids = []
        for value in valuelist:
            if not str(value).strip().isdigit():
                self.data = []
                raise ValueError(_("Lựa chọn không hợp lệ."))
            ids.append(as_id(value))  # out of range reads as 0, which no row has
        self.data = list(dict.fromkeys(ids))


#: Vietnamese names of the endpoint fields: form labels, the detail page, the history, import errors
ENDPOINT_LABELS = {
    "code": _l("Mã điểm cầu"),
    "name": _l("Tên điểm cầu"),
    "unit_id": _l("Đơn vị"),
    "category": _l("Loại điểm cầu"),
    "address": _l("Địa chỉ"),
    "status": _l("Trạng thái"),
    "sip_uri": _l("Địa chỉ SIP"),
    "probe": _l("Kiểm tra tự động"),
    "bridge_id": _l("Cầu MCU"),
    "transport": _l("Đường truyền"),
    "protocol": _l("Giao thức"),
    "technician_id": _l("Kỹ thuật viên"),
    "contact_name": _l("Người liên hệ"),
    "contact_phone": _l("Điện thoại liên hệ"),
    "contact_emails": _l("Thư điện tử liên hệ"),
    "device_model": _l("Thiết bị (model)"),
    "device_serial": _l("Số sê-ri thiết bị"),
    "platform_ref": _l("Mã phòng trên nền tảng"),
    "notes": _l("Ghi chú"),
}


class EndpointForm(AppForm):
    """Create or edit an endpoint; the same form serves both pages."""

    code = StringField(ENDPOINT_LABELS["code"], render_kw={"maxlength": 40, "autocomplete": "off"})
    name = StringField(ENDPOINT_LABELS["name"], render_kw={"maxlength": 200})
    unit_id = IdSelectField(ENDPOINT_LABELS["unit_id"])
    category = SelectField(ENDPOINT_LABELS["category"], choices=choices_of("category"), validate_choice=False)
    address = StringField(ENDPOINT_LABELS["address"], render_kw={"maxlength": 300})
    status = SelectField(ENDPOINT_LABELS["status"], choices=choices_of("status"), validate_choice=False)
    sip_uri = StringField(ENDPOINT_LABELS["sip_uri"], render_kw={"placeholder": "sip:phong-hop@may-chu:5060"})
    probe = SelectField(ENDPOINT_LABELS["probe"], choices=choices_of("probe"), validate_choice=False)
    bridge_id = IdSelectField(ENDPOINT_LABELS["bridge_id"])
    transport = SelectField(ENDPOINT_LABELS["transport"], choices=choices_of("transport"), validate_choice=False)
    protocol = SelectField(ENDPOINT_LABELS["protocol"], choices=choices_of("protocol"), validate_choice=False)
    technician_id = IdSelectField(ENDPOINT_LABELS["technician_id"])
    contact_name = StringField(ENDPOINT_LABELS["contact_name"], render_kw={"maxlength": 200})
    contact_phone = StringField(ENDPOINT_LABELS["contact_phone"], render_kw={"maxlength": 40, "inputmode": "tel"})
    contact_emails = EmailListField(
        ENDPOINT_LABELS["contact_emails"], description=_l("Nhiều địa chỉ cách nhau bởi dấu phẩy hoặc chấm phẩy.")
    )
    device_model = StringField(ENDPOINT_LABELS["device_model"], render_kw={"maxlength": 120})
    device_serial = StringField(ENDPOINT_LABELS["device_serial"], render_kw={"maxlength": 120})
    platform_ref = StringField(ENDPOINT_LABELS["platform_ref"], render_kw={"maxlength": 120})
    notes = TextAreaField(ENDPOINT_LABELS["notes"], render_kw={"rows": 3})

    def __init__(self, *args, unit_tree=(), bridges=(), technicians=(), is_new=True, may_dial=True, **kwargs):
        super().__init__(*args, **kwargs)
        self.may_dial = may_dial
        if not may_dial:
            # Shown, not sent: only admins set where the probes dial (registry.service.DIAL_FIELDS).
            for name in DIAL_FIELDS:
                self[name].render_kw = {**(self[name].render_kw or {}), "disabled": True}
                self[name].description = _("Chỉ quản trị viên đặt được.")
        self.unit_id.choices = unit_choices(unit_tree, blank=_("— Chọn đơn vị —"))
        self.bridge_id.choices = [SelectChoice("", _("— Không —"))] + [
            SelectChoice(b.id, f"{b.name} ({b.code})") for b in bridges
        ]
        self.technician_id.choices = [SelectChoice("", _("— Chưa phân công —"))] + [
            SelectChoice(u.id, f"{u.display_name} ({u.username})") for u in technicians
        ]
        if is_new:
            # A new site cannot start retired (the service refuses it too).
            self.status.choices = choices_of("status", exclude=("retired",))

    def endpoint_data(self):
        """Return the field values as the registry service expects them."""
        return {name: self[name].data for name in ENDPOINT_FIELDS if self.may_dial or name not in DIAL_FIELDS}


UNIT_KINDS = tuple(UNIT_LEVEL_OF_KIND)
#: the kinds as the unit form shows them (the stored value stays the Vietnamese word)
UNIT_KIND_LABELS = {
    "tỉnh": _l("Tỉnh"), "thành phố trực thuộc trung ương": _l("Thành phố trực thuộc trung ương"),
    "thành phố": _l("Thành phố"), "huyện": _l("Huyện"), "thị xã": _l("Thị xã"), "xã": _l("Xã"),
    "phường": _l("Phường"), "thị trấn": _l("Thị trấn"), "đặc khu": _l("Đặc khu"),
}


class UnitForm(AppForm):
    """Create or edit an administrative unit."""

    name = StringField(_l("Tên đơn vị"), description=_l("Tên đầy đủ, ví dụ «Xã Hòa Bình»."),
                       render_kw={"maxlength": 200})
    code = StringField(_l("Mã đơn vị"), description=_l("Mã GSO."), render_kw={"maxlength": 20})
    kind = SelectField(_l("Loại"), choices=[SelectChoice(k, UNIT_KIND_LABELS.get(k, k.capitalize())) for k in UNIT_KINDS], validate_choice=False)
    parent_id = IdSelectField(_l("Đơn vị cấp trên"))
    valid_from = DayField(_l("Có hiệu lực từ"), render_kw={"placeholder": "dd/mm/yyyy", "inputmode": "numeric"})
    valid_to = DayField(_l("Hết hiệu lực sau ngày"), render_kw={"placeholder": "dd/mm/yyyy", "inputmode": "numeric"})

    def __init__(self, *args, unit_tree=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.parent_id.choices = unit_choices(unit_tree, blank=_("— Không có (cấp cao nhất) —"))

    def unit_data(self):
        """Return the field values as the registry service expects them."""
        return {name: self[name].data for name in ("name", "code", "kind", "parent_id", "valid_from", "valid_to")}


class BridgeForm(AppForm):
    """Create or edit an MCU bridge."""

    code = StringField(_l("Mã cầu"), render_kw={"maxlength": 40})
    name = StringField(_l("Tên cầu MCU"), render_kw={"maxlength": 200})
    # Text, not IntegerField: the service gives the Vietnamese reason for a bad number.
    ports = StringField(_l("Số cổng"), render_kw={"inputmode": "numeric"})
    address = StringField(_l("Địa chỉ"), render_kw={"maxlength": 200})
    notes = TextAreaField(_l("Ghi chú"), render_kw={"rows": 3})
    is_active = BooleanField(_l("Đang sử dụng"), default=True)

    def bridge_data(self):
        """Return the field values as the registry service expects them."""
        return {name: self[name].data for name in ("code", "name", "ports", "address", "notes", "is_active")}


class GroupForm(AppForm):
    """Create or edit a group: whole units and single endpoints."""

    name = StringField(_l("Tên nhóm"), render_kw={"maxlength": 200})
    description = TextAreaField(_l("Mô tả"), render_kw={"rows": 2})
    unit_ids = IdCheckboxField(
        _l("Thêm mọi điểm cầu của đơn vị"),
        description=_l("Các điểm cầu đang hoạt động của đơn vị và các đơn vị trực thuộc được thêm vào nhóm."),
    )
    endpoint_ids = IdCheckboxField(_l("Điểm cầu"))


class ConfirmForm(AppForm):
    """A form with nothing but its CSRF token, for confirmed actions (retire)."""


class ImportForm(AppForm):
    """Upload a CSV or XLSX file of endpoints."""

    file = FileField(_l("Tệp CSV hoặc XLSX"))


class ImportConfirmForm(AppForm):
    """Confirm a previewed import."""

    token = HiddenField()
