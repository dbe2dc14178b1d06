"""Command line: build the analytics rollups from scratch, or bring them up to date once."""

import time
from collections.abc import Callable

import click
from flask import current_app

from .rollups import backfill_rollups, refresh_rollups
from .worker import settings_from


def _progress_printer() -> Callable[[str, int, int], None]:
    last = {"at": 0.0}

    def progress(stream: str, position: int, top: int) -> None:
        now = time.perf_counter()
        if now - last["at"] >= 2 or position >= top:
            last["at"] = now
            click.echo(f"{stream}: {position:,} / {top:,}", err=True)

    return progress


@click.command("backfill-rollups")
def backfill_rollups_command() -> None:
    """Rebuild every analytics rollup from the raw tables (charts read them)."""
    started = time.perf_counter()
    result = backfill_rollups(settings_from(current_app.config), progress=_progress_printer())
    elapsed = time.perf_counter() - started
    rows = ", ".join(f"{n:,} {stream} rows" for stream, n in result.rows.items())
    click.echo(f"Rolled up {rows} in {elapsed:.1f}s.")


@click.command("refresh-rollups")
def refresh_rollups_command() -> None:
    """Roll up what arrived since the last run (for cron when no worker runs the job)."""
    started = time.perf_counter()
    result = refresh_rollups(settings_from(current_app.config), max_batches=None)
    elapsed = time.perf_counter() - started
    busy = f"; busy in another process: {', '.join(sorted(result.busy))}" if result.busy else ""
    rows = ", ".join(f"{n:,} {stream} rows" for stream, n in result.rows.items())
    click.echo(f"Rolled up {rows} in {elapsed:.1f}s{busy}.")


COMMANDS = (backfill_rollups_command, refresh_rollups_command)
