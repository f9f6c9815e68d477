"""Administrative units, endpoints (conference sites), bridges and groups."""


def init_app(app):
    """Wire the registry into app: its pages (the import and export routes join them) and its API."""
    from vmeeting.registry import api, views
    from vmeeting.registry import transfer_views  # noqa: F401 (the import/export pages: routes of views.bp)

    app.register_blueprint(views.bp)
    app.register_blueprint(api.bp)
