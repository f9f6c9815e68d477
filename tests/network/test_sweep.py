"""The sweep against real sipp peers: up, down after NETWORK_DOWN_AFTER failed sweeps, back; alarms once each."""

import time
from datetime import timedelta

import sqlalchemy as sa

from tests.conftest import _make_app
from tests.network.conftest import NOC, closed_udp_uri, point
from tests.readiness.sip_peers import BlackHole, assert_waited_together
from vmeeting.core.database import utcnow, writing
from vmeeting.core.extensions import db
from vmeeting.outbox.delivery import deliver_outbox
from vmeeting.outbox.models import OutboxMail
from vmeeting.jobs import release_lease, run_tick, ticks
from vmeeting.network import jobs, service
from vmeeting.network.models import Incident, NetworkEvent, NetworkState
from vmeeting.registry.models import Endpoint


def state(endpoint):
    db.session.expire_all()
    return db.session.get(NetworkState, endpoint.id)


def alarms(smtp, address, kind):
    prefix = {"down": "[Mất kết nối]", "up": "[Đã kết nối lại]"}[kind]
    return [m for m in smtp.to(address) if m["Subject"].startswith(prefix)]


def later(app):
    """Let the sweep interval pass: the last sweep moves an hour back."""
    with app.app_context(), writing():
        db.session.execute(sa.update(NetworkState).values(last_checked_at=utcnow() - timedelta(hours=1)))
        db.session.commit()


def test_the_sweep_tick_is_registered(app):
    assert ticks(app)["network.sweep"].func is jobs.sweep_tick


def test_a_site_comes_up_goes_down_after_the_set_number_of_sweeps_and_comes_back(net, switchable):
    site = net.communes[0]
    point(site, switchable.uri)
    summary = service.sweep()
    assert summary.probed == 1
    row = state(site)
    assert row.state == "up" and row.failures == 0 and row.rtt_ms is not None and row.error is None
    first_seen = row.last_seen_at
    switchable.stop()
    service.sweep()
    row = state(site)
    assert row.state == "up" and row.failures == 1  # one failed sweep is not down yet
    assert row.error and row.last_seen_at == first_seen
    summary = service.sweep()
    row = state(site)
    assert (row.state, row.failures, summary.went_down) == ("down", 2, 1)
    down_since = row.since
    service.sweep()
    assert state(site).since == down_since  # still down: the state's start does not move
    switchable.start()
    summary = service.sweep()
    row = state(site)
    assert (row.state, row.failures, summary.came_up) == ("up", 0, 1)
    assert row.since > down_since
    history = db.session.execute(sa.select(NetworkEvent.previous, NetworkEvent.state)
                                 .where(NetworkEvent.endpoint_id == site.id).order_by(NetworkEvent.id)).all()
    assert history == [("unknown", "up"), ("up", "down"), ("down", "up")]  # changes, not every sweep


def test_the_sweep_probes_a_site_over_tls(net, tls_peer, live_peers):
    point(net.communes[0], tls_peer.uri)
    point(net.communes[1], live_peers[0].uri)
    assert service.sweep().probed == 2
    row = state(net.communes[0])
    assert (row.state, row.method) == ("up", "sip-tls") and row.rtt_ms is not None and row.error is None
    assert state(net.communes[1]).state == "up"


def test_sites_without_a_probe_stay_unknown_and_inactive_sites_are_not_swept(net, live_peers):
    point(net.communes[0], live_peers[0].uri)
    point(net.communes[1], live_peers[1].uri)
    from vmeeting.registry import service as registry
    registry.update_endpoint(net.communes[1], {"status": "maintenance"})
    db.session.commit()
    assert service.sweep().probed == 1
    assert state(net.communes[0]).state == "up"
    assert state(net.communes[1]) is None
    assert service.summary() == {"up": 1, "down": 0, "unknown": 3}  # the one in maintenance is not counted
    point(net.communes[0], "", probe="none")  # its address is taken away: its state is no longer known
    service.sweep()
    assert state(net.communes[0]).state == "unknown"


def test_alarms_go_out_once_each_to_the_technician_and_the_alert_list(net, switchable, smtp):
    site = net.communes[0]  # tech_a's
    point(site, switchable.uri)
    service.sweep()
    switchable.stop()
    for _ in range(4):
        service.sweep()
    deliver_outbox()
    assert len(alarms(smtp, net.tech_a.email, "down")) == 1
    assert len(alarms(smtp, NOC, "down")) == 1
    assert alarms(smtp, net.tech_b.email, "down") == []
    text = alarms(smtp, NOC, "down")[0].get_content()
    assert site.name in text and "Huyện Chi Lăng" in text
    switchable.start()
    service.sweep()
    service.sweep()
    deliver_outbox()
    deliver_outbox()
    assert len(alarms(smtp, net.tech_a.email, "up")) == 1
    assert len(alarms(smtp, NOC, "up")) == 1
    assert len(alarms(smtp, NOC, "down")) == 1


def test_a_site_never_seen_up_is_shown_down_without_an_alarm_or_incident(net, smtp):
    site = net.communes[0]
    point(site, closed_udp_uri())
    for _ in range(3):
        service.sweep()
    assert state(site).state == "down"
    assert service.state_warnings([site.id])[0]["kind"] == "down"
    deliver_outbox()
    assert smtp.messages == []
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Incident)) == 0


def test_a_site_down_opens_an_incident_by_itself_and_its_return_resolves_it(net, switchable):
    site = net.communes[2]
    point(site, switchable.uri)
    service.sweep()
    switchable.stop()
    service.sweep()
    service.sweep()
    service.sweep()
    opened = db.session.scalars(sa.select(Incident).where(Incident.endpoint_id == site.id)).all()
    assert [(i.source, i.status) for i in opened] == [("network", "open")]
    switchable.start()
    service.sweep()
    db.session.expire_all()
    incident = db.session.get(Incident, opened[0].id)
    assert incident.status == "resolved" and incident.resolved_at is not None


def test_alarms_are_not_repeated_by_a_restarted_or_second_worker(net, app, database_url, smtp, live_peers):
    app.config.update(NETWORK_SWEEP_SECONDS=1, PROBE_TIMEOUT_SECONDS=2)
    site = net.communes[0]
    point(site, live_peers[0].uri)
    tick = ticks(app)["network.sweep"]
    assert run_tick(app, "worker-1", tick)
    assert state(site).state == "up"
    point(site, closed_udp_uri())  # its device is replaced by one that never answers
    later(app)
    assert run_tick(app, "worker-1", tick)
    later(app)
    assert run_tick(app, "worker-1", tick)
    assert state(site).state == "down"
    deliver_outbox()
    assert len(alarms(smtp, NOC, "down")) == 1
    with writing():
        release_lease("worker-1")  # the worker stops; a new process starts on the same database
    restarted = _make_app(database_url, PROBE_TIMEOUT_SECONDS=2, NETWORK_SWEEP_SECONDS=1,
                          NETWORK_DOWN_AFTER=2, NETWORK_ALERT_EMAILS=(NOC,), SMTP_URL=smtp.url)
    for _ in range(2):
        later(restarted)
        assert run_tick(restarted, "worker-2", tick)
    later(restarted)
    assert not run_tick(restarted, "worker-3", tick)  # a second worker waits for the lease
    with restarted.app_context():
        deliver_outbox()
    deliver_outbox()
    assert len(alarms(smtp, NOC, "down")) == 1
    assert len(alarms(smtp, net.tech_a.email, "down")) == 1
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMail)) == 2


def test_the_return_alarm_goes_out_once_across_a_worker_restart(net, app, database_url, smtp, live_peers):
    """Down, then a restart, then back: one "back" mail each, however many workers sweep after it; the
    automatic incident is resolved once."""
    app.config.update(NETWORK_SWEEP_SECONDS=1)
    site = net.communes[0]
    tick = ticks(app)["network.sweep"]
    point(site, live_peers[0].uri)
    assert run_tick(app, "worker-1", tick)
    point(site, closed_udp_uri())
    for _ in range(2):
        later(app)
        assert run_tick(app, "worker-1", tick)
    assert state(site).state == "down"
    with writing():
        release_lease("worker-1")
    point(site, live_peers[0].uri)  # the device is back while no worker runs
    config = dict(PROBE_TIMEOUT_SECONDS=2, NETWORK_SWEEP_SECONDS=1, NETWORK_DOWN_AFTER=2, NETWORK_ALERT_EMAILS=(NOC,),
                  SMTP_URL=smtp.url)
    for worker in ("worker-2", "worker-3"):  # each a new process on the same database, one after the other
        restarted = _make_app(database_url, **config)
        for _ in range(2):
            later(restarted)
            assert run_tick(restarted, worker, tick)
        with restarted.app_context():
            deliver_outbox()
            with writing():
                release_lease(worker)
    assert state(site).state == "up"
    assert len(alarms(smtp, NOC, "down")) == 1 and len(alarms(smtp, NOC, "up")) == 1
    assert len(alarms(smtp, net.tech_a.email, "up")) == 1
    incidents = db.session.scalars(sa.select(Incident).where(Incident.endpoint_id == site.id)).all()
    assert [(i.source, i.status) for i in incidents] == [("network", "resolved")]


def test_two_sweeps_recording_the_same_results_alarm_once(net, app, live_peers):
    """Two workers that both probed (a lease lost mid-sweep) record one after the other: one change, one alarm."""
    site = net.communes[0]
    point(site, live_peers[0].uri)
    service.sweep()
    point(site, closed_udp_uri())
    service.sweep()
    targets, _unprobed = service.sweep_targets()
    db.session.commit()
    from vmeeting.probes import probe_many
    results = probe_many(targets, timeout=2, allow_loopback=True)
    service.record_sweep(results)
    service.record_sweep(results)
    assert state(site).state == "down"
    changes = db.session.scalar(sa.select(sa.func.count()).where(NetworkEvent.endpoint_id == site.id,
                                                                 NetworkEvent.state == "down"))
    assert changes == 1
    keys = db.session.scalars(sa.select(OutboxMail.key)).all()
    assert len(keys) == 2 and all(k.startswith(f"network-down:{site.id}:") for k in keys)


def test_a_sweep_is_due_after_the_set_interval_and_never_when_off(net, app, live_peers):
    point(net.communes[0], live_peers[0].uri)
    assert jobs.sweep_due()
    service.sweep()
    assert not jobs.sweep_due()
    assert jobs.sweep_due(utcnow() + timedelta(seconds=300))
    app.config["NETWORK_SWEEP_SECONDS"] = 0
    assert not jobs.sweep_due(utcnow() + timedelta(days=1))


def test_history_older_than_a_year_is_pruned(net, live_peers):
    site = net.communes[0]
    point(site, live_peers[0].uri)
    long_ago = utcnow() - timedelta(days=400)
    db.session.add(NetworkEvent(endpoint_id=site.id, previous="unknown", state="down", occurred_at=long_ago))
    db.session.commit()
    service.sweep()
    events = db.session.scalars(sa.select(NetworkEvent.occurred_at).where(NetworkEvent.endpoint_id == site.id)).all()
    assert len(events) == 1 and events[0] > long_ago


def test_availability_counts_time_up_against_time_known(net):
    site = net.communes[0]
    now = utcnow()
    db.session.add_all([
        NetworkEvent(endpoint_id=site.id, previous="unknown", state="up", occurred_at=now - timedelta(days=10)),
        NetworkEvent(endpoint_id=site.id, previous="up", state="down", occurred_at=now - timedelta(days=2)),
        NetworkEvent(endpoint_id=site.id, previous="down", state="up", occurred_at=now - timedelta(days=1)),
    ])
    db.session.commit()
    assert abs(service.availability(site.id, 7, now) - 6 / 7) < 1e-6
    assert abs(service.availability(site.id, 30, now) - 9 / 10) < 1e-6  # the 20 unknown days are left out
    assert service.availability(net.communes[1].id, 7, now) is None


def test_the_sweep_dials_by_the_configured_loopback_policy(app, make_endpoint):
    """The sweep obeys PROBE_ALLOW_LOOPBACK as readiness does: off (production), a site pointed at this
    server's own PostgreSQL port is refused at dial time, so the board never says the port is open."""
    site = make_endpoint(sip_uri="sip:room@127.0.0.1:5432;transport=tcp", probe="tcp")
    db.session.commit()
    app.config["PROBE_ALLOW_LOOPBACK"] = False
    try:
        service.sweep()
        state = db.session.get(NetworkState, site.id)
        assert state.rtt_ms is None and "loopback" in (state.error or "")
    finally:
        app.config["PROBE_ALLOW_LOOPBACK"] = True
    service.sweep()
    db.session.expire_all()
    assert db.session.get(NetworkState, site.id).rtt_ms is not None  # allowed: PostgreSQL accepts the TCP probe


def test_a_sweep_of_two_thousand_sites_waits_one_timeout_for_the_silent_ones(net, app, live_peers):
    """The worker's sweep, probes and recording together, of 2,000 active sites: half answer (three sipp
    peers), half never do. The silent ones are asked at once and wait out their timeout together, not
    256 at a time (eight timeouts, as before). How long the whole sweep takes is bench/'s figure
    (network_sweep): here the recording of 2,000 states on a loaded machine once took 4 s."""
    timeout = 2.0
    app.config["PROBE_TIMEOUT_SECONDS"] = timeout
    hole = BlackHole()
    try:
        db.session.execute(sa.insert(Endpoint), [
            {"code": f"SW{i:05d}", "name": f"Điểm cầu {i}", "unit_id": net.hall.unit_id, "probe": "sip-options",
             "sip_uri": live_peers[i % 3].uri if i % 2 else hole.uri} for i in range(2000)])
        db.session.commit()
        started = time.monotonic()
        summary = service.sweep()
        elapsed = time.monotonic() - started
    finally:
        hole.close()
    assert summary.probed == 2000
    # one failed sweep of NETWORK_DOWN_AFTER=2: the silent sites, never seen up, are not known yet
    assert service.summary() == {"up": 1000, "down": 0, "unknown": 1005}
    silent = db.session.scalars(sa.select(NetworkState).join(Endpoint, Endpoint.id == NetworkState.endpoint_id)
                                .where(Endpoint.sip_uri == hole.uri)).all()
    assert len(silent) == 1000 and all(row.failures == 1 and "Không phản hồi" in row.error for row in silent)
    assert_waited_together([hole], timeout, silent=1000, elapsed=elapsed)
