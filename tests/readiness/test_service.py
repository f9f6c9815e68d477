"""The readiness rules: who confirms what, what a confirmation needs, the board, probing a sitting."""

import time

import pytest
import sqlalchemy as sa

from tests.readiness.conftest import ALL_CHECKS, soon
from tests.readiness.sip_peers import BlackHole, assert_waited_together, free_ports
from vmeeting.core.errors import Conflict, ValidationError
from vmeeting.core.extensions import db
from vmeeting.readiness import service
from vmeeting.readiness.models import Readiness, ReadinessEvent
from vmeeting.registry import service as registry



def test_permission_rule(sitting, make_user):
    own, other = sitting.communes[0], sitting.communes[2]
    assert service.can_confirm(sitting.tech_a, own)
    assert not service.can_confirm(sitting.tech_a, other)
    assert not service.can_confirm(sitting.tech_a, sitting.hall)  # nobody's site: office staff only
    for role in ("scheduler", "admin"):
        assert service.can_confirm(make_user(role), other)
    assert not service.can_confirm(make_user("viewer"), own)
    with pytest.raises(service.NotAllowed):
        service.confirm(sitting.occurrence, other, sitting.tech_a, {"status": "ready", "checks": ALL_CHECKS})


def test_confirm_keeps_state_and_history(sitting):
    site = sitting.communes[0]
    service.confirm(sitting.occurrence, site, sitting.tech_a, {"status": "issue", "note": "  Mất   tiếng "})
    service.confirm(sitting.occurrence, site, sitting.tech_a, {"status": "ready", "checks": ALL_CHECKS})
    db.session.commit()
    row = db.session.scalar(service.readiness_select(sitting.occurrence.id, site.id))
    assert (row.status, row.checks, row.confirmed_by_id) == ("ready", ALL_CHECKS, sitting.tech_a.id)
    history = db.session.scalars(sa.select(ReadinessEvent).order_by(ReadinessEvent.id)).all()
    assert [(e.kind, e.status, e.note) for e in history] == [
        ("confirmation", "issue", "Mất tiếng"), ("confirmation", "ready", "")]


@pytest.mark.parametrize("data, field", [
    ({"status": "maybe"}, "status"),
    ({"status": "ready", "checks": {**ALL_CHECKS, "test_call": False}}, "checks"),
    ({"status": "ready", "checks": {"camera": "yes"}}, "checks"),
    ({"status": "ready", "checks": {**ALL_CHECKS, "smell": True}}, "checks"),
    ({"status": "issue", "note": ""}, "note"),
    ({"status": "issue", "note": "x" * 2001}, "note"),
    ({"status": "issue", "note": "x", "checks": []}, "checks"),
    ({"status": "issue", "note": "x", "checks": ""}, "checks"),
    ({"status": "issue", "note": "x", "checks": 0}, "checks"),
    ({"status": "issue", "note": "x", "checks": False}, "checks"),
])
def test_confirmation_input_is_checked(sitting, data, field):
    with pytest.raises(ValidationError) as caught:
        service.confirm(sitting.occurrence, sitting.communes[0], sitting.tech_a, data)
    assert field in caught.value.fields


def test_each_site_has_one_verdict_so_the_counts_add_up(sitting):
    """Down, unreachable, issue, incident, pending, ready: each site once, the same counts wherever they are read."""
    from datetime import timedelta

    from vmeeting.booking import service as booking
    from vmeeting.core.database import utcnow
    from vmeeting.network.models import Incident, NetworkState

    now = utcnow()
    hall, c0, c1, c2, c3 = sitting.hall, *sitting.communes
    service.confirm(sitting.occurrence, c0, sitting.tech_a, {"status": "ready", "checks": ALL_CHECKS})
    service.confirm(sitting.occurrence, c1, sitting.tech_a, {"status": "ready", "checks": ALL_CHECKS})
    service.confirm(sitting.occurrence, c2, sitting.tech_b, {"status": "issue", "note": "Hỏng camera"})  # + incident
    db.session.flush()
    for site, reachable in ((c0, True), (c1, False), (c2, True)):
        row = db.session.scalar(service.readiness_select(sitting.occurrence.id, site.id))
        row.is_reachable, row.checked_at = reachable, now
    db.session.add_all([
        # the hall's sweeps failed: down, though nobody answered for it either
        NetworkState(endpoint_id=hall.id, state="down", since=now - timedelta(minutes=30), failures=3),
        # c1 answered the sweeps until before the sitting's probe failed: unreachable
        NetworkState(endpoint_id=c1.id, state="up", since=now - timedelta(days=1),
                     last_seen_at=now - timedelta(minutes=5)),
        Incident(endpoint_id=c3.id, title="Mất điện", severity="major", opened_at=now)])
    db.session.commit()
    board = service.board(sitting.occurrence)
    verdicts = {item["endpoint_id"]: item["verdict"] for item in board["items"]}
    assert verdicts == {hall.id: "down", c0.id: "ready", c1.id: "unreachable", c2.id: "issue", c3.id: "incident"}
    summary = board["summary"]
    assert {name: summary[name] for name in service.VERDICTS} == {
        "down": 1, "unreachable": 1, "issue": 1, "incident": 1, "pending": 0, "ready": 1}
    assert sum(summary[name] for name in service.VERDICTS) == summary["total"] == 5
    assert summary["verdicts"] == {name: summary[name] for name in service.VERDICTS}
    items = {item["endpoint_id"]: item for item in board["items"]}
    assert items[hall.id]["network"]["state"] == "down" and items[c3.id]["incident"] == "Mất điện"
    assert [i["endpoint_id"] for i in board["items"] if i["is_ready"]] == [c0.id]
    # the today board's counts of many sittings at once, and what pages below readiness read through booking
    assert service.summaries([sitting.occurrence.id, 999999]) == {sitting.occurrence.id: summary,
                                                                  999999: service.summaries([999999])[999999]}
    assert booking.sitting_summaries([sitting.occurrence.id]) == {sitting.occurrence.id: summary}
    assert service.summaries([999999])[999999]["total"] == 0 and service.summaries([]) == {}


def test_a_sweep_heard_after_the_failed_probe_clears_unreachable():
    """The verdict's precedence, case by case (readiness.verdict's text)."""
    from datetime import datetime, timezone
    from types import SimpleNamespace as Row

    at = datetime(2026, 12, 7, 1, 0, tzinfo=timezone.utc)
    later = at.replace(hour=2)
    failed = Row(status="ready", is_reachable=False, checked_at=at)
    assert service.verdict(failed) == "unreachable"
    assert service.verdict(failed, {"state": "up", "last_seen_at": later}) == "ready"
    assert service.verdict(failed, {"state": "up", "last_seen_at": at}) == "unreachable"
    assert service.verdict(failed, {"state": "down", "last_seen_at": later}) == "down"
    assert service.verdict(Row(status="issue", is_reachable=False, checked_at=at)) == "unreachable"
    assert service.verdict(Row(status="issue", is_reachable=True, checked_at=at), {"incident": "x"}) == "issue"
    assert service.verdict(Row(status="ready", is_reachable=True, checked_at=at), {"incident": "x"}) == "incident"
    assert service.verdict(None, {"incident": "x"}) == "incident"
    assert service.verdict(None, {"state": "unknown"}) == "pending"
    assert service.verdict(Row(status="ready", is_reachable=None, checked_at=None)) == "ready"


def test_no_confirmation_for_a_cancelled_sitting(sitting):
    from vmeeting.booking import service as booking

    booking.cancel_meeting(sitting.meeting)
    db.session.commit()
    with pytest.raises(Conflict):
        service.confirm(sitting.occurrence, sitting.communes[0], sitting.tech_a, {"status": "issue", "note": "x"})


def test_board_groups_by_district_and_counts(sitting):
    service.confirm(sitting.occurrence, sitting.communes[0], sitting.tech_a, {"status": "ready", "checks": ALL_CHECKS})
    service.confirm(sitting.occurrence, sitting.communes[2], sitting.tech_b, {"status": "issue", "note": "Hỏng camera"})
    db.session.commit()
    board = service.board(sitting.occurrence)
    counts = {"down": 0, "unreachable": 0, "issue": 1, "incident": 0, "pending": 3, "ready": 1}
    assert board["summary"] == {**counts, "total": 5, "verdicts": counts}
    assert [d["name"] for d in board["districts"]] == ["Tỉnh Lạng Sơn", "Huyện Chi Lăng"]
    first = board["items"][0]
    assert first["endpoint_id"] == sitting.hall.id and first["status"] == "pending"
    assert set(first["checks"]) == set(ALL_CHECKS) and first["probe"]["reachable"] is None


def test_probe_sitting_marks_exactly_the_live_sites(sitting, sip_peers, app):
    app.config["PROBE_TIMEOUT_SECONDS"] = 1.0
    hole = BlackHole()
    [closed] = free_ports(1)
    uris = [sip_peers[0].uri, sip_peers[1].uri, f"sip:dead@127.0.0.1:{closed}", hole.uri]
    for endpoint, uri in zip(sitting.communes, uris):
        registry.update_endpoint(endpoint, {"sip_uri": uri})
    registry.update_endpoint(sitting.hall, {"probe": "none"})
    db.session.commit()
    try:
        results = service.probe_sittings([sitting.occurrence.id])
    finally:
        hole.close()
    assert len(results) == 4  # the hall is not probed
    rows = {r.endpoint_id: r for r in db.session.scalars(sa.select(Readiness))}
    reachable = {eid for eid, r in rows.items() if r.is_reachable}
    assert reachable == {sitting.communes[0].id, sitting.communes[1].id}
    assert rows[sitting.communes[0].id].rtt_ms is not None and rows[sitting.communes[0].id].probe_method == "sip-udp"
    assert rows[sitting.communes[3].id].probe_error.startswith("Không phản hồi")
    assert sitting.hall.id not in rows
    assert db.session.scalar(sa.select(sa.func.count()).where(ReadinessEvent.kind == "probe")) == 4
    summary = service.board(db.session.get(type(sitting.occurrence), sitting.occurrence.id))["summary"]
    # each site once: the two silent ones are unreachable, the two that answered and the hall wait for an answer
    assert summary["unreachable"] == 2 and summary["pending"] == 3


def test_a_site_answering_over_tls_is_probed_as_such(sitting, tls_peer, app):
    """The readiness round dials sips: over TLS: the site is reachable, by sip-tls."""
    registry.update_endpoint(sitting.communes[0], {"sip_uri": tls_peer.uri})
    for endpoint in [sitting.hall, *sitting.communes[1:]]:
        registry.update_endpoint(endpoint, {"probe": "none"})
    db.session.commit()
    assert len(service.probe_sittings([sitting.occurrence.id])) == 1
    [row] = db.session.scalars(sa.select(Readiness)).all()
    assert (row.endpoint_id, row.is_reachable, row.probe_method) == (sitting.communes[0].id, True, "sip-tls")
    assert row.rtt_ms is not None and row.probe_error is None


def test_a_meeting_of_fifty_sites_with_ten_dead_is_probed_in_about_one_timeout(
        app, sip_peers, book, make_endpoint, make_bridge, district):
    """Through the service and the database: 40 sipp peers, 5 closed ports, 5 silent devices."""
    timeout = app.config["PROBE_TIMEOUT_SECONDS"] = 1.5
    bridge = make_bridge(ports=60)
    holes = [BlackHole() for _ in range(5)]
    uris = [p.uri for p in sip_peers] + [f"sip:dead@127.0.0.1:{port}" for port in free_ports(5)]
    uris += [h.uri for h in holes]
    endpoints = [make_endpoint(f"Điểm cầu {n:02d}", unit=district, bridge_id=bridge.id, sip_uri=uri)
                 for n, uri in enumerate(uris)]
    meeting = book(endpoints, soon(), title="Hội nghị toàn tỉnh", allow_non_working_time=True)
    occurrence_id = meeting.occurrences[0].id
    try:
        started = time.monotonic()
        results = service.probe_sittings([occurrence_id])
        elapsed = time.monotonic() - started
    finally:
        for hole in holes:
            hole.close()
    assert len(results) == 50
    rows = db.session.scalars(sa.select(Readiness).where(Readiness.occurrence_id == occurrence_id)).all()
    assert {r.endpoint_id for r in rows if r.is_reachable} == {e.id for e in endpoints[:40]}
    assert {r.endpoint_id for r in rows if r.is_reachable is False} == {e.id for e in endpoints[40:]}
    assert_waited_together(holes, timeout, silent=len(holes), elapsed=elapsed)
    summary = service.board(meeting.occurrences[0])["summary"]
    assert summary["unreachable"] == 10 and summary["total"] == 50


def test_probing_now_is_refused_once_the_sitting_is_cancelled(sitting):
    from vmeeting.booking import service as booking

    booking.cancel_meeting(sitting.meeting)
    db.session.commit()
    with pytest.raises(Conflict):
        service.probe_now(sitting.occurrence)


def test_checks_may_be_left_out_or_null_when_reporting_an_issue(sitting):
    for data in ({"status": "issue", "note": "Mất tiếng"}, {"status": "issue", "note": "Mất tiếng", "checks": None}):
        readiness = service.confirm(sitting.occurrence, sitting.communes[0], sitting.tech_a, data)
        assert readiness.status == "issue" and not any(readiness.checks.values())
