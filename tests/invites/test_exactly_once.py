"""Every mail exactly once while the worker and the web process write at once (CONTRACT.md, Mail).

The demo province is loaded (its own bookings queue a few hundred invites),
then meetings of its districts are booked and changed over real HTTP while a
real worker delivers to a real SMTP server (aiosmtpd). The server's
Message-IDs are counted: each sent row exactly once, nothing left pending.

- SQLite, as `make run` runs it: the web process with the embedded scheduler.
- PostgreSQL, as production runs it: two `flask --app wsgi scheduler run` processes.
"""

import json
import os
import subprocess
import sys
import threading
import time
import urllib.request
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.booking.conftest import next_monday
from tests.conftest import LiveServer, _make_app
from tests.invites.conftest import SmtpServer
from vmeeting import jobs
from vmeeting.auth import service as auth
from vmeeting.core.extensions import db
from vmeeting.outbox.mail import message_id
from vmeeting.outbox.models import OutboxMail
from vmeeting.registry.models import AdminUnit, Endpoint

ROOT = Path(__file__).resolve().parents[2]
#: generous: the machine is shared; the property, not the speed, is under test
SETTLE_SECONDS = 300


@pytest.fixture
def smtp_server():
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def demo_province(demo_province):
    """The demo province with its own week of meetings (their invites queued; tests/conftest.py), and an API
    token."""
    scheduler = auth.create_user("lich-dong-thoi", "scheduler", email="lich@example.vn", password="mat-khau-dai-1")
    token = auth.issue_token(scheduler)
    db.session.commit()
    return {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}


def _call(method, url, headers, body=None):
    request = urllib.request.Request(url, method=method, headers=headers,
                                     data=json.dumps(body).encode() if body is not None else None)
    with urllib.request.urlopen(request, timeout=120) as response:
        return json.loads(response.read())


def _districts():
    """Return [(unit id, site id)] of the demo's district halls, with the unit each belongs to today."""
    rows = db.session.execute(
        sa.select(AdminUnit.id, Endpoint.id).join(Endpoint, Endpoint.unit_id == AdminUnit.id)
        .where(Endpoint.category == "district").order_by(Endpoint.code)).all()
    seen = {}
    for unit_id, endpoint_id in rows:
        seen.setdefault(unit_id, endpoint_id)
    return list(seen.items())


def _book_and_change(base_url, headers, districts, errors):
    """Book one meeting per district (three weeks ahead, clear of the demo's own), then retitle each."""
    try:
        start = next_monday() + timedelta(days=15)  # a Tuesday
        booked = []
        for n, (unit_id, chair_id) in enumerate(districts):
            begins = start + timedelta(days=n // 2, hours=(n % 2) * 2)
            meeting = _call("POST", f"{base_url}/api/v1/meetings", headers, {
                "title": f"Họp trực tuyến cấp huyện số {n + 1}", "unit_ids": [unit_id],
                "chair_endpoint_id": chair_id, "starts_at": begins.isoformat(),
                "ends_at": (begins + timedelta(hours=1)).isoformat(), "allow_non_working_time": True})
            booked.append(meeting["id"])
        for meeting_id in booked:
            _call("PATCH", f"{base_url}/api/v1/meetings/{meeting_id}", headers,
                  {"title": f"Họp trực tuyến cấp huyện (đã sửa) {meeting_id}"})
    except Exception as exc:  # surfaced by the test, not lost in the thread
        errors.append(exc)


def _settle(writers, deadline):
    """Wait for the writers to finish and the outbox to hold nothing pending."""
    while time.monotonic() < deadline:
        pending = db.session.scalar(sa.select(sa.func.count()).where(OutboxMail.status == "pending"))
        db.session.commit()
        if not any(w.is_alive() for w in writers) and pending == 0:
            return
        time.sleep(1)
    raise AssertionError("the outbox did not drain in time")


def _assert_each_mail_once(smtp_server):
    received = Counter(str(m["Message-ID"]) for _rcpt, m in smtp_server.messages)
    repeated = {mid: n for mid, n in received.items() if n > 1}
    assert not repeated, f"mails delivered more than once: {repeated}"
    sent_keys = db.session.scalars(sa.select(OutboxMail.key).where(OutboxMail.status == "sent")).all()
    assert sent_keys and set(received) == {message_id(key) for key in sent_keys}
    assert db.session.scalar(sa.select(sa.func.count()).where(OutboxMail.status.in_(("pending", "failed")))) == 0
    return len(received)


@pytest.fixture
def on_sqlite(database_url):
    """Skip on PostgreSQL, before the demo province is copied in."""
    if not database_url.startswith("sqlite"):
        pytest.skip("the embedded scheduler of `make run` on SQLite; PostgreSQL runs two worker processes")


@pytest.fixture
def on_postgresql(database_url):
    """Skip on SQLite, before the demo province is copied in."""
    if not database_url.startswith("postgresql"):
        pytest.skip("two worker processes share the queue on PostgreSQL")


@pytest.mark.long
def test_sqlite_embedded_scheduler_beside_live_web_writers(app, database_url, on_sqlite, smtp_server, demo_province):
    served = _make_app(database_url, WTF_CSRF_SSL_STRICT=False, SMTP_URL=smtp_server.url)
    web = LiveServer(served)
    scheduler = jobs.start_embedded(served)  # as `make run` does: the worker in the web process
    errors = []
    writers = [threading.Thread(target=_book_and_change, args=(web.url, demo_province, part, errors))
               for part in (_districts()[:5], _districts()[5:])]
    try:
        for writer in writers:
            writer.start()
        _settle(writers, time.monotonic() + SETTLE_SECONDS)
    finally:
        for writer in writers:
            writer.join(timeout=SETTLE_SECONDS)
        scheduler.shutdown(wait=True)  # its delivery loop stopped too: nothing more can arrive
        web.stop()
        with served.app_context():
            db.session.remove()
            db.engine.dispose()
    assert not errors, errors
    assert _assert_each_mail_once(smtp_server) > 300


@pytest.mark.long
def test_postgresql_two_worker_processes_beside_live_web_writers(app, database_url, on_postgresql, smtp_server,
                                                                 demo_province, tmp_path):
    served = _make_app(database_url, WTF_CSRF_SSL_STRICT=False)
    web = LiveServer(served)
    env = {**os.environ, "DATABASE_URL": database_url, "SMTP_URL": smtp_server.url, "VMEETING_ENV": "development",
           "SECRET_KEY": "workers-test-key", "SCHEDULER": "off", "VMEETING_INSTANCE": str(tmp_path)}
    workers = [subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "scheduler", "run"], cwd=ROOT,
                                env=env, stdout=subprocess.DEVNULL, stderr=open(tmp_path / f"worker{n}.log", "w"))
               for n in range(2)]
    errors = []
    writers = [threading.Thread(target=_book_and_change, args=(web.url, demo_province, part, errors))
               for part in (_districts()[:5], _districts()[5:])]
    try:
        for writer in writers:
            writer.start()
        _settle(writers, time.monotonic() + SETTLE_SECONDS)
    finally:
        for writer in writers:
            writer.join(timeout=SETTLE_SECONDS)
        for worker in workers:
            worker.terminate()
        for worker in workers:
            worker.wait(timeout=60)  # once they have exited, nothing more can arrive
        web.stop()
        with served.app_context():
            db.session.remove()
            db.engine.dispose()
    assert not errors, errors
    assert [w.returncode for w in workers] == [0, 0]  # each finished and recorded its batch on SIGTERM
    assert _assert_each_mail_once(smtp_server) > 300
