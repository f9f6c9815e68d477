"""`GET /metrics`: the Prometheus text format, behind `Authorization: Bearer $METRICS_TOKEN` (CONTRACT.md).

Two kinds of figures. Requests (a counter and a latency histogram by the URL
rule, never the raw path, so ids make no new series) are counted in the
process that served them; under gunicorn, with PROMETHEUS_MULTIPROC_DIR set
(deploy/vmeeting-web.service does), prometheus_client keeps them in files of
that folder and any worker's scrape adds every worker's up. Everything else
is read from the database at scrape time, so every worker tells the same
truth: the outbox, the mails sent, the worker's lease, the sites' network
states, the last sweep (its duration, its end, what it found) and the
meetings booked.
"""

import hmac
import os
import time

import sqlalchemy as sa
from flask import Blueprint, Response, abort, current_app, g, request
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest, multiprocess
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from vmeeting.core.database import utcnow
from vmeeting.core.extensions import db

bp = Blueprint("ops_metrics", __name__)

#: latency buckets in seconds: a page is tens of ms, a national booking several seconds
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)
#: the route label of a request that matched no rule (a 404 of an unknown path, a 405)
UNMATCHED = "<unmatched>"


class _RequestMetrics:
    """This app's request counter and histogram, in a registry of its own (two apps in a process share none)."""

    def __init__(self):
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter("vmeeting_http_requests", "HTTP requests answered, by URL rule, method and status.",
                                ("route", "method", "status"), registry=self.registry)
        self.latency = Histogram("vmeeting_http_request_duration_seconds",
                                 "Time from the first before-request hook to the response built, by URL rule.",
                                 ("route", "method"), buckets=LATENCY_BUCKETS, registry=self.registry)


class DatabaseCollector:
    """The figures read from the database at each scrape (one query each; all are aggregates over indexes)."""

    def collect(self):
        from vmeeting.booking.models import Meeting
        from vmeeting.jobs import LEASE_TTL, WorkerLease
        from vmeeting.network.models import STATES, NetworkState, NetworkSweep
        from vmeeting.outbox.models import MAIL_STATUSES, OutboxMail

        now = utcnow()
        by_status = dict(db.session.execute(sa.select(OutboxMail.status, sa.func.count()).group_by(OutboxMail.status))
                         .all())
        mails = GaugeMetricFamily("vmeeting_outbox_mails", "Mails in the outbox, by status.", labels=("status",))
        for status in MAIL_STATUSES:
            mails.add_metric((status,), by_status.get(status, 0))
        yield mails
        sent = CounterMetricFamily("vmeeting_outbox_mails_sent", "Mails the SMTP server accepted (rows sent).")
        sent.add_metric((), by_status.get("sent", 0))
        yield sent
        oldest = db.session.scalar(sa.select(sa.func.min(OutboxMail.created_at)).where(OutboxMail.status == "pending"))
        yield GaugeMetricFamily("vmeeting_outbox_oldest_pending_age_seconds",
                                "Age of the oldest pending mail in seconds (0: none pending).",
                                value=max(0.0, (now - oldest).total_seconds()) if oldest else 0.0)

        holder = GaugeMetricFamily("vmeeting_worker_lease_holder", "1 for the worker process holding the lease.",
                                   labels=("holder",))
        renewed = GaugeMetricFamily("vmeeting_worker_lease_renewed_timestamp_seconds",
                                    "When the lease holder last renewed it (Unix time).", labels=("holder",))
        expires = GaugeMetricFamily("vmeeting_worker_lease_expires_timestamp_seconds",
                                    "When the lease runs out unless renewed (Unix time).", labels=("holder",))
        for lease in db.session.scalars(sa.select(WorkerLease)):
            held = lease.expires_at > now
            holder.add_metric((lease.holder,), 1 if held else 0)
            renewed.add_metric((lease.holder,), (lease.expires_at - LEASE_TTL).timestamp())
            expires.add_metric((lease.holder,), lease.expires_at.timestamp())
        yield from (holder, renewed, expires)

        by_state = dict(db.session.execute(sa.select(NetworkState.state, sa.func.count())
                                           .group_by(NetworkState.state)).all())
        sites = GaugeMetricFamily("vmeeting_sites", "Sites by their last network state.", labels=("state",))
        for state in STATES:
            sites.add_metric((state,), by_state.get(state, 0))
        yield sites

        last = db.session.scalar(sa.select(NetworkSweep).order_by(NetworkSweep.finished_at.desc(),
                                                                  NetworkSweep.id.desc()).limit(1))
        if last is not None:  # before the first sweep there is nothing to tell, rather than a false 0
            yield GaugeMetricFamily("vmeeting_network_sweep_duration_seconds",
                                    "How long the last sweep of every site took, from reading its targets to its "
                                    "results written.", value=last.duration_seconds)
            yield GaugeMetricFamily("vmeeting_network_sweep_finished_timestamp_seconds",
                                    "When the last sweep ended (Unix time).", value=last.finished_at.timestamp())
            swept = GaugeMetricFamily("vmeeting_network_sweep_sites", "Sites of the last sweep, by what it found.",
                                      labels=("result",))
            for result, n in (("answered", last.answered), ("silent", last.probed - last.answered),
                              ("unprobed", last.unprobed)):
                swept.add_metric((result,), n)
            yield swept

        booked = CounterMetricFamily("vmeeting_meetings_booked", "Meetings booked (rows of meetings, any status).")
        booked.add_metric((), db.session.scalar(sa.select(sa.func.count()).select_from(Meeting)))
        yield booked


def _metrics_of(app):
    return app.extensions["ops_metrics"]


def _start():
    g.ops_metrics_started = time.perf_counter()


def _observe(response):
    started = g.pop("ops_metrics_started", None)
    if started is None:
        return response
    route = request.url_rule.rule if request.url_rule is not None else UNMATCHED
    metrics = _metrics_of(current_app)
    metrics.requests.labels(route, request.method, str(response.status_code)).inc()
    metrics.latency.labels(route, request.method).observe(time.perf_counter() - started)
    return response


def _refusal():
    """None when the request may read the metrics; else the answer: 404 without METRICS_TOKEN, 401 without a
    bearer token, 403 with a wrong one (compared in constant time). Plain text: a scraper reads it, no person."""
    token = current_app.config.get("METRICS_TOKEN")
    if not token:
        abort(404)
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not given.strip():
        return Response("bearer token required\n", 401, {"WWW-Authenticate": 'Bearer realm="metrics"'},
                        mimetype="text/plain")
    if not hmac.compare_digest(given.strip().encode(), token.encode()):
        return Response("wrong token\n", 403, mimetype="text/plain")
    return None


@bp.get("/metrics")
def metrics():
    """The Prometheus text exposition of the request figures and the database's (see the module's docstring)."""
    refusal = _refusal()
    if refusal is not None:
        return refusal
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(_MetricsOf(_metrics_of(current_app).registry))
    registry.register(DatabaseCollector())
    return generate_latest(registry), 200, {"Content-Type": CONTENT_TYPE_LATEST, "Cache-Control": "no-store"}


class _MetricsOf:
    """A collector that yields another registry's metrics (this process's request figures)."""

    def __init__(self, registry):
        self.registry = registry

    def collect(self):
        return self.registry.collect()


def init_app(app):
    """Count app's requests and serve /metrics."""
    app.extensions["ops_metrics"] = _RequestMetrics()
    app.register_blueprint(bp)
    app.before_request(_start)
    app.after_request(_observe)
