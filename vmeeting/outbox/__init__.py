"""Mail as infrastructure: the queue, building on first send, delivery with retries, exactly once."""


def init_app(app):
    """Wire the outbox's page into app; the capabilities that mail register their builders from their init_app."""
    # imported here, not at the top: importing the package (a model, a service) must not load its pages
    from vmeeting.outbox import views

    app.register_blueprint(views.bp)
