"""The giấy mời (DOCX from a template, PDF through LibreOffice) and the basis document (typed or edXML)."""


def init_app(app):
    """Wire documents into app: its pages and API, and booking's hooks.

    Booking asks it for the meeting's warnings (a giấy mời that may arrive
    late, QĐ 45/2018/QĐ-TTg), and for what the invites quote and carry (the
    issued giấy mời and its signed PDF); invites reads those through booking,
    never from here.
    """
    # imported here, not at the top: importing the package (a model, a service) must not load its pages
    from vmeeting.booking import service as booking
    from vmeeting.documents import api, service, views

    booking.meeting_warning_sources.connect(app, service.late_notice_warnings)
    booking.invite_text_sources.connect(app, service.invite_reference)
    booking.invite_attachment_sources.connect(app, service.invite_attachments)
    app.register_blueprint(views.bp)
    app.register_blueprint(api.bp)
