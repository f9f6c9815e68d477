"""Worker processes as production runs them (`flask --app wsgi scheduler run`), and an SMTP server that can
hold a mail unanswered: what the tests that start, kill and cut workers share."""

import asyncio
import os
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path

import sqlalchemy as sa

from tests.invites.conftest import Collector

ROOT = Path(__file__).resolve().parents[2]


def wait_for(condition, seconds, what, every=0.05):
    """Return once condition() is true; fail with `what` after `seconds` (checked every `every` seconds)."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(every)


def named(database_url, name):
    """The database URL with `name` as its application_name (PostgreSQL), so pg_stat_activity tells the
    worker's connections apart; SQLite's unchanged."""
    if not database_url.startswith("postgresql"):
        return database_url
    return sa.make_url(database_url).update_query_dict({"application_name": name}).render_as_string(
        hide_password=False)


def start_worker(database_url, smtp, tmp_path, *, name=None, **settings):
    """Start one `flask --app wsgi scheduler run` process on the database, sending to smtp; return it.

    name: its application_name on PostgreSQL (default: a new one, kept as
    process.name). settings: more environment (OUTBOX_POLL_SECONDS, SMTP_CONNECTIONS…).
    Its stderr goes to tmp_path/<name>.log.
    """
    name = name or f"vmeeting-worker-{uuid.uuid4().hex[:8]}"
    env = {**os.environ, "DATABASE_URL": named(database_url, name), "SMTP_URL": smtp.url, "SCHEDULER": "off",
           "VMEETING_ENV": "development", "SECRET_KEY": "workers-test-key", "VMEETING_INSTANCE": str(tmp_path),
           **{key: str(value) for key, value in settings.items()}}
    process = subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "scheduler", "run"], cwd=ROOT,
                               env=env, stdout=subprocess.DEVNULL, stderr=open(tmp_path / f"{name}.log", "w"))
    process.name = name
    process.log = tmp_path / f"{name}.log"
    return process


def stop(workers):
    """SIGTERM each worker and wait: each ends its batch, records it and exits 0."""
    for worker in workers:
        worker.terminate()
    for worker in workers:
        assert worker.wait(timeout=120) == 0, worker.log.read_text()


def received(smtp):
    """Return Counter({Message-ID: how many times the server accepted it})."""
    return Counter(str(m["Message-ID"]) for _rcpt, m in smtp.messages)


def all_in(smtp, message_ids):
    """Tell whether the server has accepted every one of message_ids (the Message-IDs read only once enough
    mails have come: reading them takes the GIL from the server's thread in this process)."""
    return len(smtp.messages) >= len(message_ids) and set(received(smtp)) >= message_ids


class Gate(Collector):
    """A Collector that, once `after` mails are accepted, holds every further DATA unanswered until `open()`.

    A held mail is not accepted: its client never reads a 250 (the tests kill
    the client meanwhile), and it answers 451 once opened. `held` counts
    them: with one held per connection, every mail the worker sent before
    has had its answer.
    """

    def __init__(self, after=None):
        super().__init__()
        self.after = after
        self.held = 0
        self._loop = None
        self._opened = None

    async def handle_DATA(self, server, session, envelope):
        if self.after is not None and len(self.messages) >= self.after:
            self._loop = asyncio.get_running_loop()
            self._opened = self._opened or asyncio.Event()
            self.held += 1
            await self._opened.wait()
            return "451 4.3.0 Held, not accepted"
        return await super().handle_DATA(server, session, envelope)

    def open(self):
        """Answer the held mails (451) and hold no more."""
        self.after = None
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._opened.set)
