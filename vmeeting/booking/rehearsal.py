"""A change tried and taken back: what it would write, counted before the person confirms it.

The calendar's drag and the booking form's suggested slot show a review first
(old → new time, how many people will be told, what refuses it). The review
runs the booking service's own change — its checks, its lock, its audit entry,
the mails its listeners queue — inside the caller's transaction, counts the
mails written, and the caller rolls everything back. Nothing is estimated
apart from the rules: what is counted is what the confirmed change writes.
"""

import sqlalchemy as sa

from vmeeting.core.extensions import db

# The outbox is imported where it is read, not here: booking's pages load this module, and booking alone
# loads no outbox (tests/house/test_wiring.py); the outbox is there once invites wire their listener.


def outbox_mark():
    """Return the highest outbox row id now (0 when empty): the rows a change writes next come after it."""
    from vmeeting.outbox.models import OutboxMail

    return db.session.scalar(sa.select(sa.func.max(OutboxMail.id))) or 0


def recipients_since(mark, meeting_id):
    """Return how many people the rows written since `mark` mail about the meeting (distinct addresses).

    A national booking's change record (outbox.enqueue_change) is expanded
    first, in the same transaction, so its people are counted too. The caller
    rolls back afterwards: this flushes rows that must not stay.
    """
    from vmeeting.outbox import service as outbox
    from vmeeting.outbox.models import OutboxMail

    outbox.expand_pending(meeting_id)
    return db.session.scalar(
        sa.select(sa.func.count(sa.distinct(OutboxMail.recipient)))
        .where(OutboxMail.id > mark, OutboxMail.meeting_id == meeting_id, OutboxMail.recipient != "",
               OutboxMail.status == "pending")) or 0
