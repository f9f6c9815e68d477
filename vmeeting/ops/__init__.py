"""Running vmeeting in production: the readiness check, the database copy, metrics and structured logs."""


def init_app(app):
    """Wire the operator's routes (`/readyz`, `/metrics`), commands (`flask db copy-to`) and request hooks into app."""
    from vmeeting.ops import copy, health, metrics

    app.register_blueprint(health.bp)
    metrics.init_app(app)
    copy.register(app)
