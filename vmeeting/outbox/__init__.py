"""Mail as infrastructure: the queue, building on first send, delivery with retries, exactly once."""


def init_app(app):
    """Wire the outbox's page and, with WEBHOOK_URL, its webhook tick into app; the capabilities that mail
    register their builders from their init_app. WEBHOOK_URL without WEBHOOK_SECRET stops the start."""
    # imported here, not at the top: importing the package (a model, a service) must not load its pages
    from vmeeting import jobs
    from vmeeting.outbox import views, webhooks

    if app.config.get("WEBHOOK_URL") and not app.config.get("WEBHOOK_SECRET"):
        raise RuntimeError("WEBHOOK_URL is set without WEBHOOK_SECRET: the receiver could not tell our posts "
                           "from anyone's (README, Configuration)")
    jobs.add_tick(app, "outbox.webhooks", webhooks.deliver_webhooks, seconds=15)
    app.register_blueprint(views.bp)
