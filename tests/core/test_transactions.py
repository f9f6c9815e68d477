"""DESIGN.md "The embedded database": a read never writes, and every writer takes the lock when it begins.

SQLite refuses at once, whatever the busy timeout, a transaction that began as a read and
then writes after another connection committed ("database is locked", SQLITE_BUSY_SNAPSHOT).
Each test here puts such a commit exactly there: after the first statement of an API read or
of a CLI writer, another connection writes. The read must still answer 200, and the writer,
whose transaction holds the lock from its BEGIN, makes the other wait instead of failing.
"""

import threading
from contextlib import contextmanager

import pytest
import sqlalchemy as sa

from tests.conftest import own_app
from vmeeting.auth import service as auth
from vmeeting.auth.models import ApiToken, LoginAttempt
from vmeeting.core.database import WriteInRead, utcnow, writing
from vmeeting.core.extensions import db
from vmeeting.registry import transfer
from vmeeting.registry.models import Endpoint

#: how long the statement after which another connection writes waits for that write; a writer holding the lock
#: makes it wait until its own commit, so the wait ends by this timeout instead
INTERLOPER_WAIT_SECONDS = 2


@contextmanager
def another_writer_after(database_url, fragment):
    """After the first statement of the app's engine whose SQL contains `fragment`, let another connection insert
    a sign-in attempt and commit; yield a list that holds "written" once it has.

    The other connection waits for the lock within a 30 s busy timeout (SQLite), as a second process would.
    """
    other = sa.create_engine(database_url, connect_args={"timeout": 30} if database_url.startswith("sqlite") else {})
    done, written, threads = threading.Event(), [], []

    def write():
        with other.begin() as conn:
            conn.execute(sa.insert(LoginAttempt).values(username="nguoi-khac", remote_addr="127.0.0.9",
                                                        attempted_at=utcnow(), is_success=True))
        written.append("written")
        done.set()

    def after(_conn, _cursor, statement, _parameters, _context, _executemany):
        if threads or fragment not in statement:
            return
        threads.append(threading.Thread(target=write))
        threads[0].start()
        done.wait(INTERLOPER_WAIT_SECONDS)

    sa.event.listen(db.engine, "after_cursor_execute", after)
    try:
        yield written
    finally:
        sa.event.remove(db.engine, "after_cursor_execute", after)
        for thread in threads:
            thread.join(60)
        other.dispose()
    assert threads, f"no statement contained {fragment!r}"


def _last_used(token_text):
    return db.session.scalar(sa.select(ApiToken.last_used_at)
                             .where(ApiToken.prefix == token_text[:12]).execution_options(populate_existing=True))


def test_an_api_read_survives_a_writer_between_its_token_look_up_and_the_record_of_its_use(
        app, client, api_headers, database_url):
    headers = api_headers("viewer")
    db.session.commit()
    with another_writer_after(database_url, "FROM api_tokens") as written:
        response = client.get("/api/v1/endpoints", headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert written == ["written"]
    assert _last_used(headers["Authorization"].split()[1]) is not None


def test_a_token_s_use_is_recorded_at_most_once_a_minute(app, client, api_headers):
    headers = api_headers("viewer")
    token = headers["Authorization"].split()[1]
    assert client.get("/api/v1/endpoints", headers=headers).status_code == 200
    first = _last_used(token)
    assert first is not None
    assert client.get("/api/v1/endpoints", headers=headers).status_code == 200
    assert _last_used(token) == first  # within the minute: the read wrote nothing
    db.session.execute(sa.update(ApiToken).values(last_used_at=first - auth.TOKEN_USE_RESOLUTION))
    db.session.commit()
    assert client.get("/api/v1/endpoints", headers=headers).status_code == 200
    assert _last_used(token) >= first


def test_a_write_request_records_its_token_s_use_in_its_own_transaction(app, client, api_headers):
    headers = api_headers("admin")
    token = headers["Authorization"].split()[1]
    response = client.post("/api/v1/endpoints", headers=headers, json={"code": ""})
    assert response.status_code == 400  # refused, yet the token was used
    assert _last_used(token) is not None


@pytest.fixture
def fresh_app(database_url):
    """An app no request has reached yet, to add routes to."""
    yield from own_app(database_url)


def test_a_read_request_that_writes_is_refused_before_the_database_sees_it(fresh_app):
    """The rule as a mechanism: any GET, HEAD or OPTIONS route that writes fails in every test that calls it,
    not under load alone; a short writer of its own inside writing() is what a read may use."""
    app, client = fresh_app, fresh_app.test_client()
    def attempt(name):
        db.session.add(LoginAttempt(username=name, remote_addr="127.0.0.1"))
        db.session.commit()
        return "ok"

    def write_aside():
        with writing(), db.engine.begin() as conn:
            conn.execute(sa.insert(LoginAttempt).values(username="ben-canh", remote_addr="127.0.0.1",
                                                        attempted_at=utcnow()))
        return "ok"

    app.config["WTF_CSRF_ENABLED"] = False
    app.add_url_rule("/thu/ghi", "thu_ghi", lambda: attempt("get"), methods=["GET", "POST"])
    app.add_url_rule("/thu/ghi-rieng", "thu_ghi_rieng", write_aside)
    with pytest.raises(WriteInRead, match="GET /thu/ghi would write"):
        client.get("/thu/ghi")
    db.session.rollback()
    assert client.post("/thu/ghi").status_code == 200
    assert client.get("/thu/ghi-rieng").status_code == 200
    assert sorted(db.session.scalars(sa.select(LoginAttempt.username))) == ["ben-canh", "get"]


@pytest.fixture
def import_file(app, make_endpoint, tmp_path):
    for _ in range(3):
        make_endpoint()
    rows = transfer.export_rows(sa.select(Endpoint).order_by(Endpoint.code))
    path = tmp_path / "sites.csv"
    path.write_bytes(transfer.write_csv([{**row, "notes": "Nhập lại"} for row in rows], "technical"))
    return path


@pytest.mark.parametrize("command", [
    ("users", "token", "{user}"),
    ("users", "create", "nguoi-moi", "--role", "viewer", "--password", "mat-khau-rat-dai-va-kho-doan-1"),
    ("endpoints", "import", "{import_file}"),
])
def test_a_cli_writer_survives_another_writer_between_its_read_and_its_write(
        app, runner, database_url, make_user, import_file, command):
    user = make_user("scheduler")
    args = [part.format(user=user.username, import_file=import_file) for part in command]
    db.session.commit()
    with another_writer_after(database_url, "SELECT") as written:
        result = runner.invoke(args=args)
    assert result.exit_code == 0, (result.output, result.exception)
    assert written == ["written"]


def test_every_cli_command_writes_unless_it_says_it_only_reads(app):
    """A new command takes the write lock at BEGIN unless declared `reads_only` (vmeeting.cli.Commands)."""
    from vmeeting.cli import Commands

    writes = {f"{group.name} {name}": getattr(command.callback, "runs_writing", False)
              for group in app.cli.commands.values() if isinstance(group, Commands)
              for name, command in group.commands.items()}
    assert writes == {"users create": True, "users update": True, "users token": True, "endpoints import": True,
                      "endpoints export": False, "demo load": True, "demo sip-simulator": False,
                      "scheduler run": False}
