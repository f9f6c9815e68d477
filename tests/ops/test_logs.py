"""LOG_FORMAT=json: one JSON line per request and per worker event, on stderr, without a secret in any."""

import json
import logging

import pytest

from tests.booking.conftest import book, next_monday, sites  # noqa: F401 (fixtures reused here)
from tests.conftest import PASSWORD, _app_for_test, _make_app, csrf_token
from vmeeting import jobs
from vmeeting.invites import service as invites
from vmeeting.ops.logs import StderrHandler, redact


@pytest.fixture
def app(database_url):
    """An app of the test's own with LOG_FORMAT=json; vmeeting's logger is put back as it was after."""
    logger = logging.getLogger("vmeeting")
    handlers, propagate, level = list(logger.handlers), logger.propagate, logger.level
    try:
        yield from _app_for_test(_make_app(database_url, LOG_FORMAT="json"))
    finally:
        logger.handlers[:] = [h for h in logger.handlers if not isinstance(h, StderrHandler)]
        for handler in handlers:
            if handler not in logger.handlers:
                logger.addHandler(handler)
        logger.propagate, logger.level = propagate, level


def _lines(capsys):
    """Every line written to stderr, each parsed as JSON (a line that is not JSON fails)."""
    return [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.strip()]


def test_requests_and_worker_events_are_json_lines_without_secrets(app, client, capsys, make_user, api_headers,
                                                                  sites, book):
    user = make_user("scheduler", username="thu-ky-log")
    headers = api_headers(user=user)
    bearer = headers["Authorization"].split()[1]
    meeting = book([sites["hall"], *sites["communes"][:2]], next_monday())
    rsvp = invites.rsvp_token(meeting, "xa0@langson.gov.vn")
    capsys.readouterr()

    form = {"username": user.username, "password": PASSWORD, "csrf_token": csrf_token(client, "/login")}
    assert client.post("/login?next=/", data=form).status_code == 302
    session_cookie = client.get_cookie("session").value
    assert client.get(f"/api/v1/meetings/{meeting.id}", headers={**headers, "X-Request-ID": "lb-7f3a"}).status_code \
        == 200
    assert client.get(f"/rsvp/{rsvp}?answer=accepted").status_code in (200, 302, 410)  # 410: no such attendee
    assert client.get(f"/calendar/{rsvp}.ics").status_code == 404
    # a worker event: a tick that fails with a connection URL carrying a password in its message
    failing = jobs.Tick("failing", lambda: (_ for _ in ()).throw(
        RuntimeError("cannot reach postgresql://vmeeting:s3cret-db-pass@db/vmeeting, Bearer " + bearer)), 60)
    assert jobs.run_tick(app, "worker-log:1", failing) is False

    text = capsys.readouterr().err
    lines = [json.loads(line) for line in text.splitlines() if line.strip()]
    requests = [line for line in lines if line.get("event") == "request"]
    assert [(r["method"], r["route"]) for r in requests] == [
        ("GET", "/login"), ("POST", "/login"), ("GET", "/api/v1/meetings/<int:meeting_id>"),
        ("GET", "/rsvp/<token>"), ("GET", "/calendar/<token>.ics")]
    for line in requests:
        assert set(line) >= {"request_id", "user_id", "route", "method", "status", "duration_ms", "time"}
        assert isinstance(line["duration_ms"], float) and line["duration_ms"] >= 0
    assert requests[1]["status"] == 302 and requests[1]["user_id"] == user.id
    assert requests[2]["request_id"] == "lb-7f3a" and requests[2]["user_id"] == user.id
    assert len({r["request_id"] for r in requests}) == len(requests)
    tick = [line for line in lines if line["logger"] == "vmeeting.jobs"]
    assert tick and "tick failing failed" in tick[0]["message"] and "RuntimeError" in tick[0]["error"]
    for secret in (PASSWORD, bearer, rsvp, session_cookie, "s3cret-db-pass"):
        assert secret not in text


def test_a_request_id_that_is_not_sane_is_replaced(app, client, capsys):
    response = client.get("/healthz", headers={"X-Request-ID": 'x" injected\tline'})
    (line,) = [line for line in _lines(capsys) if line.get("event") == "request"]
    assert line["request_id"] != 'x" injected\tline' and len(line["request_id"]) == 32
    assert response.headers["X-Request-ID"] == line["request_id"]


@pytest.mark.parametrize("text, shown", [
    ("smtp://mailer:p%40ss@mail.gov.vn:587", "smtp://mailer:***@mail.gov.vn:587"),
    ("Authorization: Bearer abc.def-123", "Authorization: Bearer ***"),
    ("password=hunter2&user=a", "password=***&user=a"),
    ('{"token": "tk-123"}', '{"token": "***"}'),
    ("a plain line: 3 mails sent", "a plain line: 3 mails sent"),
])
def test_redact_hides_passwords_and_tokens(text, shown):
    assert redact(text) == shown
