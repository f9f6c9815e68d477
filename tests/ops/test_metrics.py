"""`GET /metrics`: a bearer token guards it; the figures move with requests, bookings, mail, the lease, the sites."""

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.booking.conftest import book, next_monday, sites  # noqa: F401 (fixtures reused here)
from tests.invites.conftest import invited, smtp  # noqa: F401
from tests.network.conftest import live_peers, net  # noqa: F401
from vmeeting import jobs
from vmeeting.core.database import utcnow, writing
from vmeeting.core.extensions import db
from vmeeting.network.models import NetworkState
from vmeeting.outbox.delivery import deliver_outbox

TOKEN = "metrics-token-for-the-test-0123456789"


def scrape(client):
    """{(name, labels as a sorted tuple): value} of one scrape with the token."""
    response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200, response.status_code
    assert response.mimetype == "text/plain"
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(response.get_data(as_text=True))
            for sample in family.samples}


def test_metrics_are_404_without_a_configured_token(app, client):
    app.config["METRICS_TOKEN"] = None
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 404


@pytest.mark.parametrize("header, status", [
    (None, 401), ("Bearer", 401), (f"Basic {TOKEN}", 401), ("Bearer wrong-token", 403),
    (f"Bearer {TOKEN}x", 403), (f"Bearer {TOKEN[:-1]}", 403), ("Bearer Đ", 403),
])
def test_metrics_refuse_a_missing_or_wrong_token(app, client, header, status):
    app.config["METRICS_TOKEN"] = TOKEN
    response = client.get("/metrics", headers={"Authorization": header} if header else {})
    assert response.status_code == status
    assert b"vmeeting_" not in response.data
    if status == 401:
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_the_figures_move_with_requests_bookings_mail_the_lease_and_the_sites(app, client, smtp, invited, book,
                                                                              api_headers):
    app.config["METRICS_TOKEN"] = TOKEN
    before = scrape(client)
    assert before[("vmeeting_outbox_mails", (("status", "pending"),))] == 0
    assert before[("vmeeting_outbox_oldest_pending_age_seconds", ())] == 0

    meeting = book([invited["hall"], *invited["communes"][:2]], next_monday())
    headers = api_headers("viewer")
    for _ in range(3):
        assert client.get(f"/api/v1/meetings/{meeting.id}", headers=headers).status_code == 200
    assert client.get("/api/v1/meetings/999999", headers=headers).status_code == 404
    with writing():
        assert jobs.acquire_lease("worker-a:1234")
    for endpoint, state in ((invited["hall"], "up"), (invited["communes"][0], "down"),
                            (invited["communes"][1], "down")):
        db.session.add(NetworkState(endpoint_id=endpoint.id, state=state, since=utcnow()))
    db.session.commit()

    booked = scrape(client)
    assert booked[("vmeeting_meetings_booked_total", ())] == before[("vmeeting_meetings_booked_total", ())] + 1
    pending = booked[("vmeeting_outbox_mails", (("status", "pending"),))]
    assert pending >= 5
    assert booked[("vmeeting_outbox_oldest_pending_age_seconds", ())] > 0
    rule = (("method", "GET"), ("route", "/api/v1/meetings/<int:meeting_id>"))
    assert booked[("vmeeting_http_requests_total", (*rule, ("status", "200")))] \
        - before.get(("vmeeting_http_requests_total", (*rule, ("status", "200"))), 0) == 3
    assert booked[("vmeeting_http_requests_total", (*rule, ("status", "404")))] \
        - before.get(("vmeeting_http_requests_total", (*rule, ("status", "404"))), 0) == 1
    assert booked[("vmeeting_http_request_duration_seconds_count", rule)] \
        - before.get(("vmeeting_http_request_duration_seconds_count", rule), 0) == 4
    rules = {rule.rule for rule in app.url_map.iter_rules()} | {"<unmatched>"}
    assert {dict(labels)["route"] for _name, labels in booked if "route" in dict(labels)} <= rules, \
        "a raw path became a label"
    assert booked[("vmeeting_worker_lease_holder", (("holder", "worker-a:1234"),))] == 1
    renewed = booked[("vmeeting_worker_lease_renewed_timestamp_seconds", (("holder", "worker-a:1234"),))]
    assert abs(renewed - utcnow().timestamp()) < 60
    assert booked[("vmeeting_sites", (("state", "up"),))] == 1
    assert booked[("vmeeting_sites", (("state", "down"),))] == 2

    accepted = deliver_outbox()
    assert accepted == pending == len(smtp.messages)
    sent = scrape(client)
    assert sent[("vmeeting_outbox_mails", (("status", "pending"),))] == 0
    assert sent[("vmeeting_outbox_mails_sent_total", ())] - booked[("vmeeting_outbox_mails_sent_total", ())] == pending
    assert sent[("vmeeting_outbox_oldest_pending_age_seconds", ())] == 0


def test_the_last_sweep_is_told_its_duration_its_end_and_what_it_found(app, client, net, live_peers):
    """A real sweep (sipp peers, a closed port, sites without a probe) run here is read back by /metrics,
    as the worker's sweep is by the web processes: from its record in the database."""
    from tests.network.conftest import closed_udp_uri, point
    from vmeeting.network import service as network

    app.config["METRICS_TOKEN"] = TOKEN
    app.config["NETWORK_DOWN_AFTER"] = 1
    before = scrape(client)
    assert not any(name.startswith("vmeeting_network_sweep") for name, _labels in before), \
        "no sweep yet: nothing is told rather than a false 0"
    point(net.communes[0], live_peers[0].uri)
    point(net.communes[1], live_peers[1].uri)
    point(net.communes[2], closed_udp_uri())
    started = utcnow()
    summary = network.sweep()
    assert summary.probed == 3

    figures = scrape(client)
    duration = figures[("vmeeting_network_sweep_duration_seconds", ())]
    assert 0 < duration < (utcnow() - started).total_seconds() + 1
    assert abs(figures[("vmeeting_network_sweep_finished_timestamp_seconds", ())] - utcnow().timestamp()) < 60
    assert figures[("vmeeting_network_sweep_sites", (("result", "answered"),))] == 2
    assert figures[("vmeeting_network_sweep_sites", (("result", "silent"),))] == 1
    assert figures[("vmeeting_network_sweep_sites", (("result", "unprobed"),))] == 2  # the hall and the fourth commune
    assert network.last_sweep().went_down == 1
