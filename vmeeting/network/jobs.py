"""The worker's network tick: the sweep of every active site, when one is due.

The database says when the last sweep was (the latest `last_checked_at`), so a
restart or a second worker neither skips a sweep nor runs two in a row.
"""

from datetime import timedelta

import sqlalchemy as sa
from flask import current_app

from vmeeting.core.database import utcnow
from vmeeting.core.extensions import db
from vmeeting.network import service
from vmeeting.network.models import NetworkState

#: the tick asks this often whether a sweep is due; a sweep starts at most this late
TICK_SECONDS = 15


def sweep_due(now=None):
    """Tell whether NETWORK_SWEEP_SECONDS have passed since the last sweep (never when it is 0)."""
    seconds = current_app.config["NETWORK_SWEEP_SECONDS"]
    if seconds <= 0:
        return False
    last = db.session.scalar(sa.select(sa.func.max(NetworkState.last_checked_at)))
    db.session.commit()
    # a sweep ends about one probe timeout after it starts: measure from its end, less that much
    slack = timedelta(seconds=current_app.config["PROBE_TIMEOUT_SECONDS"])
    return last is None or last <= (now or utcnow()) - timedelta(seconds=seconds) + slack


def sweep_tick():
    """Sweep every active site if a sweep is due."""
    if sweep_due():
        service.sweep()
