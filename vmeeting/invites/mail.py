"""The invite as a mail (iMIP, RFC 6047): the notice as text and HTML, the calendar inline and attached."""

from flask import current_app

from vmeeting.invites.notice import plain_text
from vmeeting.outbox.mail import alternative, attachment_part, headers, mixed, text_part, wire_text


def build_message(*, key, recipient, recipient_name, subject, sections, calendar, method, reply_to=None,
                  attachments=()):
    """Return the whole message as 7-bit text: mixed → alternative (plain, HTML, calendar) + the .ics file.

    attachments: [(filename, PDF bytes)] after the .ics (booking.invite_attachments: the signed giấy mời).
    """
    text = plain_text(sections)
    # the bare template: mail is built outside requests, where the page context processors fail
    html = current_app.jinja_env.get_template("invites/mail.html").render(sections=sections, subject=subject)
    # Outlook and Gmail read the calendar from the third part; its method must match the calendar's METHOD.
    body = alternative(text_part(text, "plain"), text_part(html, "html"),
                       attachment_part(calendar, "text", "calendar", method=method))
    attachment = attachment_part(calendar, "application", "ics",
                                 filename="invite.ics" if method == "REQUEST" else "cancel.ics")
    files = [attachment_part(content, "application", "pdf",
                             filename=name if name.isascii() else ("utf-8", "", name))  # RFC 2231
             for name, content in attachments]
    msg = mixed(body, attachment, *files)
    headers(msg, key=key, recipient=recipient, recipient_name=recipient_name, subject=subject, reply_to=reply_to)
    return wire_text(msg)
