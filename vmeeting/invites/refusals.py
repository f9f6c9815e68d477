"""The answers and the refused replies as the pages and the API show them.

`answers_json` is the shape of GET /api/v1/meetings/{id}/answers;
`may_read_refusals` says who may read what the mailbox refused (the booker
of the meeting and admins: a refused reply names people and what they wrote).
"""

import sqlalchemy as sa

from vmeeting.invites.answers import answer_rows
from vmeeting.invites.models import RefusedReply
from vmeeting.core.extensions import db

#: how many refused replies a page lists, the newest first
REFUSALS_SHOWN = 200


def may_read_refusals(user, meeting=None):
    """Tell whether user may read the refused replies: of one meeting (its booker, admins), or all (admins)."""
    if user.can("invites.refused_replies"):
        return True
    return meeting is not None and meeting.organizer_id is not None and user.id == meeting.organizer_id


def refusals_select(meeting=None):
    """Select the refused replies, the newest first: of one meeting, or all of them (with those of no meeting)."""
    query = sa.select(RefusedReply).order_by(RefusedReply.received_at.desc(), RefusedReply.id.desc())
    if meeting is not None:
        query = query.where(RefusedReply.meeting_id == meeting.id)
    return query.limit(REFUSALS_SHOWN)


def _instant(value):
    return value.isoformat() if value is not None else None


def _answer_json(answer):
    return {"partstat": answer.partstat, "comment": answer.comment, "source": answer.source,
            "sequence": answer.sequence, "responded_at": _instant(answer.responded_at),
            "delegated_to": answer.delegated_to or None, "delegated_from": answer.delegated_from or None}


def answers_json(meeting, *, with_refusals):
    """Return {"answers": [...], "refused_replies": [...] when with_refusals} of a meeting.

    Each answer: email, name, site ids, delegate (answering for someone who
    handed the invite on), `answer` (the whole meeting, or null) and
    `sittings` (answers to single sittings: occurrence_id, original_starts_at
    = its RECURRENCE-ID, and the answer's fields). Instants ISO 8601 UTC.
    """
    rows = []
    for row in answer_rows(meeting):
        rows.append({
            "email": row.person.email, "name": row.person.name or None,
            "endpoint_ids": [e.id for e in row.person.sites], "delegate": row.delegate,
            "answer": _answer_json(row.answer) if row.answer is not None else None,
            "sittings": [{"occurrence_id": a.occurrence_id,
                          "original_starts_at": _instant(a.occurrence.original_starts_at), **_answer_json(a)}
                         for a in row.sittings],
        })
    found = {"answers": rows}
    if with_refusals:
        found["refused_replies"] = [
            {"kind": r.kind, "method": r.method or None, "sender": r.sender, "attendee": r.attendee or None,
             "subject": r.subject, "reason": str(r.reason_sentence), "received_at": _instant(r.received_at)}
            for r in db.session.scalars(refusals_select(meeting))]
    return found
