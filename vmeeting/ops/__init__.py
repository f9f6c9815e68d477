"""Running vmeeting in production: the readiness check, the database copy, metrics and structured logs."""


def init_app(app):
    """Wire the operator's routes (`/readyz`, `/metrics`), commands (`flask db copy-to`), request metrics and JSON logs into app."""
    from vmeeting.ops import copy, health, logs, metrics

    app.register_blueprint(health.bp)
    metrics.init_app(app)
    logs.init_app(app)
    copy.register(app)
