"""Running vmeeting in production: the readiness check, the database copy, metrics and structured logs."""


def init_app(app):
    """Wire the operator's routes (`/readyz`) and commands (`flask db copy-to`) into app."""
    from vmeeting.ops import copy, health

    app.register_blueprint(health.bp)
    copy.register(app)
