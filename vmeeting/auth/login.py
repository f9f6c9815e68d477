"""Sign-in for pages: Flask-Login's set-up, the loader of a signed-in user, and the answer to a signed-out request."""

import hmac

from flask import flash, g, redirect, request
from flask_babel import gettext
from flask_login.utils import login_url

from vmeeting.auth.service import user_and_session
from vmeeting.core.bounds import query_id
from vmeeting.core.extensions import login_manager
from vmeeting.core.jsonapi import error_response
from vmeeting.core.text import N_


def init_login(app):
    """Set up Flask-Login for app: the sign-in page, the session loader, and what a signed-out request gets."""
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = N_("Vui lòng đăng nhập để tiếp tục.")  # flashed in the page's language
    login_manager.login_message_category = "warning"
    login_manager.session_protection = "strong"

    @login_manager.unauthorized_handler
    def unauthorized():
        """Send a person to sign in; answer a page's script 401 instead.

        A script's request (the Fetch spec's Sec-Fetch-Mode is not `navigate`:
        a calendar move, the readiness board's poll, a fragment) that followed
        the redirect would read the sign-in page as a 200 answer: a move shown
        as done and not saved, a sign-in form pasted into the page, and the
        "please sign in" message spent where nobody sees it.
        """
        if request.headers.get("Sec-Fetch-Mode", "navigate") not in ("navigate", "nested-navigate"):
            return error_response(401, "signed_out",
                                  gettext("Phiên đăng nhập đã kết thúc. Hãy tải lại trang để đăng nhập."))
        flash(gettext(login_manager.login_message), login_manager.login_message_category)
        return redirect(login_url(login_manager.login_view, next_url=request.url))

    @login_manager.user_loader
    def load_user(stamped_id):
        """Load the signed-in user from `id:stamp:key` (User.get_id).

        A cookie from before a password change loads nobody (the stamp), nor
        one whose server-side session has ended: signed out, "sign out
        everywhere", or expired.
        """
        user_id, _, rest = stamped_id.partition(":")
        stamp, _, key = rest.partition(":")
        try:
            user, session_open = user_and_session(query_id(user_id), key)
        except ValueError:
            return None
        if user is None or not user.is_enabled:
            return None
        if not hmac.compare_digest(stamp, user.session_stamp):
            g.stale_sign_in = True
            return None
        if not session_open:
            g.ended_sign_in = True
            return None
        user.session_key = key
        return user
