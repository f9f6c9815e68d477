"""The invites' tick: read the replies calendars sent to the organizer mailbox (delivery is the outbox's)."""

from vmeeting.invites import replies
from vmeeting.jobs import periodic


@periodic("invites.read_replies", seconds=60)
def read_replies():
    """Count the answers calendars sent to the organizer mailbox (IMAP_URL); see invites.replies."""
    return replies.read_replies()
