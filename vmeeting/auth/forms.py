"""Sign-in and user forms."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Email, Length, Optional

from vmeeting.auth.models import ROLES

ROLE_LABELS = {
    "admin": "Quản trị",
    "scheduler": "Văn phòng (đặt lịch)",
    "technician": "Kỹ thuật viên",
    "viewer": "Xem",
}


class LoginForm(FlaskForm):
    username = StringField(_l("Tên đăng nhập"), validators=[DataRequired("Nhập tên đăng nhập."), Length(max=64)])
    password = PasswordField(_l("Mật khẩu"), validators=[DataRequired("Nhập mật khẩu.")])
    remember = BooleanField(_l("Ghi nhớ trên máy này"))


class UserForm(FlaskForm):
    username = StringField(_l("Tên đăng nhập"), validators=[DataRequired("Nhập tên đăng nhập."), Length(max=64)])
    full_name = StringField("Họ và tên", validators=[Length(max=200)])
    email = EmailField("Thư điện tử", validators=[Optional(), Email("Địa chỉ thư không hợp lệ.")])
    role = SelectField("Vai trò", choices=[(r, ROLE_LABELS[r]) for r in ROLES])
    password = PasswordField(_l("Mật khẩu"), validators=[Optional(), Length(min=8, message="Mật khẩu cần ít nhất 8 ký tự.")])
