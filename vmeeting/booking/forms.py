"""The booking form: local date and times in, UTC instants and an RRULE out."""

from datetime import datetime, timezone

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    TimeField,
)
from wtforms.widgets import CheckboxInput, ListWidget, TextInput
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional
from wtforms.validators import ValidationError as FieldError

from vmeeting.extensions import db
from vmeeting.registry import service as registry
from vmeeting.registry.models import Bridge, Endpoint, EndpointGroup
from vmeeting.timefmt import local_to_utc, to_local

FREQUENCIES = [("", _l("Không lặp")), ("DAILY", _l("Hằng ngày")), ("WEEKLY", _l("Hằng tuần")),
               ("MONTHLY", _l("Hằng tháng"))]
WEEKDAYS = [("MO", "Thứ Hai"), ("TU", "Thứ Ba"), ("WE", "Thứ Tư"), ("TH", "Thứ Năm"), ("FR", "Thứ Sáu"),
            ("SA", "Thứ Bảy"), ("SU", "Chủ Nhật")]
DATE_FORMATS = ["%d/%m/%Y", "%Y-%m-%d"]
#: dates are typed and read dd/mm/yyyy (DOMAIN.md), whatever the browser's locale
DATE_INPUT = {"widget": TextInput(), "render_kw": {"placeholder": "dd/mm/yyyy", "inputmode": "numeric"}}
#: times are typed HH:MM, 24-hour, whatever the browser's locale would show in a time picker
TIME_INPUT = {"format": "%H:%M", "widget": TextInput(),
              "render_kw": {"placeholder": "HH:MM", "inputmode": "numeric", "pattern": "[0-2][0-9]:[0-5][0-9]"}}


class MultiIdField(SelectMultipleField):
    """A multiple select of ids that accepts only the offered choices."""

    def pre_validate(self, form):
        offered = {str(value) for value, _label in self.choices or []}
        bad = [v for v in self.data or [] if str(v) not in offered]
        if bad:
            raise FieldError("Có lựa chọn không hợp lệ.")


class MeetingForm(FlaskForm):
    title = StringField(_l("Tên cuộc họp"), validators=[DataRequired("Nhập tên cuộc họp."), Length(max=300)])
    description = TextAreaField(_l("Nội dung, chương trình"), validators=[Length(max=20000)])
    day = DateField(_l("Ngày họp"), format=DATE_FORMATS,
                    validators=[InputRequired("Nhập ngày họp (dd/mm/yyyy).")], **DATE_INPUT)
    start_time = TimeField(_l("Bắt đầu"), validators=[InputRequired("Nhập giờ bắt đầu (HH:MM).")], **TIME_INPUT)
    end_time = TimeField(_l("Kết thúc"), validators=[InputRequired("Nhập giờ kết thúc (HH:MM).")], **TIME_INPUT)
    chair_endpoint_id = SelectField(_l("Điểm cầu chủ tọa"), coerce=int,
                                    validators=[InputRequired("Chọn điểm cầu chủ tọa.")])
    all_endpoints = BooleanField(_l("Toàn tỉnh (mọi điểm cầu đang hoạt động)"))
    unit_ids = MultiIdField(_l("Đơn vị (gồm mọi điểm cầu trực thuộc)"), coerce=int)
    group_ids = MultiIdField(_l("Nhóm điểm cầu"), coerce=int)
    endpoint_ids = MultiIdField(_l("Điểm cầu riêng lẻ"), coerce=int)
    bridge_id = SelectField(_l("Cầu MCU"), coerce=lambda v: int(v) if v not in (None, "", "None") else None)
    setup_minutes = IntegerField(_l("Thời gian chuẩn bị, kiểm tra trước (phút)"), default=30,
                                 validators=[Optional(), NumberRange(0, 240, "Từ 0 đến 240 phút.")])
    frequency = SelectField(_l("Lặp lại"), choices=FREQUENCIES, default="")
    weekdays = SelectMultipleField(_l("Vào các ngày"), choices=WEEKDAYS,
                                   widget=ListWidget(prefix_label=False), option_widget=CheckboxInput())
    repeat_until = DateField(_l("Đến ngày"), format=DATE_FORMATS, validators=[Optional()], **DATE_INPUT)
    repeat_count = IntegerField(_l("Hoặc số buổi"), validators=[Optional(), NumberRange(1, 520, "Từ 1 đến 520 buổi.")])
    attendees = TextAreaField(_l("Người dự khác (thư điện tử, mỗi dòng một địa chỉ)"))
    skip_busy = BooleanField(_l("Bỏ các điểm cầu bận"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        endpoints = db.session.execute(
            sa.select(Endpoint.id, Endpoint.name, Endpoint.code).where(Endpoint.status == "active")
            .order_by(Endpoint.name_sort_key)).all()
        self.endpoint_ids.choices = [(i, f"{name} ({code})") for i, name, code in endpoints]
        self.chair_endpoint_id.choices = [(0, "— Chọn —")] + self.endpoint_ids.choices
        self.unit_ids.choices = [(u.id, "— " * depth + u.name) for u, depth in registry.unit_tree()]
        self.group_ids.choices = [(g.id, g.name) for g in db.session.scalars(sa.select(EndpointGroup).order_by(EndpointGroup.name))]
        self.bridge_id.choices = [("", "Theo cầu MCU của từng điểm cầu")] + [
            (b.id, f"{b.name} ({b.ports} cổng)") for b in db.session.scalars(
                sa.select(Bridge).where(Bridge.is_active.is_(True)).order_by(Bridge.code))]

    def validate_chair_endpoint_id(self, field):
        if not field.data:
            raise FieldError("Chọn điểm cầu chủ tọa.")

    def validate_end_time(self, field):
        if self.start_time.data and field.data and field.data <= self.start_time.data:
            raise FieldError("Giờ kết thúc phải sau giờ bắt đầu.")

    def validate_weekdays(self, field):
        if self.frequency.data == "WEEKLY" and not field.data:
            raise FieldError("Chọn ít nhất một ngày trong tuần.")

    def validate_repeat_until(self, field):
        if self.frequency.data and not field.data and not self.repeat_count.data:
            raise FieldError("Cho biết ngày kết thúc hoặc số buổi.")
        if field.data and self.day.data and field.data < self.day.data:
            raise FieldError("Ngày kết thúc lặp phải sau ngày họp.")

    def has_sites(self):
        return bool(self.all_endpoints.data or self.unit_ids.data or self.group_ids.data or self.endpoint_ids.data)

    def site_args(self):
        """The site selection, as resolve_sites takes it."""
        return {"endpoint_ids": self.endpoint_ids.data or [], "unit_ids": self.unit_ids.data or [],
                "group_ids": self.group_ids.data or [], "all_endpoints": bool(self.all_endpoints.data),
                "on_day": self.day.data}

    def instants(self):
        """Return (starts_at, ends_at) in UTC from the local day and times."""
        starts = local_to_utc(datetime.combine(self.day.data, self.start_time.data))
        ends = local_to_utc(datetime.combine(self.day.data, self.end_time.data))
        return starts, ends

    def rrule(self):
        """Build the RRULE the choices describe, or None."""
        if not self.frequency.data:
            return None
        parts = [f"FREQ={self.frequency.data}"]
        if self.frequency.data == "WEEKLY":
            parts.append("BYDAY=" + ",".join(d for d, _ in WEEKDAYS if d in self.weekdays.data))
        if self.repeat_count.data:
            parts.append(f"COUNT={self.repeat_count.data}")
        else:
            parts.append("UNTIL=" + self.repeat_until.data.strftime("%Y%m%d"))
        return ";".join(parts)

    def meeting_fields(self):
        """The fields booking.service.validate_meeting takes."""
        starts_at, ends_at = self.instants()
        return {
            "title": self.title.data, "description": self.description.data, "starts_at": starts_at,
            "ends_at": ends_at, "chair_endpoint_id": self.chair_endpoint_id.data, "bridge_id": self.bridge_id.data,
            "setup_minutes": self.setup_minutes.data, "recurrence": self.rrule(),
            "attendees": self.attendees.data or "",
        }

    def fill_from(self, meeting):
        """Show an existing meeting's values for editing."""
        start = to_local(meeting.starts_at)
        self.title.data, self.description.data = meeting.title, meeting.description
        self.day.data, self.start_time.data = start.date(), start.time()
        self.end_time.data = to_local(meeting.ends_at).time()
        self.chair_endpoint_id.data, self.bridge_id.data = meeting.chair_endpoint_id, meeting.bridge_id
        self.setup_minutes.data = meeting.setup_minutes
        self.attendees.data = "\n".join(meeting.attendees or [])
        self.endpoint_ids.data = [e.id for e in meeting.endpoints]
        if meeting.recurrence:
            rule = dict(part.split("=", 1) for part in meeting.recurrence.split(";"))
            self.frequency.data = rule.get("FREQ", "")
            self.weekdays.data = rule.get("BYDAY", "").split(",") if rule.get("BYDAY") else []
            if "COUNT" in rule:
                self.repeat_count.data = int(rule["COUNT"])
            if "UNTIL" in rule:
                until = datetime.strptime(rule["UNTIL"], "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc)
                self.repeat_until.data = to_local(until).date()


class MoveOccurrenceForm(FlaskForm):
    day = DateField(_l("Ngày mới"), format=DATE_FORMATS, validators=[InputRequired("Nhập ngày (dd/mm/yyyy).")],
                    **DATE_INPUT)
    start_time = TimeField(_l("Bắt đầu"), validators=[InputRequired("Nhập giờ bắt đầu (HH:MM).")], **TIME_INPUT)
    end_time = TimeField(_l("Kết thúc"), validators=[InputRequired("Nhập giờ kết thúc (HH:MM).")], **TIME_INPUT)

    def validate_end_time(self, field):
        if self.start_time.data and field.data and field.data <= self.start_time.data:
            raise FieldError("Giờ kết thúc phải sau giờ bắt đầu.")

    def instants(self):
        return (local_to_utc(datetime.combine(self.day.data, self.start_time.data)),
                local_to_utc(datetime.combine(self.day.data, self.end_time.data)))
