"""How long one worker's drain of a national booking's invites takes, to a local SMTP server (aiosmtpd).

    .venv/bin/python bench/drain.py [--backend sqlite|postgresql] [--sites 1200] [--rounds 3]

A quick figure for a change of the delivery loop, without generating the
country (bench/run.py --only delivery times worker processes on it): a fresh
database, one province of `--sites` sites (each with one contact address), and
per round one meeting of all of them booked and committed (at least
OUTBOX_FANOUT_SITES sites: one change record). The clock runs from the
commit until `deliver_outbox` (as the worker's drain calls it, SMTP_CONNECTIONS
connections) has returned with every invite accepted by the server, expansion
and building included. Prints each round's mails per second and their median.
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import timedelta, timezone
from pathlib import Path

ROOT = Path(os.environ.get("VMEETING_ROOT", Path(__file__).resolve().parents[1]))
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

import sqlalchemy as sa  # noqa: E402

from delivery import Receiver  # noqa: E402
from tests.pg import create_postgres_database  # noqa: E402

PG_SERVER = os.environ.get("BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def _sites(count):
    from vmeeting.core.extensions import db
    from vmeeting.core.text import fold, sort_key
    from vmeeting.registry import service as registry
    from vmeeting.registry.models import Endpoint

    province = registry.save_unit(None, {"name": "Tỉnh Đo Thư", "kind": "tỉnh", "code": "99", "parent_id": None})
    db.session.commit()
    db.session.execute(sa.insert(Endpoint), [
        {"code": f"XA{n:05d}", "name": f"UBND xã số {n}", "unit_id": province.id, "category": "commune",
         "sip_uri": f"sip:xa{n}@127.0.0.1", "contact_name": f"Văn phòng xã {n}",
         "contact_emails": [f"xa{n:05d}@example.vn"], "search_key": fold(f"UBND xã số {n} XA{n:05d}"),
         "name_casefold": f"ubnd xã số {n}", "name_sort_key": sort_key(f"UBND xã số {n}")} for n in range(count)])
    db.session.commit()
    return db.session.scalars(sa.select(Endpoint.id).order_by(Endpoint.id)).all()


def _book(ids, day):
    from vmeeting.booking import service as booking
    from vmeeting.core.database import writing
    from vmeeting.core.extensions import db

    start = day.astimezone(timezone.utc)
    with writing():
        booking.book_meeting({"title": f"Hội nghị đo {day:%d/%m}", "starts_at": start,
                              "ends_at": start + timedelta(hours=1), "chair_endpoint_id": ids[0]},
                             booking.resolve_sites(endpoint_ids=ids),
                             choices=booking.BookingChoices(allow_non_working_time=True))
        db.session.commit()


def main(argv=None):
    from flask_migrate import upgrade

    from config import TestingConfig
    from tests.booking.conftest import next_monday
    from vmeeting import create_app
    from vmeeting.core.database import writing
    from vmeeting.core.extensions import db
    from vmeeting.outbox.delivery import deliver_outbox

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--sites", type=int, default=1200)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="vmeeting-drain-"))
    if args.backend == "sqlite":
        url, drop = f"sqlite:///{workdir / 'drain.db'}", (lambda: None)
    else:
        url, drop = create_postgres_database(PG_SERVER, "vmeeting_drain")
    receiver = Receiver().start()
    rates = []
    try:
        app = create_app(TestingConfig, {"SQLALCHEMY_DATABASE_URI": url, "SMTP_URL": receiver.url,
                                         "SMTP_CONNECTIONS": TestingConfig.SMTP_CONNECTIONS})
        with app.app_context():
            upgrade()
            ids = _sites(args.sites)
            for n in range(args.rounds):
                before = len(receiver.accepted)
                _book(ids, next_monday() + timedelta(days=n))
                began = time.perf_counter()
                with writing():
                    deliver_outbox()
                seconds = time.perf_counter() - began
                mails = len(receiver.accepted) - before
                rates.append(mails / seconds)
                print(f"round {n + 1}: {mails} mails in {seconds:.2f} s: {mails / seconds:.0f} mails/s", flush=True)
            db.session.remove()
            db.engine.dispose()
    finally:
        receiver.stop()
        drop()
    print(f"median: {statistics.median(rates):.0f} mails/s ({args.backend}, {args.sites} sites, "
          f"SMTP_CONNECTIONS {TestingConfig.SMTP_CONNECTIONS})")


if __name__ == "__main__":
    main()
