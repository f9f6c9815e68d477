"""Meetings, their occurrences and the reservations that keep sites from double-booking."""


def init_app(app):
    """Wire booking into app: its API, its pages (the calendar's routes join them), and its guard on the registry.

    Its scopes and approvals (issue 27) gate every change (scope_gates, invite_holds); what they tell
    people goes to approvals.approval_listeners, which vmeeting.approvals (mails, the tick) connects to.
    The capabilities above booking connect to its hooks (change_listeners,
    warning_sources, site_issue_listeners, roll_call_hint_sources: booking.hooks,
    named in booking.service) from their own init_app.
    """
    # imported here, not at the top: importing the package (a model, a service) must not load its pages
    from vmeeting.booking import api, service, views
    from vmeeting.booking import calendar, pickers  # noqa: F401 (the calendar's and the pickers' routes of views.bp)
    from vmeeting.booking import sitting_views  # noqa: F401 (cancel and move pages: routes of views.bp)
    from vmeeting.booking import summary  # noqa: F401 (the meeting summary's live counts: routes of views.bp)
    from vmeeting.booking import approval_views, approvals
    from vmeeting.registry import service as registry

    app.register_blueprint(api.bp)
    app.register_blueprint(views.bp)
    registry.retire_guards.connect(app, service.guard_retire)
    # scopes and approvals (issue 27): a booking across scopes waits, its invites with it
    service.scope_gates.connect(app, approvals.screen_change)
    service.invite_holds.connect(app, approvals.invites_held)
    app.register_blueprint(approval_views.bp)
    approval_views.init_menu(app)
