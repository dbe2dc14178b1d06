"""Command line: ``flask --app dashboard <command>``."""

import sys
import time

import click
from flask import Flask
from flask_migrate import upgrade
from sqlalchemy import func, select

from .database import write_intent
from .extensions import db
from .models import Contact, Role, User


def register_commands(app: Flask) -> None:
    """Attach the commands to ``app.cli``."""
    from .analytics.cli import COMMANDS as ANALYTICS_COMMANDS
    from .backup import COMMANDS as BACKUP_COMMANDS
    from .contacts.cli import COMMANDS as CONTACT_COMMANDS
    from .groups.cli import COMMANDS as GROUP_COMMANDS

    for command in (
        init_db,
        create_user_command,
        seed_demo_command,
        setup_command,
        *CONTACT_COMMANDS,
        *ANALYTICS_COMMANDS,
        *GROUP_COMMANDS,
        *BACKUP_COMMANDS,
    ):
        app.cli.add_command(command)


def _init_db() -> None:
    with write_intent():
        upgrade()


@click.command("init-db")
def init_db() -> None:
    """Create the schema or upgrade it to the newest migration."""
    started = time.perf_counter()
    _init_db()
    click.echo(
        f"Schema is up to date ({db.engine.dialect.name}, {time.perf_counter() - started:.1f}s)."
    )


@click.command("create-user")
@click.argument("email")
@click.option("--role", type=click.Choice([r.value for r in Role]), required=True)
@click.option("--name", default="", help="Display name.")
@click.option(
    "--generate-password",
    is_flag=True,
    help="Generate a password and print it once instead of prompting.",
)
def create_user_command(email: str, role: str, name: str, generate_password: bool) -> None:
    """Create a dashboard user (password prompted twice, or generated and printed once)."""
    from .users.services import UserError, create_user

    password = None
    if not generate_password:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
        if len(password) < 12:
            raise click.ClickException("Use at least 12 characters.")
    try:
        with write_intent():
            user, password = create_user(email, Role(role), name=name, password=password)
    except UserError as exc:
        raise click.ClickException(str(exc)) from None
    shown = f" with password: {password}" if generate_password else ""
    click.echo(f"Created {user.role.value} {user.email}{shown}")


@click.command("seed-demo")
@click.option("--contacts", default=2000, show_default=True, type=click.IntRange(1, 50_000_000))
@click.option("--days", default=30, show_default=True, type=click.IntRange(1, 3650))
@click.option("--seed", default=42, show_default=True, help="Random seed (same seed, same data).")
def seed_demo_command(contacts: int, days: int, seed: int) -> None:
    """Fill an empty store with deterministic, realistic demo data (and build the rollups)."""
    started = time.perf_counter()
    counts = _seed(contacts, days, seed)
    elapsed = time.perf_counter() - started
    rows = sum(counts.values())
    summary = ", ".join(f"{n} {name}" for name, n in counts.items())
    click.echo(f"Seeded {summary} in {elapsed:.1f}s ({rows / elapsed:,.0f} rows/s).")


def _seed(contacts: int, days: int, seed: int) -> dict[str, int]:
    """Seed the demo store, create a few demo contact groups, then build the analytics rollups
    the charts read (the groups first, so their group rollups are built too and a group filter
    shows data from the first request on)."""
    from .analytics.rollups import backfill_rollups
    from .demo_data import DemoDataError, seed_demo
    from .groups.demo import seed_demo_groups

    try:
        counts = seed_demo(contacts=contacts, days=days, seed=seed, progress=_progress)
    except DemoDataError as exc:
        raise click.ClickException(str(exc)) from None
    for line in seed_demo_groups():
        _progress(f"Demo contact group {line}")
    _progress("Building analytics rollups ...")
    backfill_rollups()
    return counts


def _progress(message: str) -> None:
    click.echo(message, err=True)


@click.command("setup")
@click.option("--admin-email", default="admin@example.com", show_default=True)
@click.option("--demo-contacts", default=2000, show_default=True)
@click.option("--demo-days", default=30, show_default=True)
@click.option(
    "--url",
    default=None,
    help="Where the app will be served, e.g. http://127.0.0.1:5077: the demo website channels "
    "then accept tracking requests from its pages.",
)
def setup_command(admin_email: str, demo_contacts: int, demo_days: int, url: str | None) -> None:
    """First run: schema, demo data when the store is empty, and an admin if there is none."""
    from .channels.origins import InvalidOrigin
    from .demo.services import allow_demo_site
    from .users.services import create_user

    _init_db()
    if not db.session.scalar(select(func.count()).select_from(Contact)):
        click.echo("Loading demo data ...")
        _seed(demo_contacts, demo_days, 42)
    if url:
        db.session.rollback()  # the count above opened a read transaction
        try:
            with write_intent():
                added = allow_demo_site(url)
        except InvalidOrigin:
            raise click.BadParameter(f"not a URL like http://127.0.0.1:5000: {url}") from None
        if added:
            click.echo(f"Demo website channels now also accept {', '.join(added)}.")
    has_admin = db.session.scalar(
        select(func.count()).select_from(User).where(User.role == Role.ADMIN)
    )
    if has_admin:
        click.echo("Admin account exists; its password was printed when it was created.")
        return
    with write_intent():
        user, password = create_user(admin_email, Role.ADMIN, name="Administrator")
    bar = "=" * 64
    click.echo(
        f"{bar}\nAdmin account created (shown once, keep it safe):\n"
        f"  email:    {user.email}\n  password: {password}\n{bar}"
    )
    sys.stdout.flush()
