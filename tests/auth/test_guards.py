"""The two guards, called directly: who passes, who is sent to sign in, who gets 401 or 403.

The url_map walks (tests/walks) check every route × role through HTTP; these pin the guards'
own rule on one view each, so a change to the guard itself fails here first.
"""

import pytest
from flask import g
from flask_login import login_user, logout_user
from werkzeug.exceptions import Forbidden, Unauthorized

from vmeeting.auth.guards import api_permission_required, permission_required


def view(*args, **kwargs):
    """A view that tells what it was called with."""
    return {"args": args, "kwargs": kwargs}


@pytest.fixture
def guarded_page():
    return permission_required("meetings.book")(view)


@pytest.fixture
def guarded_api():
    return api_permission_required("meetings.book")(view)


def test_the_guards_keep_the_view_name_and_tell_its_permission(guarded_page, guarded_api):
    for guarded in (guarded_page, guarded_api):
        assert guarded.permission == "meetings.book"
        assert guarded.__name__ == "view" and guarded.__doc__ == view.__doc__


def test_a_page_sends_the_anonymous_to_sign_in(app, guarded_page):
    with app.test_request_context("/meetings/new?x=1"):
        response = guarded_page(7)
    assert response.status_code == 302
    assert response.location.startswith("/login")


@pytest.mark.parametrize("role, allowed", [("admin", True), ("scheduler", True), ("technician", False),
                                           ("viewer", False)])
def test_a_page_lets_through_exactly_the_roles_with_the_permission(app, make_user, guarded_page, role, allowed):
    user = make_user(role)
    with app.test_request_context("/"):
        login_user(user)
        if allowed:
            assert guarded_page(7, site=3) == {"args": (7,), "kwargs": {"site": 3}}
        else:
            with pytest.raises(Forbidden):
                guarded_page(7, site=3)
        logout_user()


def test_a_disabled_user_is_refused_the_api(app, make_user, guarded_api):
    user = make_user("admin")
    user.is_enabled = False
    with app.test_request_context("/api/v1/meetings"):
        g.api_user = user
        with pytest.raises(Forbidden):
            guarded_api()


def test_the_api_answers_401_without_a_user(app, guarded_api):
    with app.test_request_context("/api/v1/meetings"):
        g.api_user = None
        with pytest.raises(Unauthorized):
            guarded_api()
    with app.test_request_context("/api/v1/meetings"):
        with pytest.raises(Unauthorized):
            guarded_api()  # no bearer token read at all


@pytest.mark.parametrize("role, allowed", [("admin", True), ("scheduler", True), ("technician", False),
                                           ("viewer", False)])
def test_the_api_lets_through_exactly_the_roles_with_the_permission(app, make_user, guarded_api, role, allowed):
    with app.test_request_context("/api/v1/meetings"):
        g.api_user = make_user(role)
        if allowed:
            assert guarded_api(5, page=2) == {"args": (5,), "kwargs": {"page": 2}}
        else:
            with pytest.raises(Forbidden):
                guarded_api(5, page=2)
