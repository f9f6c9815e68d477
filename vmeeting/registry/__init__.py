"""Administrative units, endpoints (conference sites), bridges and groups."""


def init_app(app):
    """Wire the registry into app: its pages (the import and export routes join them) and its API."""
    # imported here, not at the top: importing the package (a model, a service) must not load its pages
    from vmeeting.registry import api, views
    from vmeeting.registry import transfer_views  # noqa: F401 (the import/export pages: routes of views.bp)
    from vmeeting.registry import unit_views  # noqa: F401 (the units pages as of a day: routes of views.bp)

    from vmeeting.auth import home_unit
    from vmeeting.registry import service

    app.register_blueprint(views.bp)
    app.register_blueprint(api.bp)
    # the units a user's home unit is chosen from: those valid on the day, in tree order
    home_unit.unit_directory.connect(app, "choices", service.unit_choices)
