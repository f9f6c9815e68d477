"""Sign-in, sign-out and the account page."""

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user

from vmeeting.auth import service
from vmeeting.auth.forms import LoginForm
from vmeeting.extensions import db
from vmeeting.urls import safe_next_url

bp = Blueprint("auth", __name__)


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Sign in with a user name and password; repeated failures are slowed down."""
    next_url = safe_next_url(request.values.get("next"))
    if current_user.is_authenticated:
        return redirect(next_url or url_for("main.index"))
    form = LoginForm()
    if form.validate_on_submit():
        try:
            user = service.authenticate(form.username.data, form.password.data, request.remote_addr)
        except service.SignInRefused as refused:
            db.session.commit()  # the failed attempt must count
            if refused.is_throttled:
                form.password.errors.append(
                    "Đăng nhập sai quá nhiều lần. Vui lòng chờ vài phút rồi thử lại."
                )
                return render_template("auth/login.html", form=form, next=next_url), 429
            form.password.errors.append("Tên đăng nhập hoặc mật khẩu không đúng.")
        else:
            db.session.commit()
            login_user(user, remember=form.remember.data)
            return redirect(next_url or url_for("main.index"))
    return render_template("auth/login.html", form=form, next=next_url)


@bp.post("/logout")
@login_required
def logout():
    """Sign out."""
    logout_user()
    flash("Đã đăng xuất.", "info")
    return redirect(url_for("auth.login"))
