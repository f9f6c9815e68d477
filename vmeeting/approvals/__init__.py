"""The approvals (issue 27; the rules are booking.approvals and booking.scopes): their API, their mails through
the outbox, and the worker's tick (reminders, the automatic refusal at the start). The inbox page is booking's
(booking.approval_views)."""


def init_app(app):
    """Wire the approvals' API, mails and tick: requests to their approvers, decisions to the booker; reminders
    and the automatic refusal at the start, every minute in the worker."""
    # imported here, not at the top: importing the package must not load the outbox or the worker
    from vmeeting import jobs
    from vmeeting.approvals import api
    from vmeeting.approvals import jobs as approval_jobs
    from vmeeting.approvals import mail
    from vmeeting.booking import approvals

    approvals.approval_listeners.connect(app, mail.on_approval)
    jobs.add_tick(app, "approvals.tick", approval_jobs.approvals_tick, seconds=60)
    app.register_blueprint(api.bp)
