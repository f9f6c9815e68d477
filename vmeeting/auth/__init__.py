"""Users, roles, API tokens, sign-in and the permission checks."""


def init_app(app):
    """Wire auth into app: sign-in (Flask-Login's loader), the API's bearer tokens, its pages, its ticks."""
    # imported here, not at the top: importing the package (a model, a service) must not load its pages
    from vmeeting import jobs
    from vmeeting.auth import jobs as auth_jobs
    from vmeeting.auth import views
    from vmeeting.auth.login import init_login
    from vmeeting.auth.service import user_for_token
    from vmeeting.core.jsonapi import set_token_user

    init_login(app)
    set_token_user(app, user_for_token)
    app.register_blueprint(views.bp)
    jobs.add_tick(app, "auth.prune_login_attempts", auth_jobs.prune_login_attempts, seconds=3600)
    jobs.add_tick(app, "auth.prune_sessions", auth_jobs.prune_sessions, seconds=3600)
