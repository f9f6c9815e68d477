"""Fixtures: an app per test on a database made once per run, on SQLite and PostgreSQL.

Every test that uses `app` runs once per backend. The schema comes from the
migrations (never `create_all`), and each test leaves empty tables behind.
"""

import html
import os
import re
import sqlite3
import subprocess
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session
from flask_migrate import upgrade

from config import TestingConfig
from tests.pg import create_postgres_database
from vmeeting import create_app
from vmeeting.core.extensions import db

BACKENDS = ("sqlite", "postgresql")
PASSWORD = "mat-khau-thu-nghiem"


def _postgres_base_url():
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        if os.environ.get("REQUIRE_POSTGRES") == "1":
            pytest.fail("REQUIRE_POSTGRES=1 but TEST_DATABASE_URL is not set")
        pytest.skip("PostgreSQL tests need TEST_DATABASE_URL")
    return sa.make_url(url).set(drivername="postgresql+psycopg")


def count(model):
    """Return how many rows the model's table holds, read in the test's session."""
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def deliver_outbox(**kwargs):
    """Deliver the outbox's due mails as the worker's tick does; return how many the server accepted.

    The tests reach delivery through this one function (kwargs: now=, limit=), so
    moving delivery to another module changes one import here.
    """
    from vmeeting.outbox.delivery import deliver_outbox as deliver

    return deliver(**kwargs)


def make_certificate(directory, name="127.0.0.1"):
    """Make a throwaway self-signed certificate for loopback in directory; return (cert.pem, key.pem) paths.

    Valid for 127.0.0.1 and localhost; a client trusts it through SSL_CERT_FILE,
    as an operator trusts a private CA.
    """
    directory = Path(directory)
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", f"/CN={name}", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    return str(cert), str(key)


def _make_app(url, **overrides):
    return create_app(TestingConfig, {"SQLALCHEMY_DATABASE_URI": url, **overrides})


#: the pytest-xdist worker running this process (gw0, gw1…), or "main" without -n
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "main")


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(request, tmp_path_factory):
    """Create a database for this run, upgraded by the migrations; drop it afterwards.

    One per test process: under pytest-xdist each worker has its own (SQLite in
    the worker's own temporary folder, PostgreSQL named after the worker and a
    random suffix), so no worker sees another's rows, locks or migrations.
    """
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'vmeeting-test.db'}"
    else:
        url, drop = create_postgres_database(_postgres_base_url(), f"vmeeting_test_{WORKER}")
        request.addfinalizer(drop)
    app = _make_app(url)
    with app.app_context():
        upgrade()
        db.engine.dispose()
    return url


@pytest.fixture(scope="session")
def _shared_app(database_url):
    """One app per test process and backend: building one compiles its 115 routes (about 50 ms)."""
    return _make_app(database_url)


@pytest.fixture
def app(_shared_app):
    """The backend's app in an app context of the test's own; the tables are emptied after the test.

    The app is shared by the process's tests of that backend; what a test
    changes of it is put back: its configuration (tests set MAIL_FROM,
    NETWORK_SWEEP_SECONDS…), and through `monkeypatch` anything else. A test
    that adds routes of its own needs an app no request has reached yet:
    `own_app`.
    """
    yield from _app_for_test(_shared_app)


def own_app(database_url):
    """A fresh app for one test (a generator, for a module's own `app` fixture); its tables emptied after."""
    yield from _app_for_test(_make_app(database_url))


def _app_for_test(app):
    config = dict(app.config)
    try:
        with app.app_context():
            yield app
            db.session.remove()
            _empty_tables()
            db.engine.dispose()
    finally:
        app.config.clear()
        app.config.update(config)


def _empty_tables():
    """Empty every table and restart the ids, as TRUNCATE … RESTART IDENTITY does.

    On PostgreSQL as a superuser (the local test server), DELETE with the
    foreign-key triggers off for the transaction: about 15 ms, against 200 ms
    for a TRUNCATE, which gives every table and index new files, after each
    of some 1,300 tests.
    """
    tables = [t.name for t in reversed(db.metadata.sorted_tables)]
    with db.engine.begin() as conn:
        if conn.dialect.name != "postgresql":
            for table in tables:
                conn.exec_driver_sql(f'DELETE FROM "{table}"')
        elif conn.exec_driver_sql("SHOW is_superuser").scalar() != "on":
            conn.exec_driver_sql("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE")
        else:
            conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
            for table in tables:
                conn.exec_driver_sql(f'DELETE FROM "{table}"')
            conn.exec_driver_sql("SELECT setval(quote_ident(schemaname) || '.' || quote_ident(sequencename), 1, false) "
                                 "FROM pg_sequences WHERE schemaname = current_schema()")


#: database url → the demo command's output, once the demo's rows are kept aside for that database
_DEMO_SNAPSHOTS = {}
#: where they are kept: a schema of the test database (PostgreSQL), a file beside it (SQLite)
DEMO_SNAPSHOT = "demo_snapshot"


@pytest.fixture
def demo_province(app, database_url, runner):
    """The demo province as `flask demo load` makes it (today's units and their history, 213 sites, users,
    groups, its week of meetings and their invites in the outbox), in the test's own tables; returns the
    command's output.

    The command runs once per test process and backend (5–20 s on the shared machine); its rows are then
    copied aside, and each later test gets them copied back (well under a second). A test of the loading
    itself runs the command instead.
    """
    empty = not any(db.session.execute(sa.select(sa.literal(1)).select_from(table).limit(1)).first()
                    for table in db.metadata.sorted_tables)
    if database_url in _DEMO_SNAPSHOTS and empty:
        db.session.remove()
        _copy_demo(database_url, keep=False)
        return _DEMO_SNAPSHOTS[database_url]
    result = runner.invoke(args=["demo", "load"])  # the first time, or onto rows the test made before
    assert result.exit_code == 0, result.output
    db.session.commit()
    if empty:
        _copy_demo(database_url, keep=True)
        _DEMO_SNAPSHOTS[database_url] = result.output
    return result.output


def _copy_demo(database_url, keep):
    """Copy every table's rows aside (keep) or back into the emptied tables, with the foreign keys off."""
    tables = [t.name for t in db.metadata.sorted_tables]
    url = sa.make_url(database_url)
    if url.get_backend_name() == "sqlite":
        db.engine.dispose()  # no pooled connection may hold the file while another writes it
        snapshot = str(Path(url.database).with_name(f"{DEMO_SNAPSHOT}.db"))
        raw = sqlite3.connect(url.database, isolation_level=None)
        try:
            raw.execute("PRAGMA foreign_keys = OFF")
            raw.execute("ATTACH DATABASE ? AS snapshot", (snapshot,))
            raw.execute("BEGIN IMMEDIATE")
            for table in tables:
                if keep:
                    raw.execute(f'DROP TABLE IF EXISTS snapshot."{table}"')
                    raw.execute(f'CREATE TABLE snapshot."{table}" AS SELECT * FROM main."{table}"')
                else:
                    raw.execute(f'INSERT INTO main."{table}" SELECT * FROM snapshot."{table}"')
            raw.execute("COMMIT")
        finally:
            raw.close()
        return
    with db.engine.begin() as conn:
        conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
        if keep:
            conn.exec_driver_sql(f"DROP SCHEMA IF EXISTS {DEMO_SNAPSHOT} CASCADE")
            conn.exec_driver_sql(f"CREATE SCHEMA {DEMO_SNAPSHOT}")
        for table in tables:
            if keep:
                conn.exec_driver_sql(f'CREATE TABLE {DEMO_SNAPSHOT}."{table}" AS TABLE "{table}"')
            else:
                conn.exec_driver_sql(f'INSERT INTO "{table}" SELECT * FROM {DEMO_SNAPSHOT}."{table}"')
        if not keep:  # the ids go on after the copied ones
            for table in db.metadata.sorted_tables:
                if "id" in table.c and table.c.id.primary_key:
                    conn.exec_driver_sql(
                        f"SELECT setval(pg_get_serial_sequence('\"{table.name}\"', 'id'), max(id)) "
                        f'FROM "{table.name}" HAVING max(id) IS NOT NULL')


@pytest.fixture
def after_commit_statements(app):
    """The SQL run after the last commit of the requests that follow: a list a write should leave empty.

    A change that was stored must be answered as stored, so nothing may read after its commit
    (core.jsonapi.committed; tests/core/test_committed.py, tests/booking/test_stored_answers.py).
    """
    log = []

    def on_sql(conn, cursor, statement, *args):
        log.append(statement)

    def on_commit(session):
        log.clear()

    sa.event.listen(db.engine, "before_cursor_execute", on_sql)
    sa.event.listen(Session, "after_commit", on_commit)
    yield log
    sa.event.remove(db.engine, "before_cursor_execute", on_sql)
    sa.event.remove(Session, "after_commit", on_commit)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


CSRF_RE = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"')


def csrf_token(client, path):
    """Return the CSRF token of the form served at path."""
    body = client.get(path).get_data(as_text=True)
    match = CSRF_RE.search(body)
    assert match, f"no CSRF token on {path}"
    return match.group(1) or match.group(2)


def page_text(response):
    """A page's HTML with its character references read (« and » as typed, not &#171;)."""
    return html.unescape(response.get_data(as_text=True))


def switch_to_english(client, path):
    """Switch the test client's interface to English, as the footer's button on the page at `path` does."""
    assert client.post("/lang/en", data={"csrf_token": csrf_token(client, path), "next": path}).status_code == 302


def shown_in_english(app, message):
    """A service's message as an English page shows it: `vmeeting.core.text.shown` in a request whose session says "en"."""
    from flask import session
    from flask_babel import refresh

    from vmeeting.core.text import shown

    with app.test_request_context():
        session["lang"] = "en"
        refresh()  # a locale read earlier in the same app context would otherwise stay
        return shown(message)


@pytest.fixture
def get_csrf(client):
    return lambda path: csrf_token(client, path)


@pytest.fixture
def make_user(app):
    """Create a user of a role (password PASSWORD) and return it."""
    from vmeeting.auth import service

    def make(role="viewer", username=None, **kwargs):
        user = service.create_user(username or f"{role}-{uuid.uuid4().hex[:6]}", role, password=PASSWORD, **kwargs)
        db.session.commit()
        return user

    return make


@pytest.fixture
def login(client):
    """Sign the test client in as user, as the sign-in form ends: a server-side session and Flask-Login's cookie.

    Outside tests/auth the form itself is not under test, so its two requests
    (the page for its CSRF token, the post) are skipped; tests/auth/conftest.py
    signs in through the real form. The password is not checked here.
    """

    def do_login(user, password=PASSWORD):
        sign_in_by_session(client, user)
        return user

    return do_login


def sign_in_by_session(client, user):
    """Open a server-side session for user and put it in client's cookie, as the login view does after the form."""
    from flask import session
    from flask_login import login_user

    from vmeeting.auth import service

    service.start_session(user, "127.0.0.1", "pytest")
    db.session.commit()
    # Flask-Login's "strong" protection keeps a hash of the browser's address and agent: sign in within a
    # request of the client's own environ, and keep what that wrote to its session
    with client.session_transaction() as kept, client.application.test_request_context(
            environ_base=client.environ_base):
        login_user(user)
        kept.update(session)


def signed_in_client(app, user, password=PASSWORD, remember=False):
    """Return a new test client (another browser) signed in as user through the login form.

    remember: tick "remember me". The sign-in's answer (a 302) is kept as `client.login_response`.
    """
    client = app.test_client()
    data = {"username": user.username, "password": password, "csrf_token": csrf_token(client, "/login")}
    if remember:
        data["remember"] = "y"
    response = client.post("/login", data=data)
    assert response.status_code == 302, response.get_data(as_text=True)
    client.login_response = response
    return client


@pytest.fixture
def browser(app):
    """Open another browser (a test client of its own) signed in as a user: browser(user, remember=False)."""
    return lambda user, remember=False: signed_in_client(app, user, remember=remember)


@pytest.fixture
def login_as(make_user, login):
    """Create a user of the role and sign the test client in as them."""
    return lambda role, **kwargs: login(make_user(role, **kwargs))


@pytest.fixture
def api_headers(make_user):
    """Return Authorization headers for a new user of the role."""
    from vmeeting.auth import service

    def headers(role="viewer", user=None):
        user = user or make_user(role)
        token = service.issue_token(user)
        db.session.commit()
        return {"Authorization": f"Bearer {token}"}

    return headers


@pytest.fixture
def make_unit(app):
    """Create an administrative unit; kind decides its level."""
    from vmeeting.registry import service

    counter = iter(range(1, 100000))

    def make(name="Huyện Chi Lăng", kind=None, parent=None, code=None, **extra):
        kind = kind or ("tỉnh" if parent is None else "xã")
        unit = service.save_unit(None, {"name": name, "kind": kind, "code": code or f"U{next(counter)}",
                                        "parent_id": parent.id if parent else None, **extra})
        db.session.commit()
        return unit

    return make


@pytest.fixture
def province(make_unit):
    return make_unit("Tỉnh Lạng Sơn", "tỉnh", code="20")


@pytest.fixture
def district(make_unit, province):
    """Huyện Chi Lăng (unit code 185), a district of the province."""
    return make_unit("Huyện Chi Lăng", "huyện", parent=province, code="185")


@pytest.fixture
def make_bridge(app):
    from vmeeting.registry import service

    counter = iter(range(1, 100000))

    def make(ports=50, **data):
        n = next(counter)
        bridge = service.save_bridge(None, {"code": f"MCU-{n}", "name": f"Cầu MCU {n}", "ports": ports, **data})
        db.session.commit()
        return bridge

    return make


@pytest.fixture
def make_endpoint(app, province):
    """Create an endpoint through the registry service, with defaults for what is not given."""
    from vmeeting.registry import service

    counter = iter(range(1, 100000))

    def make(name=None, unit=None, **data):
        n = next(counter)
        values = {"code": f"EP{n:04d}", "name": name or f"Điểm cầu {n}", "unit_id": (unit or province).id,
                  "sip_uri": f"sip:ep{n}@127.0.0.1:5060", **data}
        endpoint = service.create_endpoint(values)
        db.session.commit()
        return endpoint

    return make


# -- a live server and a real Chromium -------------------------------------------------

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


@pytest.hookimpl(trylast=True)  # after pytest has grouped the tests by backend
def pytest_collection_modifyitems(config, items):
    """Run browser tests once, on SQLite: they test pages, not the database; start the long ones first.

    pytest-xdist hands tests out in this order: the few that take tens of
    seconds (marked `long`) go first, so that they run beside the thousands of
    short ones instead of alone at the end, each on one worker while the other
    waits (longest first: the classic bound for scheduling on identical workers).
    """
    kept, dropped = [], []
    for item in items:
        params = getattr(getattr(item, "callspec", None), "params", {})
        if item.get_closest_marker("browser") and params.get("database_url") == "postgresql":
            dropped.append(item)
        else:
            kept.append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
    items[:] = sorted(kept, key=lambda item: item.get_closest_marker("long") is None)  # stable: the rest keep order


def pytest_terminal_summary(terminalreporter):
    """After the run: each area's (tests/<area>/) tests, their count and their time (setup, call, teardown summed).

    Under pytest-xdist the times are the workers', summed: an area's share of the CPU, not of the wall clock.
    """
    totals = {}
    for reports in terminalreporter.stats.values():
        for report in reports:
            nodeid, duration = getattr(report, "nodeid", ""), getattr(report, "duration", None)
            if not nodeid.startswith("tests/") or duration is None:
                continue
            parts = nodeid.split("::")[0].split("/")
            area = parts[1] if len(parts) > 2 else "(top)"
            count, seconds = totals.get(area, (set(), 0.0))
            count.add(nodeid)
            totals[area] = (count, seconds + duration)
    if not totals:
        return
    terminalreporter.write_sep("=", "time by area (tests/<area>/, summed over the workers)")
    for area, (nodeids, seconds) in sorted(totals.items(), key=lambda kv: -kv[1][1]):
        terminalreporter.write_line(f"{seconds:9.1f} s  {len(nodeids):5d} tests  {area}")


class LiveServer:
    """The app served by werkzeug in a thread, on a free loopback port."""

    def __init__(self, app):
        import threading

        from werkzeug.serving import make_server

        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.thread.join(timeout=10)


@pytest.fixture(scope="session")
def _shared_live_server(database_url):
    """One live server per test process and backend, serving an app of its own on the backend's database."""
    served = _make_app(database_url, WTF_CSRF_SSL_STRICT=False)
    server = LiveServer(served)
    yield server
    server.stop()
    with served.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def live_server(app, _shared_live_server):
    """The backend's app served over real HTTP on the test's database; yields its base URL holder.

    Shared by the process's tests of the backend, like `app`; its configuration
    is put back after each test, and its pooled connections closed, so the next
    test starts on a fresh connection to the emptied tables.
    """
    served = _shared_live_server.server.app
    config = dict(served.config)
    yield _shared_live_server
    served.config.clear()
    served.config.update(config)
    with served.app_context():
        db.engine.dispose()


@pytest.fixture(scope="session")
def chromium():
    """A headless Debian Chromium under Playwright; skipped where there is none."""
    if not os.path.exists(CHROMIUM):
        if os.environ.get("REQUIRE_BROWSER") == "1":
            pytest.fail(f"REQUIRE_BROWSER=1 but {CHROMIUM} is missing")
        pytest.skip("browser tests need Debian's chromium")
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
    yield browser
    browser.close()
    playwright.stop()


#: installed in every test page: counts the page's fetches still open, an answer's reading included (a
#: section's HTML is read, then written into the page in the same turn), for `settled`
_FETCH_WATCH = """
(() => {
  let open = 0;
  const fetch = window.fetch;
  window.__vmeetingFetchesOpen = () => open;
  window.fetch = function (...args) {
    open += 1;
    let closed = false;
    // after the reader's own callbacks: they were queued on the same promise, in the turn it settles
    const close = () => { if (!closed) { closed = true; setTimeout(() => { open -= 1; }, 0); } };
    return fetch.apply(this, args).then((response) => {
      for (const how of ["text", "json", "blob", "arrayBuffer", "formData"]) {
        const read = response[how].bind(response);
        response[how] = () => { const reading = read(); reading.then(close, close); return reading; };
      }
      setTimeout(close, 2000);  // an answer nobody reads
      return response;
    }, (error) => { close(); throw error; });
  };
})();
"""


def settled(page):
    """`page` once laid out (`laid_out`) and with no fetch of its own open: its sections and calendar loaded.

    Instead of Playwright's "networkidle", which waits for half a second of silence after every page.
    """
    laid_out(page)
    page.wait_for_function("() => !window.__vmeetingFetchesOpen || window.__vmeetingFetchesOpen() === 0")
    return page


def _browser_context(chromium, live_server, **options):
    context = chromium.new_context(base_url=live_server.url, locale="vi-VN", **options)
    context.set_default_timeout(30000)
    context.add_init_script(_FETCH_WATCH)
    context.vmeeting_server = live_server  # for browser_sign_in
    return context


@pytest.fixture
def page(chromium, live_server):
    """A fresh browser page (desktop size) whose relative URLs go to the live server."""
    context = _browser_context(chromium, live_server, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    yield page
    context.close()


def browser_sign_in(page, user, password=PASSWORD, landing="**/"):
    """Sign a Chromium page in as user (a User or a user name), as the sign-in form ends.

    The form itself is driven by `browser_sign_in_by_form` (tests/test_browser_smoke.py, tests/auth);
    elsewhere the live server opens a server-side session for the browser's own address and agent
    (Flask-Login's "strong" protection) and the browser gets its cookie. Then the page opens the today
    board, where every role lands, and waits for the signed-in menu. The password is not checked here.
    """
    from vmeeting.auth.models import User

    served = page.context.vmeeting_server.server.app
    agent = page.evaluate("navigator.userAgent")
    client = served.test_client()
    client.environ_base.update(REMOTE_ADDR="127.0.0.1", HTTP_USER_AGENT=agent)
    with served.app_context():
        name = user if isinstance(user, str) else user.username
        sign_in_by_session(client, db.session.scalar(sa.select(User).where(User.username == name)))
        db.session.remove()
    cookie = served.config["SESSION_COOKIE_NAME"]
    page.context.add_cookies([{"name": cookie, "value": client.get_cookie(cookie).value,
                               "url": page.context.vmeeting_server.url}])
    page.goto("/")
    page.wait_for_url(landing)
    page.get_by_test_id("current-user").wait_for(state="attached")


def browser_sign_in_by_form(page, user, password=PASSWORD, landing="**/"):
    """Sign a Chromium page in through the login form as user (a User or a user name).

    Waits until the page has landed (every role lands on the today board, `/`)
    with the signed-in menu shown.
    """
    page.goto("/login")
    page.get_by_label("Tên đăng nhập").fill(user if isinstance(user, str) else user.username)
    page.get_by_label("Mật khẩu").fill(password)
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_url(landing)
    page.get_by_test_id("current-user").wait_for(state="attached")


def laid_out(page):
    """`page` once its current document has loaded its stylesheets, scripts, images and fonts.

    A click on a link or a form's submit returns as soon as the next document starts; its elements
    are there, and can be found, before Bootstrap's stylesheet is. Layout read then is the unstyled
    page's: on a loaded CI machine a `btn-lg py-3` button measured 21 px high. Every box or width a
    test asserts is read through `box_of` or `sideways_overflow`, which wait here first.
    """
    page.wait_for_load_state("load")
    page.evaluate("() => document.fonts.ready.then(() => true)")
    return page


def box_of(locator):
    """The bounding box ({x, y, width, height} in CSS px) of `locator`'s element on its laid-out page."""
    laid_out(locator.page)
    return locator.bounding_box()


def sideways_overflow(page):
    """How many CSS px the laid-out page scrolls sideways (0 when it fits its viewport's width)."""
    laid_out(page)
    return page.evaluate("Math.max(0, document.documentElement.scrollWidth - document.documentElement.clientWidth)")


@pytest.fixture
def phone_page(chromium, live_server):
    """A fresh browser page at a phone's size and touch."""
    context = _browser_context(chromium, live_server, viewport={"width": 390, "height": 844}, is_mobile=True,
                               has_touch=True)
    page = context.new_page()
    yield page
    context.close()


# -- each test request finds its signed-in user afresh ------------------------------------


@pytest.fixture(autouse=True)
def _fresh_g_per_request():
    """Give every test request an empty `g`, as production does.

    The `app` fixture keeps an app context open, so all requests of a test would
    share one `g`, where Flask-Login caches the signed-in user and Flask-WTF the
    CSRF token: a second client, or a request after the session changed, would
    see the previous request's user and token.
    """
    from flask import g, request_started

    def forget(sender, **extra):
        g.__dict__.clear()

    request_started.connect(forget)
    yield
    request_started.disconnect(forget)
