"""The booking form: local date and times in, UTC instants and an RRULE out."""

from datetime import datetime, timezone

import sqlalchemy as sa
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    DateField,
    HiddenField,
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

from vmeeting.core.database import utcnow
from vmeeting.core.extensions import db
from vmeeting.core.forms_i18n import DATE_FORMATS, DATE_INPUT, AppForm
from vmeeting.booking.models import MEETING_PRIORITIES
from vmeeting.booking.priority import DEFAULT_PRIORITY, allowed_priorities
from vmeeting.booking.priority import LABELS as PRIORITY_LABELS
from vmeeting.booking.service import BookingChoices
from vmeeting.booking.sites import (
    PICKER_INLINE_SITES,
    TREE_INLINE_UNITS,
    covering_units,
    offered_site_count,
    site_options,
    unit_options,
)
from vmeeting.registry import service as registry
from vmeeting.registry.models import Bridge, EndpointGroup
from vmeeting.core.timefmt import local_to_utc, to_local

FREQUENCIES = [("", _l("Không lặp")), ("DAILY", _l("Hằng ngày")), ("WEEKLY", _l("Hằng tuần")),
               ("MONTHLY", _l("Hằng tháng"))]
#: how a monthly series picks its day, and the RRULE part each adds (None: the meeting day's number)
MONTHLY_BY = [("day", _l("Cùng ngày trong tháng")), ("last_day", _l("Ngày cuối tháng")),
              ("first_weekday", _l("Thứ (của ngày họp) đầu tiên trong tháng")),
              ("last_weekday", _l("Thứ (của ngày họp) cuối cùng trong tháng"))]
#: the frequency choice that keeps a stored rule the form cannot show
KEEP_RULE = "KEEP"
#: the most "every N days/weeks/months" the form offers (the series' 2-year bound comes first anyway)
MAX_INTERVAL = 99
WEEKDAYS = [("MO", _l("Thứ Hai")), ("TU", _l("Thứ Ba")), ("WE", _l("Thứ Tư")), ("TH", _l("Thứ Năm")),
            ("FR", _l("Thứ Sáu")), ("SA", _l("Thứ Bảy")), ("SU", _l("Chủ Nhật"))]
#: times are typed HH:MM, 24-hour, whatever the browser's locale would show in a time picker
TIME_INPUT = {"format": "%H:%M", "widget": TextInput(),
              "render_kw": {"placeholder": "HH:MM", "inputmode": "numeric", "pattern": "[0-2][0-9]:[0-5][0-9]"}}


#: WTForms' message id for choices not offered (forms_i18n says it in Vietnamese, naming the field)
NOT_OFFERED = "'%(value)s' is not a valid choice for this field."


class MultiIdField(SelectMultipleField):
    """A multiple select of ids that accepts only the offered choices."""

    def pre_validate(self, form):
        offered = {str(value) for value, _label in self.choices or []}
        bad = [str(v) for v in self.data or [] if str(v) not in offered]
        if bad:
            raise FieldError(self.gettext(NOT_OFFERED) % {"value": "', '".join(bad)})


def repeat_fields(rule, start):
    """What the form's repeat fields show for a stored RRULE, or None when they cannot show all of it.

    start: the series' first local start (a weekly rule without BYDAY repeats on its weekday).
    """
    try:
        parts = dict(part.split("=", 1) for part in rule.upper().split(";") if part)
    except ValueError:
        return None
    if (not set(parts) <= {"FREQ", "INTERVAL", "BYDAY", "BYMONTHDAY", "COUNT", "UNTIL"}
            or ("COUNT" in parts) == ("UNTIL" in parts)):
        return None
    frequency = parts.get("FREQ")
    if frequency not in {code for code, _label in FREQUENCIES if code}:
        return None
    codes = [code for code, _name in WEEKDAYS]
    monthly_by = "day"
    if frequency == "MONTHLY":
        monthly_by = _monthly_by(parts, codes[start.weekday()])
        if monthly_by is None:
            return None
        weekdays = []
    else:
        if "BYMONTHDAY" in parts:
            return None
        weekdays = parts["BYDAY"].split(",") if "BYDAY" in parts else []
    if weekdays and (frequency != "WEEKLY" or not set(weekdays) <= set(codes) or len(set(weekdays)) < len(weekdays)):
        return None
    if frequency == "WEEKLY" and not weekdays:
        weekdays = [codes[start.weekday()]]
    fields = {"frequency": frequency, "weekdays": [c for c in codes if c in weekdays], "count": None, "until": None,
              "monthly_by": monthly_by}
    try:
        fields["interval"] = int(parts.get("INTERVAL", "1"))
        if "COUNT" in parts:
            fields["count"] = int(parts["COUNT"])
        else:
            until = to_local(datetime.strptime(parts["UNTIL"], "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc))
            # the form's until is a whole local day (service.normalize_rrule: end of that day)
            if (until.hour, until.minute, until.second) != (23, 59, 59):
                return None
            fields["until"] = until.date()
    except ValueError:
        return None
    if not 1 <= fields["interval"] <= MAX_INTERVAL or not 1 <= (fields["count"] or 1) <= 520:
        return None
    return fields


def _monthly_by(parts, weekday_code):
    """Which MONTHLY_BY choice a monthly rule is, or None when the form cannot show it."""
    if "BYMONTHDAY" in parts:
        return "last_day" if parts["BYMONTHDAY"] == "-1" and "BYDAY" not in parts else None
    if "BYDAY" not in parts:
        return "day"
    return {f"1{weekday_code}": "first_weekday", f"-1{weekday_code}": "last_weekday"}.get(parts["BYDAY"])


def site_label(site):
    """Name a site as the pickers show it: "UBND xã Hòa Bình (Bình Gia)", and its status when not active."""
    label = f"{site['name']} ({site['district']})" if site["district"] else site["name"]
    if site["status"] != "active":
        label += f" ({gettext(registry.CHOICE_LABELS['status'][site['status']]).lower()})"
    return label


class MeetingForm(AppForm):
    title = StringField(_l("Tên cuộc họp"), validators=[DataRequired(_l("Nhập tên cuộc họp.")), Length(max=300)])
    description = TextAreaField(_l("Nội dung, chương trình"), validators=[Length(max=20000)])
    day = DateField(_l("Ngày họp"), format=DATE_FORMATS,
                    validators=[InputRequired(_l("Nhập ngày họp (dd/mm/yyyy)."))], **DATE_INPUT)
    start_time = TimeField(_l("Bắt đầu"), validators=[InputRequired(_l("Nhập giờ bắt đầu (HH:MM)."))], **TIME_INPUT)
    end_time = TimeField(_l("Kết thúc"), validators=[InputRequired(_l("Nhập giờ kết thúc (HH:MM)."))], **TIME_INPUT)
    # the picker's empty choice posts "": read as 0, which InputRequired refuses by name
    chair_endpoint_id = SelectField(_l("Điểm cầu chủ tọa"), coerce=lambda v: 0 if v in ("", None) else int(v),
                                    validators=[InputRequired(_l("Chọn điểm cầu chủ tọa."))])
    all_endpoints = BooleanField(_l("Toàn tỉnh (mọi điểm cầu đang hoạt động)"))
    unit_ids = MultiIdField(_l("Đơn vị (gồm mọi điểm cầu trực thuộc)"), coerce=int)
    group_ids = MultiIdField(_l("Nhóm điểm cầu"), coerce=int)
    endpoint_ids = MultiIdField(_l("Điểm cầu riêng lẻ"), coerce=int)
    bridge_id = SelectField(_l("Cầu MCU"), coerce=lambda v: int(v) if v not in (None, "", "None") else None)
    setup_minutes = IntegerField(_l("Thời gian chuẩn bị, kiểm tra trước (phút)"), default=30,
                                 validators=[Optional(), NumberRange(0, 240, _l("Từ 0 đến 240 phút."))])
    frequency = SelectField(_l("Lặp lại"), choices=FREQUENCIES, default="")
    repeat_interval = IntegerField(_l("Cách nhau (số ngày, tuần, tháng)"), default=1, validators=[
        Optional(), NumberRange(1, MAX_INTERVAL, _l("Cách nhau: từ 1 đến %(max)s ngày, tuần hoặc tháng."))])
    weekdays = SelectMultipleField(_l("Vào các ngày"), choices=WEEKDAYS,
                                   widget=ListWidget(prefix_label=False), option_widget=CheckboxInput())
    repeat_until = DateField(_l("Đến ngày"), format=DATE_FORMATS, validators=[Optional()], **DATE_INPUT)
    repeat_count = IntegerField(_l("Hoặc số buổi"),
                                validators=[Optional(), NumberRange(1, 520, _l("Từ 1 đến 520 buổi."))])
    attendees = TextAreaField(_l("Người dự khác (thư điện tử, mỗi dòng một địa chỉ)"))
    monthly_by = SelectField(_l("Họp vào"), choices=MONTHLY_BY, default="day")
    skip_non_working = BooleanField(_l("Bỏ các buổi rơi vào ngày nghỉ, ngày lễ, Tết"), default=True)
    skip_conflicting = BooleanField(_l("Bỏ các buổi có điểm cầu đã bận"), default=False)
    allow_non_working_time = BooleanField(_l("Tôi xác nhận họp ngoài giờ hoặc ngoài ngày làm việc"))
    skip_busy = BooleanField(_l("Bỏ các điểm cầu bận"))
    #: the meeting's priority class (booking.priority): the classes the person may set are offered
    priority = SelectField(_l("Hạng ưu tiên"), default=DEFAULT_PRIORITY)
    #: the busy meetings a displacement's confirmation named (ids, comma-separated): only those give way
    displace_meeting_ids = HiddenField()
    #: the meeting's version when the form was opened: a save over someone else's change is refused
    version = HiddenField()
    #: an edited series' rule as stored, and the repeat fields as first shown (see rrule)
    stored_rule = HiddenField()
    repeat_shown = HiddenField()

    def __init__(self, *args, meeting=None, user=None, **kwargs):
        """meeting: the meeting being edited; its sites stay on offer though no longer bookable.

        user: who books; the priority classes offered are those they may set (and the meeting's own).
        """
        super().__init__(*args, **kwargs)
        offered = allowed_priorities(user)
        if meeting is not None and meeting.priority not in offered:
            offered = [name for name in MEETING_PRIORITIES if name in offered or name == meeting.priority]
        self.priority.choices = [(name, _l(PRIORITY_LABELS[name])) for name in offered]
        own = {e.id for e in meeting.endpoints} | {meeting.chair_endpoint_id} if meeting is not None else set()
        #: whether the pickers search the server: the page then carries only the sites chosen (and the meeting's)
        #: how many sites a booking may name (the pickers' hint when they search the server)
        self.site_count = offered_site_count(own)
        self.sites_searched = self.site_count > PICKER_INLINE_SITES
        self._own = own
        self._offer_sites()
        #: [((district, count), [(commune, count)])]: the units valid on the meeting's day (today until one
        #: is given) as a tree by district
        self.unit_groups = unit_options(self.day.data or to_local(utcnow()).date())
        #: whether the tree's communes are fetched when a district is opened (the country's thousands)
        self.units_fetched = sum(len(communes) for _head, communes in self.unit_groups) > TREE_INLINE_UNITS
        self.unit_ids.choices = [(unit.id, unit.name) for (unit, _n), communes in self.unit_groups
                                 for unit, _n in [(unit, _n), *communes]]
        self.group_ids.choices = [(g.id, g.name) for g in db.session.scalars(sa.select(EndpointGroup).order_by(EndpointGroup.name))]
        self.bridge_id.choices = [("", _l("Theo cầu MCU của từng điểm cầu"))] + [
            (b.id, _l("%(name)s (%(ports)s cổng)", name=b.name, ports=b.ports)) for b in db.session.scalars(
                sa.select(Bridge).where(Bridge.is_active.is_(True)).order_by(Bridge.code))]
        self._offer_keeping_the_rule()

    def _offer_sites(self):
        """Fill the pickers' choices: every site on offer, or, when they search the server, only the sites
        chosen (posted or filled) and a small meeting's own; a large meeting's own are ticked as units
        (fill_from), not carried one by one into the page."""
        chosen = None
        if self.sites_searched:
            posted = [self.chair_endpoint_id.data, *(self.endpoint_ids.data or [])]
            kept = self._own if len(self._own) <= PICKER_INLINE_SITES else set()
            chosen = kept | {value for value in posted if isinstance(value, int) and value > 0}
        #: the sites on offer, with district and search text, for the pickers (booking.sites.site_options)
        self.site_options = site_options(self._own, only_ids=chosen)
        for site in self.site_options:
            site["label"] = site_label(site)
        self.endpoint_ids.choices = [(site["id"], site["label"]) for site in self.site_options]
        self.chair_endpoint_id.choices = [(0, _l("— Chọn —"))] + self.endpoint_ids.choices

    def _offer_keeping_the_rule(self):
        """A stored rule the repeat fields cannot show may be kept as it is, read-only."""
        if self.shows_stored_rule_read_only and KEEP_RULE not in dict(self.frequency.choices):
            self.frequency.choices = [(KEEP_RULE, _l("Giữ quy tắc lặp hiện tại (xem bên dưới)")), *FREQUENCIES]

    @property
    def shows_stored_rule_read_only(self):
        """True when the meeting's stored rule says more than the repeat fields can show."""
        return bool(self.stored_rule.data) and repeat_fields(self.stored_rule.data, self._start() or datetime.now()) is None

    def _start(self):
        if self.day.data and self.start_time.data:
            return datetime.combine(self.day.data, self.start_time.data)
        return None

    def repeat_fingerprint(self):
        """The repeat fields (and the day they hang on) as one string, to tell whether they were changed."""
        return "|".join(str(value) for value in (
            self.frequency.data or "", self.repeat_interval.data or 1, self.monthly_by.data or "day",
            ",".join(d for d, _ in WEEKDAYS if d in (self.weekdays.data or [])),
            self.repeat_until.data or "", self.repeat_count.data or "", self.day.data or ""))

    def validate_chair_endpoint_id(self, field):
        if not field.data:
            raise FieldError(gettext("Chọn điểm cầu chủ tọa."))

    def validate_end_time(self, field):
        if self.start_time.data and field.data and field.data <= self.start_time.data:
            raise FieldError(gettext("Giờ kết thúc phải sau giờ bắt đầu."))

    def validate_weekdays(self, field):
        if self.frequency.data == "WEEKLY" and not field.data:
            raise FieldError(gettext("Chọn ít nhất một ngày trong tuần."))

    def validate_repeat_until(self, field):
        if self.frequency.data not in ("", KEEP_RULE) and not field.data and not self.repeat_count.data:
            raise FieldError(gettext("Cho biết ngày kết thúc hoặc số buổi."))
        if self.frequency.data not in ("", KEEP_RULE) and field.data and self.repeat_count.data:
            # RFC 5545 §3.3.10: UNTIL and COUNT MUST NOT occur in the same RRULE; say so rather than drop one
            raise FieldError(gettext("Chỉ chọn một trong hai: ngày kết thúc hoặc số buổi."))
        if field.data and self.day.data and field.data < self.day.data:
            raise FieldError(gettext("Ngày kết thúc lặp phải sau ngày họp."))

    def has_sites(self):
        return bool(self.all_endpoints.data or self.unit_ids.data or self.group_ids.data or self.endpoint_ids.data)

    def site_args(self):
        """The site selection, as resolve_sites takes it."""
        return {"endpoint_ids": self.endpoint_ids.data or [], "unit_ids": self.unit_ids.data or [],
                "group_ids": self.group_ids.data or [], "all_endpoints": bool(self.all_endpoints.data),
                "on_day": self.day.data}

    def when_text(self):
        """The day and times as typed, "dd/mm/yyyy HH:MM–HH:MM" (a review's old and new time); "" when unset."""
        if not (self.day.data and self.start_time.data and self.end_time.data):
            return ""
        return f"{self.day.data:%d/%m/%Y} {self.start_time.data:%H:%M}–{self.end_time.data:%H:%M}"

    def instants(self):
        """Return (starts_at, ends_at) in UTC from the local day and times."""
        starts = local_to_utc(datetime.combine(self.day.data, self.start_time.data))
        ends = local_to_utc(datetime.combine(self.day.data, self.end_time.data))
        return starts, ends

    def rrule(self):
        """Build the RRULE the choices describe, or None.

        An edited series whose repeat fields were left as shown keeps its stored rule
        word for word: the fields cannot say all a rule may (BYDAY=1MO, YEARLY...).
        """
        stored = self.stored_rule.data
        if stored and (self.frequency.data == KEEP_RULE or self.repeat_fingerprint() == self.repeat_shown.data):
            return stored
        if not self.frequency.data:
            return None
        parts = [f"FREQ={self.frequency.data}"]
        if self.repeat_interval.data and self.repeat_interval.data > 1:
            parts.append(f"INTERVAL={self.repeat_interval.data}")
        if self.frequency.data == "WEEKLY":
            parts.append("BYDAY=" + ",".join(d for d, _ in WEEKDAYS if d in self.weekdays.data))
        if self.frequency.data == "MONTHLY":
            weekday = WEEKDAYS[self.day.data.weekday()][0]
            parts += {"last_day": ["BYMONTHDAY=-1"], "first_weekday": [f"BYDAY=1{weekday}"],
                      "last_weekday": [f"BYDAY=-1{weekday}"]}.get(self.monthly_by.data, [])
        if self.repeat_count.data:
            parts.append(f"COUNT={self.repeat_count.data}")
        else:
            parts.append("UNTIL=" + self.repeat_until.data.strftime("%Y%m%d"))
        return ";".join(parts)

    def booking_choices(self, action):
        """The BookingChoices the form's boxes and the button pressed say."""
        return BookingChoices(
            allow_non_working_time=bool(self.allow_non_working_time.data) or action == "book_non_working",
            skip_non_working=bool(self.skip_non_working.data), skip_conflicting=bool(self.skip_conflicting.data),
            skip_busy=action == "skip_busy" or bool(self.skip_busy.data),
            displace_lower_priority=action == "displace", displace_meeting_ids=self.confirmed_displacement())

    def confirmed_displacement(self):
        """The busy meetings' ids the displacement's confirmation named; (0,) when it named none (nothing gives way)."""
        ids = tuple(int(part) for part in (self.displace_meeting_ids.data or "").split(",") if part.strip().isdigit())
        return ids or (0,)

    def meeting_fields(self):
        """The fields booking.service.validate_meeting takes."""
        starts_at, ends_at = self.instants()
        return {
            "title": self.title.data, "description": self.description.data, "starts_at": starts_at,
            "ends_at": ends_at, "chair_endpoint_id": self.chair_endpoint_id.data, "bridge_id": self.bridge_id.data,
            "setup_minutes": self.setup_minutes.data, "recurrence": self.rrule(),
            "attendees": self.attendees.data or "",
            # a post without the field (a script's) leaves an edited meeting's class as it is
            **({"priority": self.priority.data} if self.priority.raw_data else {}),
        }

    def fill_from(self, meeting):
        """Show an existing meeting's values for editing."""
        start = to_local(meeting.starts_at)
        self.title.data, self.description.data = meeting.title, meeting.description
        self.day.data, self.start_time.data = start.date(), start.time()
        self.end_time.data = to_local(meeting.ends_at).time()
        self.chair_endpoint_id.data, self.bridge_id.data = meeting.chair_endpoint_id, meeting.bridge_id
        self.setup_minutes.data = meeting.setup_minutes
        self.priority.data = meeting.priority
        self.attendees.data = "\n".join(meeting.attendees or [])
        self.endpoint_ids.data = [e.id for e in meeting.endpoints]
        if self.sites_searched and len(self.endpoint_ids.data) > PICKER_INLINE_SITES:
            # a national meeting's 10,000 sites as the units that hold them (the page weighs as a province's)
            self.unit_ids.data, self.endpoint_ids.data = covering_units(
                self.endpoint_ids.data, self.day.data, offered={value for value, _label in self.unit_ids.choices})
            self._offer_sites()
        if meeting.recurrence:
            self.stored_rule.data = meeting.recurrence
            shown = repeat_fields(meeting.recurrence, start)
            if shown is None:
                self.frequency.data = KEEP_RULE
                self._offer_keeping_the_rule()
            else:
                self.frequency.data, self.repeat_interval.data = shown["frequency"], shown["interval"]
                self.weekdays.data, self.monthly_by.data = shown["weekdays"], shown["monthly_by"]
                self.repeat_count.data, self.repeat_until.data = shown["count"], shown["until"]
            self.repeat_shown.data = self.repeat_fingerprint()


class CancelForm(AppForm):
    """Cancelling asks twice: the box must be ticked, so one click never cancels a 213-site meeting."""

    confirm = BooleanField(_l("Tôi xác nhận hủy; mọi điểm cầu và người dự sẽ nhận thư báo hủy"),
                           validators=[DataRequired(_l("Đánh dấu ô xác nhận để hủy."))])
    reason = TextAreaField(_l("Lý do hủy (ghi trong thư báo hủy)"), validators=[Length(max=500)])
    #: the meeting's version when the page was opened: a cancel over someone else's change is refused
    version = HiddenField()


class MoveOccurrenceForm(AppForm):
    day = DateField(_l("Ngày mới"), format=DATE_FORMATS, validators=[InputRequired(_l("Nhập ngày (dd/mm/yyyy)."))],
                    **DATE_INPUT)
    start_time = TimeField(_l("Bắt đầu"), validators=[InputRequired(_l("Nhập giờ bắt đầu (HH:MM)."))], **TIME_INPUT)
    end_time = TimeField(_l("Kết thúc"), validators=[InputRequired(_l("Nhập giờ kết thúc (HH:MM)."))], **TIME_INPUT)
    allow_non_working_time = BooleanField(_l("Tôi xác nhận họp ngoài giờ hoặc ngoài ngày làm việc"))
    #: the meeting's version when the page was opened: a move over someone else's change is refused
    version = HiddenField()

    def validate_end_time(self, field):
        if self.start_time.data and field.data and field.data <= self.start_time.data:
            raise FieldError(gettext("Giờ kết thúc phải sau giờ bắt đầu."))

    def instants(self):
        return (local_to_utc(datetime.combine(self.day.data, self.start_time.data)),
                local_to_utc(datetime.combine(self.day.data, self.end_time.data)))
