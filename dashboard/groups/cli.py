"""Commands: the daily full recalculation and a one-off drain of the refresh queue."""

import time

import click
from sqlalchemy import select

from ..domain import segments as s
from ..extensions import db
from ..models import ContactGroup
from ..permissions import Permission
from ..progress import Step, new_key, track
from .membership import RECALCULATION, RecalculationRefused, recalculate_group
from .refresher import drain_membership_refresh


def _progress(message: object) -> None:
    click.echo(message, err=True)


def _groups_to_recalculate(code_name: str | None) -> list[tuple[int, str]]:
    """Enabled groups with a condition (or the named one), dependencies first."""
    query = select(ContactGroup.id, ContactGroup.code_name, ContactGroup.condition)
    if code_name:
        rows = db.session.execute(query.where(ContactGroup.code_name == code_name)).all()
        if not rows:
            raise click.ClickException(f"No group with code name {code_name!r}.")
    else:
        rows = [
            row
            for row in db.session.execute(query.where(ContactGroup.enabled.is_(True)))
            if s.condition_from_json(row.condition).groups  # JSON null is not SQL NULL
        ]
    names = {gid: code for gid, code, _ in rows}
    order = s.dependency_order({gid: s.stored_references(cond) for gid, _, cond in rows})
    db.session.rollback()
    return [(gid, names[gid]) for gid in order]


@click.command("recalculate-groups")
@click.option("--group", "code_name", default=None, help="Only this group (by code name).")
def recalculate_groups_command(code_name: str | None) -> None:
    """Rebuild group memberships from their conditions (schedule daily: time windows move)."""
    started = time.perf_counter()
    groups = _groups_to_recalculate(code_name)
    members = 0
    failed: list[str] = []
    for group_id, code in groups:
        try:
            # Recorded, so the group's page shows how far a scheduled run has got.
            with track(
                RECALCULATION,
                Permission.MANAGE_GROUPS,
                "Recalculating the members (scheduled run)",
                key=new_key(),
                subject=str(group_id),
            ) as recorder:

                def progress(step: Step, recorder=recorder) -> None:  # type: ignore[no-untyped-def]
                    _progress(step)
                    recorder(step)

                done = recalculate_group(group_id, progress=progress)
                recorder.finish(f"{done.members:,} members in {done.seconds:.1f}s.")
        except RecalculationRefused as exc:
            _progress(f"{code}: skipped: {exc}")
            failed.append(code)
            continue
        members += done.members
        _progress(f"{code}: {done.members:,} members in {done.seconds:.1f}s")
        # Keep memberships fresh between groups of a long run (R17).
        drain_membership_refresh()
    elapsed = time.perf_counter() - started
    click.echo(
        f"Recalculated {len(groups) - len(failed)} of {len(groups)} groups "
        f"({members:,} members) in {elapsed:.1f}s."
    )
    if failed:
        raise click.ClickException(f"Not recalculated: {', '.join(failed)}.")


@click.command("refresh-groups")
def refresh_groups_command() -> None:
    """Refresh the memberships of contacts queued since their data changed (R17), now."""
    started = time.perf_counter()
    refreshed = drain_membership_refresh()
    click.echo(
        f"Refreshed the memberships of {refreshed:,} contacts in "
        f"{time.perf_counter() - started:.1f}s."
    )


COMMANDS = (recalculate_groups_command, refresh_groups_command)
