"""The sign-in record's housekeeping: old attempts and sessions are dropped once nothing reads them."""

from datetime import timedelta

import sqlalchemy as sa

from vmeeting.auth.models import LoginAttempt, UserSession
from vmeeting.core.database import utcnow
from vmeeting.core.extensions import db

#: attempts are kept this long for anyone looking into a break-in, far beyond the throttling window
KEEP_ATTEMPTS = timedelta(days=90)


def prune_login_attempts(now=None):
    """Delete sign-in attempts older than KEEP_ATTEMPTS; return how many went."""
    cutoff = (now or utcnow()) - KEEP_ATTEMPTS
    deleted = db.session.execute(sa.delete(LoginAttempt).where(LoginAttempt.attempted_at < cutoff)).rowcount
    db.session.commit()
    return deleted


def prune_sessions(now=None):
    """Delete sessions ended or expired more than KEEP_ATTEMPTS ago; return how many went."""
    cutoff = (now or utcnow()) - KEEP_ATTEMPTS
    deleted = db.session.execute(sa.delete(UserSession).where(
        sa.or_(UserSession.ended_at < cutoff, UserSession.expires_at < cutoff))).rowcount
    db.session.commit()
    return deleted
