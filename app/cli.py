"""Flask CLI: `flask users …`, `flask demo-data`, `flask worker`."""

from __future__ import annotations

import click
from flask import Flask

from app.auth.models import Role, Subgroup
from app.auth.services import UserError, create_api_token, create_user, find_user_by_email
from app.extensions import db
from app.jobs import worker_command

users = click.Group("users", help="Manage users.")


@users.command("create")
@click.argument("email")
@click.option("--name", required=True)
@click.option("--role", type=click.Choice([r.value for r in Role]), default="technician")
@click.option("--password", required=True)
@click.option("--subgroup", "subgroup_name", default=None, help="Subgroup name (created if new).")
@click.option("--employee-number", default=None)
@click.option("--cost-center", default=None)
def create_user_command(
    email: str,
    name: str,
    role: str,
    password: str,
    subgroup_name: str | None,
    employee_number: str | None,
    cost_center: str | None,
) -> None:
    """Create a user who signs in with EMAIL."""
    from sqlalchemy import select

    subgroup = None
    if subgroup_name:
        subgroup = db.session.scalar(select(Subgroup).where(Subgroup.name == subgroup_name))
        if subgroup is None:
            subgroup = Subgroup(name=subgroup_name)
            db.session.add(subgroup)
    try:
        user = create_user(
            email=email,
            name=name,
            password=password,
            role=role,
            subgroup=subgroup,
            employee_number=employee_number,
            cost_center=cost_center,
        )
    except UserError as exc:
        raise click.ClickException(exc.message) from exc
    db.session.commit()
    click.echo(f"Created {user.role.value} {user.email}")


@users.command("create-token")
@click.argument("email")
@click.option("--name", default="cli", help="A name to recognise the token by.")
def create_token_command(email: str, name: str) -> None:
    """Print a new personal API token for EMAIL (shown once; stored hashed)."""
    user = find_user_by_email(email)
    if user is None:
        raise click.ClickException(f"No user with e-mail {email}")
    token = create_api_token(user, name)
    db.session.commit()
    click.echo(token)


@click.command("demo-data")
@click.option("--force", is_flag=True, help="Load even if the database has users.")
def demo_data_command(force: bool) -> None:
    """Fill an empty database with a realistic Swedish demo dataset."""
    from app.demo import DEMO_PASSWORD, load_demo_data

    try:
        summary = load_demo_data(force=force)
    except RuntimeError as exc:
        raise click.ClickException(str(exc)) from exc
    db.session.commit()
    click.echo(summary)
    click.echo(
        f"Demo logins (password {DEMO_PASSWORD}): admin@example.com, kontor@example.com, "
        "tekniker1@example.com … tekniker3@example.com"
    )


def init_cli(app: Flask) -> None:
    app.cli.add_command(users)
    app.cli.add_command(demo_data_command)
    app.cli.add_command(worker_command)
