"""Attendance: the roll-call of each sitting and its reports."""


def init_app(app):
    """Wire attendance into app: its pages and its API."""
    # imported here, not at the top: importing the package (a model, a service) must not load its pages
    from vmeeting.attendance import api, views

    app.register_blueprint(views.bp)
    app.register_blueprint(api.bp)
