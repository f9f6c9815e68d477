"""Sign-in, sign-out, user management and the account page."""

from flask import Blueprint, abort, current_app, flash, g, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from vmeeting.auth import home_unit, service
from vmeeting.auth.forms import ROLE_LABELS, LoginForm, PasswordChangeForm, UserCreateForm, UserEditForm
from vmeeting.auth.guards import permission_required
from vmeeting.auth.models import User
from vmeeting.core.errors import ValidationError
from vmeeting.core.extensions import db
from vmeeting.core.text import shown
from vmeeting.core.urls import safe_next_url

bp = Blueprint("auth", __name__)

@bp.before_app_request
def end_stale_session():
    """Say why a browser is asked to sign in again: a password change, or its session ended elsewhere."""
    if request.path.startswith(("/api/", "/static/")) or current_user.is_authenticated:
        return
    if g.pop("stale_sign_in", False):
        logout_user()  # also drops the remember-me cookie
        flash(_("Mật khẩu đã được đổi. Vui lòng đăng nhập lại."), "warning")
    elif g.pop("ended_sign_in", False):
        logout_user()
        flash(_("Phiên đăng nhập đã kết thúc (đã đăng xuất ở nơi khác hoặc quá hạn). Vui lòng đăng nhập lại."),
              "warning")


def _keep_this_browser_signed_in(user):
    """After one's own password change, re-stamp this browser's session (and its remember-me cookie)."""
    remembered = current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token") in request.cookies
    login_user(user, remember=remembered)


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Sign in with a user name and password; repeated failures are slowed down."""
    next_url = safe_next_url(request.values.get("next"))
    if current_user.is_authenticated:
        return redirect(next_url or url_for("home.index"))
    form = LoginForm()
    if form.validate_on_submit():
        try:
            user = service.authenticate(form.username.data, form.password.data, request.remote_addr)
        except service.SignInRefused as refused:
            db.session.commit()  # the failed attempt must count
            if refused.is_throttled:
                form.password.errors.append(_(
                    "Đăng nhập sai quá nhiều lần từ máy này. Vui lòng chờ %(wait)s rồi thử lại.",
                    wait=_wait_text(refused.retry_after)))
                page = render_template("auth/login.html", form=form, next=next_url)
                return page, 429, {"Retry-After": str(refused.retry_after)}
            if refused.is_disabled:
                form.password.errors.append(_("Tài khoản này đã bị khóa. Vui lòng liên hệ quản trị viên."))
            else:
                form.password.errors.append(_("Tên đăng nhập hoặc mật khẩu không đúng."))
        else:
            service.start_session(user, request.remote_addr, request.user_agent.string)
            db.session.commit()
            login_user(user, remember=form.remember.data)
            return redirect(next_url or url_for("home.index"))
    return render_template("auth/login.html", form=form, next=next_url)


def _wait_text(seconds):
    if seconds < 90:
        return _("%(n)s giây", n=seconds)
    return _("%(n)s phút", n=-(-seconds // 60))


@bp.post("/logout")
@login_required
def logout():
    """Sign out: this browser's session ends on the server, so a copy of its cookies no longer works."""
    service.end_session(current_user.session_key)
    db.session.commit()
    logout_user()
    flash(_("Đã đăng xuất."), "info")
    return redirect(url_for("auth.login"))


@bp.post("/account/sessions/end")
@login_required
def logout_everywhere():
    """Sign out everywhere: end every session of one's own, on every browser and device, this one included."""
    count = service.end_sessions(current_user)
    db.session.commit()
    logout_user()
    flash(_("Đã đăng xuất khỏi %(n)s phiên trên mọi thiết bị.", n=count), "info")
    return redirect(url_for("auth.login"))


# -- user management (admins) -------------------------------------------------------


@bp.get("/users")
@permission_required("users.manage")
def users():
    """List every user with role, e-mail, state and last sign-in."""
    rows = db.session.scalars(service.users_select()).all()
    return render_template("auth/users.html", users=rows, role_labels=ROLE_LABELS)


@bp.route("/users/new", methods=["GET", "POST"])
@permission_required("users.manage")
def create_user():
    """Create a user with a role and a first password."""
    form = UserCreateForm()
    form.set_units(home_unit.unit_choices())
    if form.validate_on_submit():
        try:
            user = service.create_user(
                form.username.data, form.role.data, email=form.email.data, password=form.password.data,
                full_name=form.full_name.data, agency=form.agency.data, actor=current_user,
            )
            home_unit.set_home_unit(user, form.home_unit_value(), actor=current_user)
            home_unit.set_approves(user, form.approves.data, actor=current_user)
        except ValidationError as exc:
            db.session.rollback()
            _show_errors(form, exc)
        else:
            db.session.commit()
            flash(_("Đã tạo người dùng %(name)s.", name=user.username), "success")
            return redirect(url_for("auth.edit_user", user_id=user.id))
    return render_template("auth/user_form.html", form=form, user=None)


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
@permission_required("users.manage")
def edit_user(user_id):
    """Change a user's role, name, agency, e-mail, enabled state or password; list their API tokens."""
    user = db.get_or_404(User, user_id)
    form = UserEditForm(obj=user)
    form.set_units(home_unit.unit_choices(), user.home_unit)
    if form.validate_on_submit():
        data = {"role": form.role.data, "full_name": form.full_name.data, "agency": form.agency.data,
                "email": form.email.data, "is_enabled": form.is_enabled.data, "password": form.password.data or None}
        try:
            service.update_user(user, data, actor=current_user)
            home_unit.set_home_unit(user, form.home_unit_value(), actor=current_user)
            home_unit.set_approves(user, form.approves.data, actor=current_user)
        except ValidationError as exc:
            db.session.rollback()
            _show_errors(form, exc)
        else:
            db.session.commit()
            if user.id == current_user.id:  # a new password ends other sessions, not this one
                _keep_this_browser_signed_in(user)
            flash(_("Đã lưu người dùng %(name)s.", name=user.username), "success")
            if not current_user.can("users.manage"):  # an admin who just stepped down
                return redirect(url_for("auth.account"))
            return redirect(url_for("auth.users"))
    return _user_page(user, form)


@bp.post("/users/<int:user_id>/tokens")
@permission_required("users.manage")
def issue_user_token(user_id):
    """Issue an API token for a user and show it once."""
    user = db.get_or_404(User, user_id)
    token = service.issue_token(user, actor=current_user)
    db.session.commit()
    form = UserEditForm(obj=user, formdata=None)
    form.set_units(home_unit.unit_choices(), user.home_unit)
    return _no_store(_user_page(user, form, new_token=token))


@bp.post("/users/<int:user_id>/tokens/<int:token_id>/revoke")
@permission_required("users.manage")
def revoke_user_token(user_id, token_id):
    """Revoke one of a user's API tokens."""
    user = db.get_or_404(User, user_id)
    _revoke(user, token_id)
    return redirect(url_for("auth.edit_user", user_id=user.id))


def _user_page(user, form, new_token=None):
    tokens = db.session.scalars(service.tokens_select(user)).all()
    return render_template("auth/user_form.html", form=form, user=user, tokens=tokens, new_token=new_token)


# -- my account ---------------------------------------------------------------------


@bp.get("/account")
@login_required
def account():
    """Show the signed-in user's password form and API tokens."""
    return _account_page(PasswordChangeForm())


@bp.post("/account/password")
@login_required
def change_password():
    """Change one's own password after giving the current one."""
    form = PasswordChangeForm()
    if form.validate_on_submit():
        try:
            service.change_own_password(current_user, form.current_password.data, form.new_password.data)
        except ValidationError as exc:
            db.session.rollback()
            _show_errors(form, exc)
        else:
            db.session.commit()
            # This browser stays signed in; every other session of the user ends.
            _keep_this_browser_signed_in(current_user._get_current_object())
            flash(_("Đã đổi mật khẩu."), "success")
            return redirect(url_for("auth.account"))
    return _account_page(form)


@bp.post("/account/tokens")
@login_required
def issue_token():
    """Issue an API token for oneself and show it once."""
    token = service.issue_token(current_user, actor=current_user)
    db.session.commit()
    return _no_store(_account_page(PasswordChangeForm(formdata=None), new_token=token))


@bp.post("/account/tokens/<int:token_id>/revoke")
@login_required
def revoke_token(token_id):
    """Revoke one of one's own API tokens."""
    _revoke(current_user, token_id)
    return redirect(url_for("auth.account"))


def _account_page(form, new_token=None):
    tokens = db.session.scalars(service.tokens_select(current_user)).all()
    sessions = db.session.scalars(service.sessions_select(current_user)).all()
    return render_template("auth/account.html", form=form, tokens=tokens, new_token=new_token,
                           role_labels=ROLE_LABELS, sessions=sessions,
                           this_session=service.session_key_hash(current_user.session_key))


def _revoke(user, token_id):
    api_token = service.get_token(user, token_id)
    if api_token is None:
        abort(404)
    service.revoke_token(api_token, actor=current_user)
    db.session.commit()
    flash(_("Đã thu hồi mã %(prefix)s…", prefix=api_token.prefix), "success")


def _show_errors(form, exc):
    """Put a service's field errors under the form's fields, the rest at the top, in the page's language."""
    for field, reason in exc.fields.items():
        reason = shown(reason)
        if field in form and field != "csrf_token":
            form[field].errors = [*form[field].errors, reason]
        else:
            flash(reason, "danger")


def _no_store(body):
    # The page shows a secret once: no cache, no back-button copy.
    response = make_response(body)
    response.headers["Cache-Control"] = "no-store"
    return response
