"""The today board: reads the other capabilities, writes nothing; the health check and the language switch."""


def init_app(app):
    """Wire the today board, the health check and the language switch into app."""
    # imported here, not at the top: importing the package (a model, a service) must not load its pages
    from vmeeting.home import views

    app.register_blueprint(views.bp)
