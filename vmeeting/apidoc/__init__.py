"""The API's own description: the OpenAPI document and its reference page."""


def init_app(app):
    """Wire the API's reference page and document into app."""
    # imported here, not at the top: importing the package (a model, a service) must not load its pages
    from vmeeting.apidoc import views

    app.register_blueprint(views.bp)
