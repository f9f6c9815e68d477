"""Flask commands of CONTRACT.md: users, demo, endpoints (and the scheduler, from jobs)."""

import click
from flask.cli import AppGroup

from vmeeting.auth import service as auth_service
from vmeeting.auth.models import ROLES
from vmeeting.errors import ValidationError
from vmeeting.extensions import db

users_cli = AppGroup("users", help="Manage users and their API tokens.")


@users_cli.command("create")
@click.argument("name")
@click.option("--role", required=True, type=click.Choice(ROLES))
@click.option("--email", default=None)
@click.option("--full-name", default="")
@click.option("--password", default=None, help="Asked for when omitted.")
def users_create(name, role, email, full_name, password):
    """Create a user."""
    if password is None:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        user = auth_service.create_user(name, role, email=email, password=password, full_name=full_name)
    except ValidationError as exc:
        db.session.rollback()
        for field, reason in exc.fields.items():
            click.echo(f"{field}: {reason}", err=True)
        raise SystemExit(1) from None
    db.session.commit()
    click.echo(f"Created {user.username} ({user.role}).")


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


def register(app):
    """Attach the command groups to the app."""
    app.cli.add_command(users_cli)
