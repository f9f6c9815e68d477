"""Calendar invites: iCalendar building, the mail outbox, RSVP and calendar feeds."""
