"""The API's own description: the OpenAPI document and its reference page."""


def init_app(app):
    """Wire the API's reference page and document into app."""
    from vmeeting.apidoc import views

    app.register_blueprint(views.bp)
