"""A site's one verdict for a sitting, and the counts of a sitting's sites: computed here, shown everywhere.

The today board, the readiness board, the network board (through booking's
`sitting_summaries` hook), the meeting page and the API's `summary` all count
with `summaries`/`summarize`, so the same sites at the same moment give the
same numbers on every page, and each site counts once.

A verdict weighs what the technician said for the sitting (Readiness: ready,
issue, pending), the sitting's own probe (Readiness.is_reachable) and what the
network knows of the site now (booking's `site_conditions`: the sweep's state,
an open incident), first match wins:

1. ``down``: the network's sweeps have not heard the site NETWORK_DOWN_AFTER
   times in a row (network.state): nothing else can be true of it.
2. ``unreachable``: this sitting's last probe failed and no sweep has heard the
   site since.
3. ``issue``: the technician answered "Có sự cố" for this sitting.
4. ``incident``: an incident is open at the site (opened by hand, by the sweep
   or by a technician's report of another sitting), whatever the answer.
5. ``pending``: no answer yet from the technician.
6. ``ready``: confirmed ready, reachable, no incident open.
"""

import sqlalchemy as sa

from vmeeting.booking import service as booking
from vmeeting.booking.models import Reservation
from vmeeting.core.database import one_of
from vmeeting.core.extensions import db
from vmeeting.readiness.models import Readiness

#: the verdicts, first match first (see the module's text)
VERDICTS = ("down", "unreachable", "issue", "incident", "pending", "ready")
#: the kinds of problem the board lists, most urgent first: every verdict but ready
PROBLEM_KINDS = VERDICTS[:-1]
#: what the board's filters show: each a set of verdicts ("all" shows every site)
FILTERS = {
    "not_ready": frozenset(VERDICTS) - {"ready"},
    "down": frozenset({"down", "unreachable"}),
    "incident": frozenset({"issue", "incident"}),
    "unconfirmed": frozenset({"pending"}),
}


def verdict(readiness, condition=None):
    """Return a site's one verdict for a sitting (VERDICTS, precedence in the module's text).

    readiness: the site's Readiness row for the sitting, or any object with
    its `status`, `is_reachable` and `checked_at`, or None (never answered nor
    probed). condition: booking.site_conditions' entry for the site
    ({state, since, last_seen_at, incident}), or None (the network knows
    nothing of it).
    """
    condition = condition or {}
    if condition.get("state") == "down":
        return "down"
    if readiness is not None and readiness.is_reachable is False and not _heard_since(condition, readiness):
        return "unreachable"
    if readiness is not None and readiness.status == "issue":
        return "issue"
    if condition.get("incident"):
        return "incident"
    if readiness is None or readiness.status != "ready":
        return "pending"
    return "ready"


def _heard_since(condition, readiness):
    """Tell whether a sweep heard the site after the sitting's last probe failed."""
    seen, probed = condition.get("last_seen_at"), readiness.checked_at
    return seen is not None and (probed is None or seen > probed)


def empty_summary():
    """Return a summary of no site: {each verdict: 0, total: 0, verdicts: {each verdict: 0}}."""
    return {**dict.fromkeys(VERDICTS, 0), "total": 0, "verdicts": dict.fromkeys(VERDICTS, 0)}


def count(summary, site_verdict):
    """Count one site into a summary (in place)."""
    summary["total"] += 1
    summary[site_verdict] += 1
    summary["verdicts"][site_verdict] += 1


def summarize(items):
    """Count a board's items ({verdict, …}) by verdict: each site once, so the counts add up to `total`.

    Returns {down, unreachable, issue, incident, pending, ready, total} and, the
    same counts again, `verdicts` (the name the pages read before; kept for the
    API's clients).
    """
    summary = empty_summary()
    for item in items:
        count(summary, item["verdict"])
    return summary


def summaries(occurrence_ids):
    """Return {occurrence id: `summarize`'s counts} of many sittings at once: the today board, the network board.

    Two queries whatever the number of sittings and sites (a national day has
    hundreds of sittings, some of 10,000 sites), plus the site conditions'
    (booking.site_conditions: two more, for the union of the sites); each site
    still gets its one `verdict`. Registered with booking as its
    `sitting_summary_sources`, so pages below readiness's row count alike.
    """
    found = {occurrence_id: empty_summary() for occurrence_id in occurrence_ids}
    if not found:
        return found
    rows = db.session.execute(
        sa.select(Reservation.occurrence_id, Reservation.endpoint_id, Readiness.id, Readiness.status,
                  Readiness.is_reachable, Readiness.checked_at)
        .outerjoin(Readiness, sa.and_(Readiness.occurrence_id == Reservation.occurrence_id,
                                      Readiness.endpoint_id == Reservation.endpoint_id))
        .where(one_of(Reservation.occurrence_id, found, db.session.get_bind()))).all()
    conditions = booking.site_conditions({row.endpoint_id for row in rows})
    for row in rows:
        state = row if row.id is not None else None
        count(found[row.occurrence_id], verdict(state, conditions.get(row.endpoint_id)))
    return found
