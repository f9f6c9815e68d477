"""The permission checks every page and API route goes through."""

from functools import wraps

from flask import abort, g
from flask_login import current_user

from vmeeting.core.extensions import login_manager


def permission_required(permission):
    """Guard a page: anonymous users go to sign-in, users without the permission get 403."""

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if not current_user.can(permission):
                abort(403)
            return view(*args, **kwargs)

        wrapped.permission = permission
        return wrapped

    return decorator


def api_permission_required(permission):
    """Guard an API route: 401 without a valid bearer token, 403 without the permission."""

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            user = g.get("api_user")
            if user is None:
                abort(401)
            if not user.can(permission):
                abort(403)
            return view(*args, **kwargs)

        wrapped.permission = permission
        return wrapped

    return decorator
