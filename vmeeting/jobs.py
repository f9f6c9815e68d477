"""The background worker: which periodic ticks exist, the lease that keeps one of them running.

Beside the ticks, every worker process runs the outbox's delivery loop
(`outbox.delivery.Deliverer`), outside the lease: mail is claimed row by row,
so several processes (on several hosts) share the outbox safely.

A capability adds its ticks from its `init_app(app)` (DESIGN.md, "Wiring is
visible"), the functions living in its own `jobs` module:

    jobs.add_tick(app, "readiness.probes", readiness_jobs.probe_tick, seconds=60)

A tick runs inside an app context, only in the process holding the lease, and
must be idempotent: the database says what is due, never memory (DESIGN.md).
Every transaction a tick or the lease makes takes SQLite's write lock at BEGIN
(`database.writing`), so the worker never loses a write to the web process's
writers; a tick keeps its transactions short (none open while it waits on the
network).
"""

import logging
import os
import signal
import socket
import threading
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from vmeeting.core.database import UTCDateTime, utcnow, writing
from vmeeting.core.extensions import db
from vmeeting.core.hooks import NamedHook
from vmeeting.outbox.delivery import Deliverer

log = logging.getLogger(__name__)

#: a holder that stops renewing loses the lease after this long (a crashed worker)
LEASE_TTL = timedelta(seconds=90)
LEASE_RENEW_SECONDS = 30
LEASE_NAME = "scheduler"


@dataclass(frozen=True)
class Tick:
    """A periodic job: its name, the function called, and how often."""

    name: str
    func: Callable
    seconds: int


#: {tick name: Tick} of each app, added by the capabilities' init_app
TICKS = NamedHook("jobs.ticks")


def add_tick(app, name, func, seconds=60):
    """Have app's worker run func() every `seconds` seconds, in the process holding the lease."""
    TICKS.connect(app, name, Tick(name, func, seconds))


def ticks(app=None):
    """Return {name: Tick} of app (default: the current app): what its worker runs."""
    return dict(TICKS.mapping(app))


class WorkerLease(db.Model):
    """Who runs the scheduler, until when: a lease the holder renews and others may take once expired."""

    __tablename__ = "worker_leases"

    name: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    holder: Mapped[str] = mapped_column(sa.String(200))
    acquired_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


def new_holder_id():
    """Return an id for this worker process, unique across hosts and restarts."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def acquire_lease(holder, now=None, ttl=LEASE_TTL, name=LEASE_NAME):
    """Take or renew the lease for holder and commit; return whether holder has it.

    One conditional UPDATE (ours, or expired) or one INSERT decides, so two
    workers racing cannot both win, on SQLite and PostgreSQL alike.
    """
    now = now or utcnow()
    try:
        taken = db.session.execute(
            sa.update(WorkerLease)
            .where(WorkerLease.name == name,
                   sa.or_(WorkerLease.holder == holder, WorkerLease.expires_at < now))
            .values(holder=holder, expires_at=now + ttl,
                    acquired_at=sa.case((WorkerLease.holder == holder, WorkerLease.acquired_at), else_=now))
        ).rowcount == 1
        if not taken:
            exists = db.session.scalar(sa.select(sa.func.count()).where(WorkerLease.name == name))
            if not exists:
                db.session.add(WorkerLease(name=name, holder=holder, acquired_at=now, expires_at=now + ttl))
                db.session.flush()
                taken = True
        db.session.commit()
        return taken
    except sa.exc.IntegrityError:
        # another worker inserted the lease between our UPDATE and INSERT: it won
        db.session.rollback()
        return False


def release_lease(holder, name=LEASE_NAME):
    """Give the lease up at once (a clean shutdown), so another worker need not wait for expiry."""
    db.session.execute(sa.delete(WorkerLease).where(WorkerLease.name == name, WorkerLease.holder == holder))
    db.session.commit()


def run_tick(app, holder, tick):
    """Run one tick in an app context if holder has the lease; log and roll back what fails."""
    with app.app_context(), writing():
        try:
            if not acquire_lease(holder):
                return False
            tick.func()
            return True
        except Exception:
            log.exception("tick %s failed", tick.name)
            db.session.rollback()
            return False
        finally:
            db.session.remove()


def build_scheduler(app, holder, *, blocking=False):
    """Return an APScheduler with every tick (and the lease heartbeat) added, not started.

    app.config["SCHEDULER_TICK_SECONDS"] ({tick name: seconds}) may run a tick
    more often than its own interval: the tests' live worker uses it.
    """
    # APScheduler here, not at the top: only the worker's process needs it, and every app imports this module
    from apscheduler.schedulers.background import BackgroundScheduler
    from apscheduler.schedulers.blocking import BlockingScheduler

    scheduler = (BlockingScheduler if blocking else BackgroundScheduler)(timezone="UTC")
    first = utcnow() + timedelta(seconds=5)
    scheduler.add_job(_heartbeat, "interval", seconds=LEASE_RENEW_SECONDS, args=(app, holder),
                      id="lease", next_run_time=utcnow(), coalesce=True, max_instances=1)
    intervals = app.config.get("SCHEDULER_TICK_SECONDS") or {}
    for tick in ticks(app).values():
        seconds = intervals.get(tick.name, tick.seconds)
        scheduler.add_job(run_tick, "interval", seconds=seconds, args=(app, holder, tick), id=tick.name,
                          next_run_time=first, coalesce=True, max_instances=1, misfire_grace_time=seconds)
    return scheduler


def _heartbeat(app, holder):
    with app.app_context(), writing():
        try:
            acquire_lease(holder)
        except Exception:
            log.exception("could not renew the scheduler lease")
            db.session.rollback()
        finally:
            db.session.remove()


def _stop_on_sigterm(signum, frame):
    raise SystemExit(0)


def run_forever(app):
    """Run the worker in this process until interrupted (`flask scheduler run`).

    Ctrl+C or SIGTERM (what a process manager sends) stops it cleanly: the
    ticks under way finish, the delivery loop finishes its batch and records
    it, then the lease is given up at once, so another worker takes over
    without waiting LEASE_TTL for it to expire.
    """
    holder = new_holder_id()
    scheduler = build_scheduler(app, holder, blocking=True)
    log.info("scheduler %s starting with ticks: %s", holder, ", ".join(ticks(app)))
    deliverer = Deliverer(app).start()
    previous = signal.signal(signal.SIGTERM, _stop_on_sigterm)
    try:
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        if scheduler.running:
            scheduler.shutdown(wait=True)
        deliverer.stop()
        with app.app_context(), writing():
            release_lease(holder)


_embedded_lock = threading.Lock()


def start_embedded(app):
    """Start the worker in background threads of the web process (`make run`), once per app; return the scheduler.

    The outbox's delivery loop runs beside it and stops when the scheduler shuts down.
    """
    from apscheduler.events import EVENT_SCHEDULER_SHUTDOWN  # as in build_scheduler

    with _embedded_lock:
        if app.extensions.get("vmeeting_scheduler"):
            return app.extensions["vmeeting_scheduler"]
        holder = new_holder_id()
        scheduler = build_scheduler(app, holder)
        deliverer = Deliverer(app).start()
        scheduler.add_listener(lambda _event: deliverer.stop(), EVENT_SCHEDULER_SHUTDOWN)
        scheduler.start()
        app.extensions["vmeeting_scheduler"] = scheduler
        return scheduler
