"""DESIGN.md "The embedded database": the server's users and its CLI are never refused while its own worker works.

`flask run` with the embedded worker, as `make run` starts it, on the demo province: the worker
delivers the demo's 312 invites to a real SMTP server (aiosmtpd) and sweeps the network, while
API readers, an editor of a meeting and the CLI's writers (`flask users token`, `flask endpoints
import`, each a process of its own) work beside it. Not one answer may be a 503 nor any command
fail: a read never writes, and every transaction that may write takes the lock when it begins,
waiting within the busy timeout. On SQLite before that rule, 68 s of this met 1,021 × 503 in 1,324
answers ("database is locked") and 4 of 6 commands crashed; PostgreSQL must hold it as well.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.invites.conftest import SmtpServer
from tests.readiness.sip_peers import free_ports
from vmeeting.demo.meetings import DEMO_MEETINGS
from vmeeting.auth import service as auth
from vmeeting.booking.models import Meeting
from vmeeting.core.extensions import db
from vmeeting.network.models import NetworkState
from vmeeting.outbox.models import OutboxMail
from vmeeting.registry import transfer
from vmeeting.registry.models import Endpoint

ROOT = Path(__file__).resolve().parents[1]
#: how long the readers, the editor and the CLI writers work beside the worker (seconds), and at most
HAMMER_SECONDS, MAX_HAMMER_SECONDS = 30, 90
#: how long one request or one command may take on a loaded 2-core machine before it counts as failed
REQUEST_SECONDS, COMMAND_SECONDS = 60, 120
#: the sites each `flask endpoints import` rewrites: a district's worth (checked and written under the lock)
IMPORTED_SITES = 25


def _flask(*args):
    return [sys.executable, "-m", "flask", "--app", "wsgi", *args]


def _environment(database_url, tmp_path, **extra):
    env = {key: value for key, value in os.environ.items()
           if key not in ("BASE_URL", "SMTP_URL", "SCHEDULER", "DATABASE_URL", "FLASK_DEBUG")}
    env.update(DATABASE_URL=database_url, VMEETING_INSTANCE=str(tmp_path), VMEETING_ENV="development",
               SECRET_KEY="embedded-database-test", **extra)
    return env


def _call(url, token, method="GET", body=None):
    """Send one API request; return its status (0 when no answer came) and the start of its body."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers={
        "Authorization": f"Bearer {token}", **({"Content-Type": "application/json"} if data else {})})
    try:
        with urllib.request.urlopen(request, timeout=REQUEST_SECONDS) as response:
            response.read()
            return response.status, ""
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()[:300].decode(errors="replace")
    except OSError as exc:
        return 0, repr(exc)


def _import_files(tmp_path):
    """Two CSV files of a district's sites that differ in their notes, so each import changes all its rows."""
    rows = transfer.export_rows(sa.select(Endpoint).order_by(Endpoint.code).limit(IMPORTED_SITES))
    files = []
    for n, note in enumerate(("Nhập lại lần A", "Nhập lại lần B")):
        path = tmp_path / f"sites-{n}.csv"
        path.write_bytes(transfer.write_csv([{**row, "notes": note} for row in rows], "technical"))
        files.append(path)
    return files


def _wait_for(url, process, seconds=120):
    deadline = time.monotonic() + seconds
    while True:
        assert process.poll() is None, "the server stopped"
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        assert time.monotonic() < deadline, f"{url} did not answer in {seconds} s"
        time.sleep(0.2)


@pytest.mark.long
def test_readers_an_editor_and_cli_writers_beside_the_embedded_worker_are_never_refused(app, database_url, tmp_path,
                                                                                        demo_province):
    users = {name: auth.get_user_by_name(name) for name in ("admin", "scheduler", "viewer", "technician")}
    tokens = {name: auth.issue_token(user) for name, user in users.items()}
    db.session.commit()
    invites = db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMail))  # the demo's 312
    # the whole province's meeting (213 sites) is read, a district's (13 sites) edited
    province_meeting, edited_meeting = (db.session.scalar(sa.select(Meeting.id).where(Meeting.title == plan.title))
                                        for plan in (DEMO_MEETINGS[0], DEMO_MEETINGS[2]))
    import_files = _import_files(tmp_path)
    db.session.remove()  # the server and the commands have the database to themselves

    smtp = SmtpServer()
    smtp.start()
    [port] = free_ports(1, socket.SOCK_STREAM)
    base = f"http://127.0.0.1:{port}"
    log_path = tmp_path / "server.log"
    server = subprocess.Popen(
        _flask("run", "--host", "127.0.0.1", "--port", str(port)), cwd=ROOT, stdout=subprocess.DEVNULL,
        stderr=open(log_path, "w"), start_new_session=True,
        env=_environment(database_url, tmp_path, SCHEDULER="embedded", SMTP_URL=smtp.url, BASE_URL=base,
                         NETWORK_SWEEP_SECONDS="1", PROBE_TIMEOUT_SECONDS="1", OUTBOX_POLL_SECONDS="0.5"))
    answers, failed_commands, commands_run = [], [], {"token": 0, "import": 0}
    lock = threading.Lock()
    stop = threading.Event()

    def note(kind, status, detail=""):
        with lock:
            answers.append((kind, status, detail))

    def reader(token, paths):
        n = 0
        while not stop.is_set():
            path = paths[n % len(paths)]
            status, detail = _call(base + path, token)
            note(f"GET {path}", status, detail)
            n += 1

    def editor(token):
        n = 0
        while not stop.is_set():
            status, detail = _call(f"{base}/api/v1/meetings/{edited_meeting}", token, "PATCH",
                                   {"description": f"Nội dung sửa lần {n}"})
            note("PATCH meeting", status, detail)
            n += 1

    def command(kind, make_args):
        n = 0
        while not stop.is_set():
            args = make_args(n)
            try:
                done = subprocess.run(_flask(*args), cwd=ROOT, env=_environment(database_url, tmp_path),
                                      capture_output=True, text=True, timeout=COMMAND_SECONDS)
                if done.returncode != 0:
                    with lock:
                        failed_commands.append((" ".join(args), done.returncode, done.stderr[-600:]))
            except subprocess.TimeoutExpired:
                with lock:
                    failed_commands.append((" ".join(args), "timeout", ""))
            with lock:
                commands_run[kind] += 1
            n += 1

    reads = ["/api/v1/endpoints?per_page=500", f"/api/v1/meetings/{province_meeting}",
             f"/api/v1/meetings/{province_meeting}/invite.ics"]
    threads = [threading.Thread(target=reader, args=(tokens[name], reads[i:] + reads[:i]))
               for i, name in enumerate(("admin", "viewer", "technician"))]
    threads.append(threading.Thread(target=editor, args=(tokens["scheduler"],)))
    threads.append(threading.Thread(target=command, args=("token", lambda n: ("users", "token", "scheduler"))))
    threads.append(threading.Thread(target=command, args=(
        "import", lambda n: ("endpoints", "import", str(import_files[n % 2])))))
    try:
        _wait_for(f"{base}/healthz", server)
        started = time.monotonic()
        delivered_before = len(smtp.messages)
        for thread in threads:
            thread.start()
        # HAMMER_SECONDS, longer while a command has not run twice or a kind of request has not been answered three
        # times (a process starts slowly, and a request takes long, on a loaded machine)
        kinds = [*(f"GET {path}" for path in reads), "PATCH meeting"]
        while not stop.wait(0.5):
            elapsed = time.monotonic() - started
            with lock:
                commands_done = min(commands_run.values())
                answered = [sum(1 for kind, status, _ in answers if kind == k and status == 200) for k in kinds]
            if elapsed >= HAMMER_SECONDS and commands_done >= 2 and min(answered) >= 3 or elapsed >= MAX_HAMMER_SECONDS:
                stop.set()
        for thread in threads:
            thread.join(COMMAND_SECONDS + REQUEST_SECONDS)
        hammered = time.monotonic() - started
        delivered_while = len(smtp.messages) - delivered_before
        deadline = time.monotonic() + 120
        while len({m["Message-ID"] for _rcpt, m in smtp.messages}) < invites and time.monotonic() < deadline:
            time.sleep(0.5)
    finally:
        stop.set()
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=60)
        smtp.stop()

    by_kind = {}
    for kind, status, _detail in answers:
        by_kind.setdefault(kind, {}).setdefault(status, 0)
        by_kind[kind][status] += 1
    refused = [a for a in answers if a[1] == 503]
    wrong = [a for a in answers if a[1] != 200]
    log = log_path.read_text(errors="replace")
    locked = log.count("database is locked")
    summary = f"{len(answers)} answers in {hammered:.0f} s {by_kind}; commands run {commands_run}"
    print(summary, f"{delivered_while} mails delivered meanwhile")  # the figures, for `pytest -s`
    assert (len(refused), len(wrong), len(failed_commands), locked) == (0, 0, 0, 0), (
        f"{len(refused)} × 503, {len(wrong)} answers not 200, {len(failed_commands)} commands failed, "
        f"{locked} × 'database is locked' in the server's log; {summary}\n{wrong[:2]}\n{failed_commands[:2]}\n"
        + (log[max(0, log.index("database is locked") - 1500):][:2500] if locked else ""))
    # the load was what it claims: every kind of request and command ran, beside delivery and a sweep
    assert all(by_kind.get(f"GET {path}", {}).get(200, 0) >= 3 for path in reads), summary
    assert by_kind.get("PATCH meeting", {}).get(200, 0) >= 3, summary
    assert min(commands_run.values()) >= 1, summary
    assert delivered_while > 0, "no mail was delivered while the clients worked"
    assert len({m["Message-ID"] for _rcpt, m in smtp.messages}) >= invites, "the demo's invites were not all delivered"
    swept = db.session.scalar(sa.select(sa.func.count()).where(NetworkState.last_checked_at.is_not(None)))
    assert swept > 0, "the worker never swept"
