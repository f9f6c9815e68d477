"""What booking hears from the network: warnings about a booking's sites, the roll-call's hints, each site's condition.

Both are registered with booking by the network's `init_app`; booking calls
them and never imports the network (DESIGN.md).
"""

from datetime import timedelta

import sqlalchemy as sa
from flask_babel import gettext

from vmeeting.core.database import one_of
from vmeeting.core.extensions import db
from vmeeting.core.timefmt import format_datetime
from vmeeting.network.incidents import SEVERITY_LABELS
from vmeeting.network.models import Incident, NetworkState
from vmeeting.registry.models import Endpoint


def state_warnings(endpoint_ids):
    """Return [{endpoint_id, kind, message}] for sites down (`down`) or with an open incident (`incident`).

    Registered with booking as a warning source (CONTRACT.md: warnings never stop a booking).
    """
    ids = sorted(set(endpoint_ids))
    if not ids:
        return []
    warnings = []
    names = {}
    down = []
    open_incidents = []
    # two queries whatever the number of sites (a national booking names 10,000): the ids go as one parameter
    bind = db.session.get_bind()
    down += db.session.execute(sa.select(Endpoint.id, Endpoint.name, NetworkState.since)
                               .join(NetworkState, NetworkState.endpoint_id == Endpoint.id)
                               .where(one_of(NetworkState.endpoint_id, ids, bind), NetworkState.state == "down")).all()
    open_incidents += db.session.execute(
        sa.select(Incident.endpoint_id, Endpoint.name, Incident.title, Incident.severity)
        .join(Endpoint, Endpoint.id == Incident.endpoint_id)
        .where(one_of(Incident.endpoint_id, ids, bind), Incident.status == "open")
        .order_by(Incident.endpoint_id, Incident.opened_at)).all()
    for endpoint_id, name, since in down:
        names[endpoint_id] = name
        warnings.append({"endpoint_id": endpoint_id, "kind": "down",
                         # in the page's language (Vietnamese outside a request: jobs, the API)
                         "message": gettext("%(name)s: mất kết nối từ %(since)s.", name=name,
                                            since=format_datetime(since))})
    for endpoint_id, name, title, severity in open_incidents:
        warnings.append({"endpoint_id": endpoint_id, "kind": "incident",
                         "message": gettext("%(name)s: đang có sự cố (%(severity)s): %(title)s.", name=name,
                                            severity=gettext(SEVERITY_LABELS[severity]).lower(), title=title)})
    warnings.sort(key=lambda w: (w["endpoint_id"], w["kind"] != "down"))
    return warnings


def site_conditions(endpoint_ids):
    """Return {endpoint_id: {state, since, last_seen_at, incident}} of the sites the network knows of.

    Registered with booking as a site-condition source: readiness reads it for
    each site's one verdict (readiness.verdict). state is the sweep's
    up/down/unknown (model.NetworkState), since when, the last sweep it
    answered; incident the title of its oldest open incident, or None. Two
    queries whatever the number of sites; a site never swept and without an
    open incident is absent.
    """
    ids = sorted(set(endpoint_ids))
    if not ids:
        return {}
    bind = db.session.get_bind()
    found = {endpoint_id: {"state": state, "since": since, "last_seen_at": seen, "incident": None}
             for endpoint_id, state, since, seen in db.session.execute(
                 sa.select(NetworkState.endpoint_id, NetworkState.state, NetworkState.since, NetworkState.last_seen_at)
                 .where(one_of(NetworkState.endpoint_id, ids, bind)))}
    for endpoint_id, title in db.session.execute(
            sa.select(Incident.endpoint_id, Incident.title)
            .where(one_of(Incident.endpoint_id, ids, bind), Incident.status == "open")
            .order_by(Incident.endpoint_id, Incident.opened_at.desc(), Incident.id.desc())):
        entry = found.setdefault(endpoint_id, {"state": "unknown", "since": None, "last_seen_at": None,
                                               "incident": None})
        entry["incident"] = title  # the newest last: the oldest open one stays
    return found


def sweep_roll_call_hints(occurrence, endpoint_ids):
    """Return {endpoint_id: (status, reason, at)} from sweeps since the sitting's set-up window began.

    Registered with booking for the roll-call's prefill: a site down was likely absent, one up present.
    """
    start = occurrence.starts_at - timedelta(minutes=occurrence.meeting.setup_minutes or 0)
    rows = db.session.scalars(sa.select(NetworkState).where(NetworkState.endpoint_id.in_(list(endpoint_ids)),
                                                            NetworkState.last_checked_at >= start)).all()
    return {row.endpoint_id: ("absent", "Mất kết nối", row.last_checked_at) if row.state == "down"
            else ("present", "", row.last_checked_at) for row in rows if row.state in ("up", "down")}
