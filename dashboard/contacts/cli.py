"""Command line: ``import-contacts FILE.csv`` and ``purge-inactive``."""

import time
from pathlib import Path

import click

from ..database import write_intent

PROBLEMS_SHOWN = 50


def _progress(message: object) -> None:
    click.echo(message, err=True)


@click.command("import-contacts")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--check", is_flag=True, help="Only check the file; write nothing.")
def import_contacts_command(path: Path, check: bool) -> None:
    """Check a CSV file of contacts, then upsert them by GUID or email in batches."""
    from .importing import ImportAborted, check_import, file_source, run_import

    source = file_source(path)
    started = time.perf_counter()
    try:
        report = check_import(source, _progress) if check else run_import(source, None, _progress)
    except ImportAborted as exc:
        raise click.ClickException(str(exc)) from None
    if report.problem_count:
        for p in report.problems[:PROBLEMS_SHOWN]:
            click.echo(f"line {p.line}, {p.column or 'row'}: {p.message}", err=True)
        more = report.problem_count - min(len(report.problems), PROBLEMS_SHOWN)
        if more > 0:
            click.echo(f"... and {more:,} more problems", err=True)
        raise click.ClickException(
            f"{report.problem_count:,} problems in {path.name}; nothing was imported."
        )
    if not report.rows:
        raise click.ClickException(f"{path.name} has no contact rows.")
    outcome = "would be created" if check else "created"
    click.echo(
        f"{'Checked' if check else 'Imported'} {report.rows:,} rows from {path.name}: "
        f"{report.created:,} contacts {outcome}, {report.updated:,} "
        f"{'would be ' if check else ''}updated ({time.perf_counter() - started:.1f}s)."
    )


@click.command("purge-inactive")
@click.option("--dry-run", is_flag=True, help="Only count the contacts that would be deleted.")
def purge_inactive_command(dry_run: bool) -> None:
    """Delete contacts inactive longer than the retention setting (R12), in batches."""
    from ..permissions import Permission
    from ..privacy.services import (
        PURGE,
        PURGE_SUBJECT,
        count_inactive,
        get_retention,
        purge_inactive,
    )
    from ..progress import Step, new_key, track

    retention = get_retention()
    if not retention.enabled:
        click.echo("Retention is off; nothing deleted (turn it on under Data protection).")
        return
    if dry_run:
        n = count_inactive(retention)
        click.echo(f"{n:,} contacts inactive for more than {retention.days} days would be deleted.")
        return
    started = time.perf_counter()
    # Recorded, so the retention page shows how far a scheduled run has got.
    with (
        track(
            PURGE,
            Permission.DATA_PROTECTION,
            "Deleting inactive contacts (scheduled run)",
            key=new_key(),
            subject=PURGE_SUBJECT,
            total=count_inactive(retention),
        ) as recorder,
        write_intent(),
    ):

        def progress(deleted: int) -> None:
            step = Step(f"deleted {deleted:,}", deleted)
            _progress(step)
            recorder(step)

        deleted = purge_inactive(retention, progress=progress)
        recorder.finish(f"Deleted {deleted:,} inactive contacts.", deleted)
    click.echo(
        f"Deleted {deleted:,} contacts inactive for more than {retention.days} days "
        f"({time.perf_counter() - started:.1f}s)."
    )


COMMANDS = [import_contacts_command, purge_inactive_command]
