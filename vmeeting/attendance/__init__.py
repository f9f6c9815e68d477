"""Attendance: the roll-call of each sitting and its reports."""


def init_app(app):
    """Wire attendance into app: its pages and its API."""
    from vmeeting.attendance import api, views

    app.register_blueprint(views.bp)
    app.register_blueprint(api.bp)
