"""Sign-in, user and account forms."""

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, EmailField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Email, EqualTo, Length, Optional

try:
    from wtforms.fields.choices import SelectChoice
except ImportError:  # WTForms before 3.3 takes (value, label) tuples
    def SelectChoice(value, label):  # noqa: N802 (stands in for the class)
        return value, label

from vmeeting.auth.models import ROLES
from vmeeting.auth.service import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH
from vmeeting.core.forms_i18n import AppForm

ROLE_LABELS = {
    "admin": _l("Quản trị"),
    "scheduler": _l("Văn phòng (đặt lịch)"),
    "technician": _l("Kỹ thuật viên"),
    "viewer": _l("Người xem"),
}

_PASSWORD_LENGTH = Length(
    min=MIN_PASSWORD_LENGTH, max=MAX_PASSWORD_LENGTH,
    message=_l("Mật khẩu cần từ %(min)d đến %(max)d ký tự."),  # Length fills in min and max
)


class LoginForm(AppForm):
    """User name and password."""

    username = StringField(_l("Tên đăng nhập"), validators=[DataRequired(_l("Nhập tên đăng nhập.")), Length(max=64)])
    password = PasswordField(
        _l("Mật khẩu"), validators=[DataRequired(_l("Nhập mật khẩu.")), Length(max=MAX_PASSWORD_LENGTH)]
    )
    remember = BooleanField(_l("Ghi nhớ trên máy này"))


class _ProfileFields(AppForm):
    full_name = StringField(_l("Họ và tên"), validators=[Length(max=200, message=_l("Tối đa 200 ký tự."))])
    agency = StringField(_l("Cơ quan"), description=_l("Cơ quan mời ghi trên thư mời họp, ví dụ Văn phòng UBND tỉnh."),
                         validators=[Length(max=200, message=_l("Tối đa 200 ký tự."))])
    email = EmailField(_l("Thư điện tử"), validators=[Optional(), Email(_l("Địa chỉ thư không hợp lệ."))])
    role = SelectField(_l("Vai trò"), choices=[(r, ROLE_LABELS[r]) for r in ROLES])
    #: the choices are today's units (home_unit.unit_choices), set by the view; the service checks the value
    home_unit_id = SelectField(_l("Đơn vị công tác"), choices=[], validate_choice=False,
                               description=_l("Đơn vị hành chính người dùng làm việc (đang có hiệu lực);"
                                              " để trống nếu thuộc văn phòng tỉnh."))
    #: issue 27: approves bookings of the home unit's sites (and below) made by others; with no home unit, the
    #: province office's approver
    approves = BooleanField(_l("Duyệt lịch họp dùng điểm cầu của đơn vị"),
                            description=_l("Người duyệt nhận yêu cầu khi người ngoài đơn vị đặt lịch có điểm cầu "
                                           "của đơn vị mình (và các đơn vị trực thuộc)."))

    def set_units(self, choices, current=None):
        """Offer the units (id, name, depth), and the user's current one if it has ended since."""
        self.home_unit_id.choices = [SelectChoice("", _l("— Không thuộc đơn vị nào —"))] + [
            SelectChoice(str(unit_id), "\u00a0\u00a0" * depth + name) for unit_id, name, depth in choices]
        if current is not None and current.id not in {c[0] for c in choices}:
            self.home_unit_id.choices.append(SelectChoice(str(current.id), _l("%(name)s (đã kết thúc)", name=current.name)))
        if self.home_unit_id.data is None and current is not None:
            self.home_unit_id.data = str(current.id)

    def home_unit_value(self):
        """The chosen unit's id, None for no unit, or 0 for what is no id (which the service refuses)."""
        raw = (self.home_unit_id.data or "").strip()
        if not raw:
            return None
        return int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 12 else 0


class UserCreateForm(_ProfileFields):
    """A new user: name, role, contact and a first password."""

    username = StringField(
        _l("Tên đăng nhập"),
        validators=[DataRequired(_l("Nhập tên đăng nhập.")), Length(max=64, message=_l("Tối đa 64 ký tự."))],
    )
    password = PasswordField(_l("Mật khẩu"), validators=[DataRequired(_l("Nhập mật khẩu.")), _PASSWORD_LENGTH])


class UserEditForm(_ProfileFields):
    """An existing user: role, contact, enabled, and optionally a new password."""

    is_enabled = BooleanField(_l("Đang hoạt động"))
    password = PasswordField(
        _l("Mật khẩu mới"),
        description=_l("Để trống nếu không đổi."),
        validators=[Optional(), _PASSWORD_LENGTH],
    )


class PasswordChangeForm(AppForm):
    """Change one's own password: the current one, then the new one twice."""

    current_password = PasswordField(_l("Mật khẩu hiện tại"), validators=[DataRequired(_l("Nhập mật khẩu hiện tại."))])
    new_password = PasswordField(_l("Mật khẩu mới"),
                                 validators=[DataRequired(_l("Nhập mật khẩu mới.")), _PASSWORD_LENGTH])
    confirm_password = PasswordField(
        _l("Nhập lại mật khẩu mới"),
        validators=[DataRequired(_l("Nhập lại mật khẩu mới.")),
                    EqualTo("new_password", _l("Hai mật khẩu không khớp."))],
    )

