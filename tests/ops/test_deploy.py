"""deploy/: the nginx site passes `nginx -t` and serves the app through gunicorn; the units verify; backups restore.

nginx runs as on a server (master, workers as nobody when the suite runs as root) but on free high
loopback ports, with a configuration derived from the shipped site by replacing only its ports, its
certificate and its paths (`derived_site`). Without nginx or systemd-analyze the tests skip, loudly;
REQUIRE_NGINX=1 (.ci/run) turns the skip into a failure.
"""

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import flask_bootstrap
import pytest
import requests
import sqlalchemy as sa

from tests.booking.conftest import book, next_monday, sites  # noqa: F401 (fixtures reused here)
from tests.conftest import PASSWORD, _make_app, make_certificate
from tests.ops.test_copy_to import _rows, _without_stamp
from tests.pg import create_postgres_database
from vmeeting.auth.models import LoginAttempt
from vmeeting.core.extensions import db

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
SITE = DEPLOY / "nginx" / "vmeeting.conf"
NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)
#: how long a process may take to start answering on a loaded 2-core machine (a gunicorn worker builds the app)
START_SECONDS = 120


def _need_nginx():
    if NGINX is None:
        if os.environ.get("REQUIRE_NGINX") == "1":
            pytest.fail("REQUIRE_NGINX=1 but nginx is not installed (apt-get install nginx-light)")
        pytest.skip("nginx is not installed: the shipped site is NOT tested (apt-get install nginx-light)")


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for_port(port, process):
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"process ended with {process.returncode}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise AssertionError(f"nothing listens on {port} after {START_SECONDS} s")


def _wait_until_ready(url, process):
    """Wait until url answers 200: gunicorn's master listens at once, its workers answer once they built the app."""
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"process ended with {process.returncode}")
        try:
            if requests.get(url, timeout=START_SECONDS).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{url} not ready after {START_SECONDS} s")


def derived_site(folder, *, cert, key, http_port=80, https_port=443, app_port=8000):
    """A full nginx.conf around the shipped site: only its ports, certificate and paths replaced."""
    site = SITE.read_text()
    site = site.replace("listen [::]:80;", "").replace("listen [::]:443 ssl http2;", "")
    site = site.replace("listen 80;", f"listen 127.0.0.1:{http_port};")
    site = site.replace("listen 443 ssl http2;", f"listen 127.0.0.1:{https_port} ssl http2;")
    site = re.sub(r"ssl_certificate\s+\S+;", f"ssl_certificate {cert};", site)
    site = re.sub(r"ssl_certificate_key\s+\S+;", f"ssl_certificate_key {key};", site)
    site = site.replace("server 127.0.0.1:8000", f"server 127.0.0.1:{app_port}")
    site = site.replace("/opt/vmeeting/app/vmeeting/static/", f"{ROOT / 'vmeeting' / 'static'}/")
    site = site.replace("/opt/vmeeting/venv/lib/python3.11/site-packages/flask_bootstrap/static/bootstrap5/",
                        f"{Path(flask_bootstrap.__file__).parent / 'static' / 'bootstrap5'}/")
    assert "/opt/vmeeting" not in site
    user = "user nobody nogroup;" if os.geteuid() == 0 else ""
    conf = Path(folder) / "nginx.conf"
    conf.write_text(f"""{user}
worker_processes 1;
pid {folder}/nginx.pid;
error_log {folder}/error.log;
events {{ worker_connections 64; }}
http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log {folder}/access.log;
    client_body_temp_path {folder}/body;
    proxy_temp_path {folder}/proxy;
    fastcgi_temp_path {folder}/fastcgi;
    uwsgi_temp_path {folder}/uwsgi;
    scgi_temp_path {folder}/scgi;
{site}
}}
""")
    return conf


@pytest.fixture
def scratch():
    """A folder nginx's workers (nobody) may read, removed after the test."""
    folder = tempfile.mkdtemp(prefix="vmeeting-nginx-")
    os.chmod(folder, 0o755)
    yield Path(folder)
    shutil.rmtree(folder, ignore_errors=True)


def test_nginx_accepts_the_shipped_site(scratch):
    _need_nginx()
    cert, key = make_certificate(scratch)
    conf = derived_site(scratch, cert=cert, key=key)  # the shipped ports (80, 443) and upstream kept
    result = subprocess.run([NGINX, "-t", "-c", str(conf), "-e", str(scratch / "error.log")],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "test is successful" in result.stderr


@pytest.fixture
def served(app, database_url, scratch):
    """gunicorn (2 workers, as production runs it) behind nginx from the shipped site: the https and http bases."""
    _need_nginx()
    cert, key = make_certificate(scratch)
    app_port, http_port, https_port = _free_port(), _free_port(), _free_port()
    (scratch / "metrics").mkdir()
    env = {**os.environ, "DATABASE_URL": database_url, "VMEETING_ENV": "production", "SECRET_KEY": "x" * 64,
           "TRUSTED_PROXIES": "1", "SCHEDULER": "off", "METRICS_TOKEN": "tok-nginx-test",
           "PROMETHEUS_MULTIPROC_DIR": str(scratch / "metrics"), "BASE_URL": f"https://127.0.0.1:{https_port}",
           "LOG_FORMAT": "json"}
    log = open(scratch / "gunicorn.log", "wb")
    gunicorn = subprocess.Popen([str(Path(sys.executable).parent / "gunicorn"), "--bind", f"127.0.0.1:{app_port}",
                                 "--workers", "2", "--timeout", "300", "wsgi:app"], cwd=ROOT, env=env,
                                stdout=subprocess.DEVNULL, stderr=log)
    conf = derived_site(scratch, cert=cert, key=key, http_port=http_port, https_port=https_port, app_port=app_port)
    nginx = subprocess.Popen([NGINX, "-c", str(conf), "-e", str(scratch / "error.log"), "-g", "daemon off;"],
                             stderr=subprocess.DEVNULL)
    try:
        _wait_for_port(app_port, gunicorn)
        _wait_until_ready(f"http://127.0.0.1:{app_port}/readyz", gunicorn)
        _wait_for_port(https_port, nginx)
        yield {"https": f"https://127.0.0.1:{https_port}", "http": f"http://127.0.0.1:{http_port}", "cert": cert,
               "folder": scratch}
    finally:
        for process in (nginx, gunicorn):
            process.send_signal(signal.SIGTERM)
        for process in (nginx, gunicorn):
            try:
                process.wait(timeout=120)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        log.close()


class _SourceAdapter(requests.adapters.HTTPAdapter):
    """Connect from a given loopback address, so nginx sees a client other than gunicorn's 127.0.0.1."""

    def __init__(self, source):
        self.source = source
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):
        kwargs["source_address"] = (self.source, 0)
        super().init_poolmanager(*args, **kwargs)


def _csrf(html):
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)


@pytest.mark.long
def test_nginx_in_front_of_gunicorn(app, served, make_user, api_headers, sites):
    base, http = served["https"], served["http"]
    user = make_user("scheduler", username="qua-nginx")
    api = {"Authorization": api_headers("scheduler")["Authorization"]}  # written before gunicorn writes (SQLite)
    browser = requests.Session()
    browser.verify, browser.trust_env = served["cert"], False  # this certificate, not the environment's CA bundle
    browser.mount("https://", _SourceAdapter("127.0.0.3"))
    browser.headers["Referer"] = f"{base}/login"  # as a browser sends it: Flask-WTF checks it over HTTPS

    # plain HTTP goes to HTTPS; HTTPS answers carry HSTS
    redirect = requests.get(f"{http}/login", allow_redirects=False, timeout=120)
    assert redirect.status_code == 301 and redirect.headers["Location"].startswith("https://127.0.0.1")
    page = browser.get(f"{base}/login", timeout=120)
    assert page.status_code == 200
    assert page.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    assert page.headers["X-Request-ID"]  # nginx's $request_id, taken by the app

    # a static file comes from nginx (no Server-Timing: the app never saw it), cached a week, gzipped
    for path in ("/static/app.css", "/bootstrap/static/css/bootstrap.min.css"):
        static = browser.get(f"{base}{path}", headers={"Accept-Encoding": "gzip"}, timeout=120)
        assert static.status_code == 200, path
        assert "Server-Timing" not in static.headers
        assert static.headers["Cache-Control"] == "public, max-age=604800"  # one header, not two
    assert static.headers.get("Content-Encoding") == "gzip"

    # the sign-in throttle sees the client's address through X-Forwarded-For, not a planted one
    refused = browser.post(f"{base}/login", data={"username": user.username, "password": "sai-mat-khau",
                                                  "csrf_token": _csrf(browser.get(f"{base}/login").text)},
                           headers={"X-Forwarded-For": "203.0.113.9"}, allow_redirects=False, timeout=60)
    assert refused.status_code == 200
    db.session.rollback()  # a fresh snapshot: gunicorn wrote the attempt
    addresses = {a.remote_addr for a in db.session.scalars(sa.select(LoginAttempt))}
    assert addresses == {"127.0.0.3"}
    db.session.rollback()  # end the read: SQLite's writers (gunicorn) are not held behind it

    signed_in = browser.post(f"{base}/login", data={"username": user.username, "password": PASSWORD,
                                                    "csrf_token": _csrf(browser.get(f"{base}/login").text)},
                             allow_redirects=False, timeout=60)
    assert signed_in.status_code == 302, signed_in.text[:500]
    assert browser.get(f"{base}/", timeout=60).status_code == 200

    # a booking through nginx (the API, as a script books), then its calendar file
    start = next_monday(10)
    booked = browser.post(f"{base}/api/v1/meetings", headers=api, timeout=120, json={
        "title": "Giao ban qua nginx", "starts_at": start.isoformat(),
        "ends_at": (start + timedelta(hours=1)).isoformat(), "chair_endpoint_id": sites["hall"].id,
        "endpoint_ids": [sites["hall"].id, *(c.id for c in sites["communes"])]})
    assert booked.status_code == 201, booked.text[:500]
    ics = browser.get(f"{base}/api/v1/meetings/{booked.json()['id']}/invite.ics", headers=api, timeout=60)
    assert ics.status_code == 200 and b"Giao ban qua nginx" in ics.content

    # an upload at the limit reaches the app; one over it is refused by nginx before gunicorn reads it
    limit = 10 * 1024 * 1024
    at_limit = browser.post(f"{base}/login", data=b"x" * (limit - 1024), timeout=120,
                            headers={"Content-Type": "application/octet-stream"})
    assert at_limit.status_code != 413 and "Server-Timing" in at_limit.headers
    over = browser.post(f"{base}/login", data=b"x" * (limit + 1), timeout=120,
                        headers={"Content-Type": "application/octet-stream"})
    assert over.status_code == 413 and "Server-Timing" not in over.headers

    # several gunicorn workers, one truth: the requests of both workers are counted in /metrics
    for _ in range(8):
        assert browser.get(f"{base}/healthz", timeout=120).status_code == 200
    metrics = browser.get(f"{base}/metrics", headers={"Authorization": "Bearer tok-nginx-test"}, timeout=120)
    assert metrics.status_code == 200
    line = re.search(r'vmeeting_http_requests_total\{method="GET",route="/healthz",status="200"\} (\S+)',
                     metrics.text)
    assert line and float(line.group(1)) == 8

    # gunicorn's JSON lines carry nginx's request id and none of the secrets sent
    logged = (served["folder"] / "gunicorn.log").read_text()
    assert f'"request_id": "{page.headers["X-Request-ID"]}"' in logged
    assert PASSWORD not in logged and "sai-mat-khau" not in logged and "tok-nginx-test" not in logged
    assert api["Authorization"].split()[1] not in logged


def test_the_systemd_units_verify(tmp_path):
    """systemd-analyze verify on the shipped units, their /opt/vmeeting paths pointed at this checkout and venv.

    verify answers 0 on an unknown key or a bad value (it only warns), so any line it writes fails too.
    """
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        if os.environ.get("REQUIRE_NGINX") == "1":
            pytest.fail("REQUIRE_NGINX=1 but systemd-analyze is not installed (apt-get install systemd)")
        pytest.skip("systemd-analyze is not installed: the units are NOT verified (apt-get install systemd)")
    venv = Path(sys.executable).parent.parent
    units = []
    for unit in sorted((DEPLOY / "systemd").iterdir()):
        text = unit.read_text().replace("/opt/vmeeting/venv", str(venv)).replace("/opt/vmeeting/app", str(ROOT))
        (tmp_path / unit.name).write_text(text)
        units.append(str(tmp_path / unit.name))
    assert {Path(u).name for u in units} == {"vmeeting-web.service", "vmeeting-worker.service",
                                             "vmeeting-backup.service", "vmeeting-backup.timer"}
    result = subprocess.run([analyze, "verify", "--man=no", *units], capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 0 and result.stdout + result.stderr == "", result.stdout + result.stderr
    for name in ("vmeeting-web.service", "vmeeting-worker.service"):
        text = (DEPLOY / "systemd" / name).read_text()
        for setting in ("Restart=on-failure", "User=vmeeting", "EnvironmentFile=/etc/vmeeting/env",
                        "NoNewPrivileges=yes", "ProtectSystem=strict", "PrivateTmp=yes"):
            assert setting in text, (name, setting)


def test_a_backup_restores_into_a_scratch_database(app, database_url, sites, book, make_user, api_headers, client,
                                                   tmp_path):
    """deploy/backup.sh (pg_dump -Fc) then deploy/restore.sh into a new database: every row, and the .ics."""
    if not database_url.startswith("postgresql"):
        pytest.skip("pg_dump backs up PostgreSQL; SQLite installations move with `flask db copy-to` first")
    from vmeeting.outbox.models import OutboxMail

    for endpoint in [sites["hall"], *sites["communes"]]:
        endpoint.contact_emails = [f"site{endpoint.id}@langson.gov.vn"]
    db.session.commit()
    meeting = book([sites["hall"], *sites["communes"]], next_monday(9), title="Giao ban sao lưu")
    headers = api_headers("scheduler")
    ics = client.get(f"/api/v1/meetings/{meeting.id}/invite.ics", headers=headers).data
    db.session.commit()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMail)) > 0

    env = {**os.environ, "DATABASE_URL": database_url, "BACKUP_KEEP_DAYS": "14"}
    old = tmp_path / "vmeeting-20000101T000000Z.dump"
    old.write_bytes(b"an old dump")
    os.utime(old, (946684800, 946684800))
    dumped = subprocess.run([str(DEPLOY / "backup.sh"), str(tmp_path)], env=env, capture_output=True, text=True)
    assert dumped.returncode == 0, dumped.stderr
    dump = Path(dumped.stdout.strip())
    assert dump.exists() and dump.read_bytes()[:5] == b"PGDMP" and not old.exists()  # the old one past retention

    scratch_url, drop = create_postgres_database(sa.make_url(database_url).set(database="postgres"), "vmeeting_restore")
    try:
        restored = subprocess.run([str(DEPLOY / "restore.sh"), str(dump), scratch_url], cwd=ROOT,
                                  env={**os.environ, "VMEETING_FLASK": str(Path(sys.executable).parent / "flask"),
                                       "VMEETING_ENV": "testing"}, capture_output=True, text=True)
        assert restored.returncode == 0, restored.stderr
        scratch = _make_app(scratch_url)
        original = _rows(db.engine)
        with scratch.app_context():
            copy = _rows(db.engine)
            assert {t: len(r) for t, r in copy.items()} == {t: len(r) for t, r in original.items()}
            assert copy == original
            for table in ("meetings", "outbox_mails", "audit_events"):
                assert copy.get(table), table
            again = scratch.test_client().get(f"/api/v1/meetings/{meeting.id}/invite.ics", headers=headers)
            assert _without_stamp(again.data) == _without_stamp(ics)
            db.session.remove()
            db.engine.dispose()
    finally:
        db.session.remove()  # the test's session, which the scratch app's request may have left on its engine
        drop()
