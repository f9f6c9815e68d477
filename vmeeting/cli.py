"""Flask commands of CONTRACT.md: users, demo, endpoints (and the scheduler, from jobs)."""

import functools
import time
from pathlib import Path

import click
import sqlalchemy as sa
from flask import current_app
from flask.cli import AppGroup

from vmeeting import demo, jobs
from vmeeting.auth import home_unit
from vmeeting.auth import service as auth_service
from vmeeting.auth.models import ROLES
from vmeeting.core.database import writing
from vmeeting.core.errors import ValidationError
from vmeeting.core.extensions import db
from vmeeting.registry import transfer
from vmeeting.registry.models import Endpoint


class Commands(AppGroup):
    """A command group whose commands write unless declared `reads_only=True`.

    A writer runs inside database.writing(): every transaction it begins takes
    SQLite's write lock at BEGIN, waiting for it within the busy timeout, so a
    command that reads and then writes is never refused midway ("database is
    locked") by the server or its worker writing meanwhile (DESIGN.md, "The
    embedded database"). A new command is a writer unless it says otherwise.
    """

    def command(self, *args, reads_only=False, **kwargs):
        register = super().command(*args, **kwargs)

        def decorator(func):
            return register(func if reads_only else _writing(func))

        return decorator


def _writing(func):
    @functools.wraps(func)
    def run(*args, **kwargs):
        with writing():
            try:
                return func(*args, **kwargs)
            finally:
                # What the command read after its commit (a name to print) began a transaction with the lock:
                # end it now, not when the process exits.
                db.session.rollback()

    run.runs_writing = True
    return run


users_cli = Commands("users", help="Manage users and their API tokens.")
endpoints_cli = Commands("endpoints", help="Import and export endpoints as CSV or XLSX.")
demo_cli = Commands("demo", help="The Lạng Sơn demo province.")


@users_cli.command("create")
@click.argument("name")
@click.option("--role", required=True, type=click.Choice(ROLES))
@click.option("--email", default=None)
@click.option("--full-name", default="")
@click.option("--agency", default="", help="The agency the user books for, named in invites.")
@click.option("--password", default=None, help="Asked for when omitted.")
@click.option("--unit", "unit_id", type=int, default=None,
              help="The home unit's id (a unit valid today): the scope a scheduler books freely, what an approver answers for.")
@click.option("--approves", is_flag=True, help="Approves bookings of the home unit's sites (and below) made by others.")
def users_create(name, role, email, full_name, agency, password, unit_id, approves):
    """Create a user."""
    if password is None:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        user = auth_service.create_user(name, role, email=email, password=password, full_name=full_name,
                                        agency=agency)
        home_unit.set_home_unit(user, unit_id)
        home_unit.set_approves(user, approves)
    except ValidationError as exc:
        _refuse(exc)
    db.session.commit()
    click.echo(f"Created {user.username} ({user.role}).")


def _refuse(exc):
    """End a command refused by a ValidationError: nothing written, each field and its reason on stderr, exit 1."""
    db.session.rollback()
    for field, reason in exc.fields.items():
        click.echo(f"{field}: {reason}", err=True)
    raise SystemExit(1) from None


@users_cli.command("update")
@click.argument("name")
@click.option("--unit", "unit_id", type=int, default=None, help="The new home unit's id (a unit valid today).")
@click.option("--no-unit", is_flag=True, help="Attach the user to no unit (the province office).")
@click.option("--approves/--no-approves", default=None, help="Approve bookings of the home unit's sites, or stop.")
def users_update(name, unit_id, no_unit, approves):
    """Change a user's home unit and approval right (issue 27)."""
    user = auth_service.get_user_by_name(name)
    if user is None:
        raise click.ClickException(f"no user named {name!r}")
    if unit_id is not None and no_unit:
        raise click.UsageError("--unit and --no-unit exclude each other")
    try:
        if unit_id is not None or no_unit:
            home_unit.set_home_unit(user, None if no_unit else unit_id)
        if approves is not None:
            home_unit.set_approves(user, approves)
    except ValidationError as exc:
        _refuse(exc)
    db.session.commit()
    unit = user.home_unit.name if user.home_unit is not None else "—"
    click.echo(f"Updated {user.username}: unit {unit}, approves {'yes' if user.approves else 'no'}.")


@users_cli.command("token")
@click.argument("name")
def users_token(name):
    """Print a new API token for a user (only its hash is stored)."""
    user = auth_service.get_user_by_name(name)
    if user is None:
        raise click.ClickException(f"no user named {name!r}")
    token = auth_service.issue_token(user)
    db.session.commit()
    click.echo(token)


@endpoints_cli.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def endpoints_import(path):
    """Create or update endpoints from a CSV or XLSX file, all rows or none."""
    try:
        with path.open("rb") as stream:
            read = transfer.read_file(path.name, stream)
        if read.set_aside:
            click.echo(f"{path.name}: {read.note()}", err=True)
        report = transfer.apply_rows(read.rows)
    except transfer.ImportRejected as exc:
        db.session.rollback()
        for row in exc.report.rows:
            for column, reason in row.errors.items():
                click.echo(f"Dòng {row.number}, cột {column}: {reason}", err=True)
        click.echo(f"Không nhập gì: {exc.report.invalid} trên {len(exc.report.rows)} dòng có lỗi.", err=True)
        raise SystemExit(1) from None
    except ValidationError as exc:
        db.session.rollback()
        for reason in exc.fields.values():
            click.echo(f"{path.name}: {reason}", err=True)
        raise SystemExit(1) from None
    db.session.commit()
    click.echo(f"Đã nhập {len(report.rows)} dòng: {report.created} tạo mới, {report.updated} cập nhật, "
               f"{report.unchanged} không đổi.")


@endpoints_cli.command("export", reads_only=True)
@click.argument("path", type=click.Path(dir_okay=False, writable=True, path_type=Path))
@click.option("--technical", is_flag=True,
              help="Technical column names and values (code, status=active) instead of Vietnamese ones.")
def endpoints_export(path, technical):
    """Write every endpoint, retired ones included, to a CSV or XLSX file."""
    suffix = path.suffix.lower()
    if suffix not in transfer.EXTENSIONS:
        raise click.ClickException("the file name must end in .csv or .xlsx")
    rows = transfer.export_rows(sa.select(Endpoint).order_by(Endpoint.code))
    labels = "technical" if technical else "vi"
    path.write_bytes(transfer.write_csv(rows, labels) if suffix == ".csv" else transfer.write_xlsx(rows, labels))
    click.echo(f"Đã xuất {len(rows)} điểm cầu vào {path}.")


@demo_cli.command("load")
@click.option("--if-empty", is_flag=True, help="Load only into a database that has no unit yet.")
def demo_load(if_empty):
    """Load the Lạng Sơn demo province (idempotent) and print the demo logins."""
    if if_empty and not demo.database_is_empty():
        click.echo("The database already holds units; the demo province is not loaded.")
        if auth_service.get_user_by_name(demo.DEMO_LOGINS[0][0]) is not None:
            _print_demo_logins("Demo logins (unless changed since they were loaded):")
        return
    started = time.monotonic()
    summary = demo.load_demo(current_app.config.get("DEMO_SIP_SIMULATOR"))
    db.session.commit()
    if summary.is_unchanged:
        click.echo("The demo province is already loaded; nothing changed.")
    else:
        made = ", ".join(f"{count} {kind}" for kind, count in summary.created.items())
        click.echo(f"Loaded the Lạng Sơn demo province in {time.monotonic() - started:.1f} s: {made}.")
    _print_demo_logins("Demo logins (for local use only):")


@demo_cli.command("sip-simulator", reads_only=True)
def demo_sip_simulator():
    """Answer SIP OPTIONS for the demo's sites on loopback until stopped (`make run` starts it; development only).

    Off unless VMEETING_ENV=development, DEMO_SIP_SIMULATOR names the address and
    the demo's sites point at it (demo.simulator): then it exits at once, saying why.
    """
    import os
    import signal

    from vmeeting.demo.simulator import SipSimulator, address_of, plan

    setting = current_app.config.get("DEMO_SIP_SIMULATOR")
    if os.environ.get("VMEETING_ENV") != "development" or not setting:
        click.echo("The demo's SIP simulator runs only with VMEETING_ENV=development and DEMO_SIP_SIMULATOR set.")
        return
    host, port = address_of(setting)
    suffix = f"@{host}:{port}"
    uris = db.session.scalars(sa.select(Endpoint.sip_uri).where(Endpoint.sip_uri.like(f"sip:%{suffix}"))).all()
    db.session.rollback()
    users = [uri[len("sip:"):-len(suffix)] for uri in uris]
    if not users:
        click.echo(f"No site points at {setting}: the demo is not loaded here; the SIP simulator stays off.")
        return
    silent, flaky = plan(users)
    try:
        simulator = SipSimulator(host, port, silent=silent, flaky=flaky)
    except OSError as exc:  # the port is taken (another `make run`?): the server runs on without it
        click.echo(f"The demo's SIP simulator cannot listen on udp:{host}:{port}: {exc}.")
        return
    click.echo(f"Demo SIP simulator on udp:{host}:{port} for {len(users)} sites: "
               f"silent {', '.join(sorted(silent)) or 'none'}; coming and going {', '.join(sorted(flaky))}.")
    stopped = []
    signal.signal(signal.SIGTERM, lambda *_: stopped.append(True))
    simulator.start()
    try:
        while not stopped:
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        simulator.stop()


def _print_demo_logins(title):
    click.echo("\n" + title)
    for name, password, role, note in demo.demo_logins():
        click.echo(f"  {name:<16} {password:<20} {role:<11} {note}".rstrip())


scheduler_cli = Commands("scheduler", help="The background worker.")


@scheduler_cli.command("run", reads_only=True)  # its ticks and deliveries take the write lock themselves
def scheduler_run():
    """Run the background worker until interrupted or sent SIGTERM: outbox delivery, and the periodic ticks
    (probes, sweeps, escalations, replies) while this process holds the lease."""
    click.echo(f"Scheduler running with ticks: {', '.join(jobs.ticks())}; delivering the outbox. "
               "Ctrl+C stops it.")
    jobs.run_forever(current_app._get_current_object())


def register(app):
    """Attach the command groups to the app."""
    app.cli.add_command(users_cli)
    app.cli.add_command(endpoints_cli)
    app.cli.add_command(demo_cli)
    app.cli.add_command(scheduler_cli)
