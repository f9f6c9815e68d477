"""The invites' tick: read the replies calendars sent to the organizer mailbox (delivery is the outbox's)."""

from vmeeting.invites import replies


def read_replies():
    """Count the answers calendars sent to the organizer mailbox (IMAP_URL); see invites.replies."""
    return replies.read_replies()
