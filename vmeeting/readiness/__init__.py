"""Readiness: technicians' confirmations, probes before a meeting, the board and escalation."""


def init_app(app):
    """Wire readiness into app: the probe and escalation ticks, the roll-call's hints, each sitting's counts
    for the pages below (booking.sitting_summaries), its pages and API."""
    # imported here, not at the top: importing the package (a model, a service) must not load its pages
    from vmeeting import jobs
    from vmeeting.booking import service as booking
    from vmeeting.readiness import api, service, views
    from vmeeting.readiness import jobs as readiness_jobs

    booking.roll_call_hint_sources.connect(app, service.readiness_roll_call_hints)
    booking.sitting_summary_sources.connect(app, service.summaries)
    jobs.add_tick(app, "readiness.probes", readiness_jobs.probe_tick)
    jobs.add_tick(app, "readiness.escalations", readiness_jobs.escalation_tick)
    app.register_blueprint(views.bp)
    app.register_blueprint(api.bp)
