"""The network: every site's live state from periodic sweeps, alarms and incidents."""


def init_app(app):
    """Wire the network into app: the sweep tick, what booking hears from it, its pages and API.

    Booking's warnings about a site come from its state and open incidents; a
    technician's report of a problem opens an incident; a sitting's roll-call
    is prefilled from the sweeps; each site's condition (state, open incident)
    goes into readiness's one verdict per site.
    """
    # imported here, not at the top: importing the package (a model, a service) must not load its pages
    from vmeeting import jobs
    from vmeeting.booking import service as booking
    from vmeeting.network import api, service, views
    from vmeeting.network import jobs as network_jobs

    booking.warning_sources.connect(app, service.state_warnings)
    booking.site_issue_listeners.connect(app, service.incident_from_report)
    booking.roll_call_hint_sources.connect(app, service.sweep_roll_call_hints)
    booking.site_condition_sources.connect(app, service.site_conditions)
    jobs.add_tick(app, "network.sweep", network_jobs.sweep_tick, seconds=network_jobs.TICK_SECONDS)
    app.register_blueprint(views.bp)
    app.register_blueprint(api.bp)
