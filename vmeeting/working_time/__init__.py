"""The working calendar: hours, public holidays (Tết included), declared days off and working days."""


def init_app(app):
    """Wire the working calendar into app: its page and its API."""
    # imported here, not at the top: importing the package (a model, a service) must not load its pages
    from vmeeting.working_time import api, views

    app.register_blueprint(views.bp)
    app.register_blueprint(api.bp)
