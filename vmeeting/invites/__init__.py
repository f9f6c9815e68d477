"""Calendar invites: iCalendar building, the mail outbox, RSVP and calendar feeds."""


def init_app(app):
    """Wire invites into app: every booking change mails its iTIP messages through the outbox.

    Connects `on_booking_change` to booking's change listeners, the invite
    builder and the booking expander to the outbox, the RSVP link and the
    ORGANIZER address' token to the outbox's hidden secrets, the replies and
    reminders ticks to the worker (reminders also hear booking's changes); registers the
    pages (RSVP, feeds) and the API.
    """
    # imported here, not at the top: importing the package (a model, a service) must not load its pages
    from vmeeting import jobs
    from vmeeting.booking import service as booking
    from vmeeting.invites import api, reminders, service, views
    from vmeeting.invites import jobs as invites_jobs
    from vmeeting.outbox import preview
    from vmeeting.outbox import service as outbox

    reminders.parse_schedule(app.config.get("REMINDER_SCHEDULE", ""))  # a bad schedule stops the start, named
    booking.change_listeners.connect(app, service.on_booking_change)
    booking.change_listeners.connect(app, reminders.on_booking_change)
    outbox.register_builder(app, service.INVITE_BUILDER, service.build_invites)
    outbox.register_expander(app, service.BOOKING_EXPANDER, service.expand_booking)
    preview.register_secret_link(app, service.RSVP_TOKEN)  # an RSVP link answers in its recipient's name
    preview.register_secret_link(app, service.REPLY_TOKEN)  # and so does the ORGANIZER address' token
    jobs.add_tick(app, "invites.read_replies", invites_jobs.read_replies)
    jobs.add_tick(app, "invites.reminders", reminders.queue_due_reminders)
    app.register_blueprint(views.bp)
    app.register_blueprint(api.bp)
