"""Materialised membership (R17): bring ``by_condition`` flags in line with a group's condition.

``apply_condition`` is the one set-based step everything else uses: for the contacts a *scope*
selects (an id range of a recalculation batch, or the ids of a refresh batch) it

1. inserts the contacts the condition matches, or flags their existing (manual) rows;
2. deletes rows of members that no longer match and were not added by hand;
3. clears the flag of hand-added members that no longer match (manual members survive).

Each step is one statement whose WHERE clause is the compiled condition, so nothing is loaded
into Python. Callers run it inside a write transaction that first locks the group's row:
recalculation batches lock it exclusively and refresh batches in share mode, so on PostgreSQL a
refresh and a recalculation batch never evaluate the same group at the same time and whichever
writes last has seen the other's data. SQLite serialises writers anyway.
"""

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, literal, select, update
from sqlalchemy.sql import ColumnElement

from ..database import write_intent
from ..domain import segments as s
from ..extensions import db
from ..models import Contact, ContactGroup, ContactGroupMember, GroupStatus, UTCDateTime, utcnow
from ..progress import Progress, Step
from ..sql import upsert_insert
from .compiler import compile_condition

log = logging.getLogger(__name__)

RECALCULATION = "recalculation"  # the kind of its progress rows (dashboard/progress.py)
RECALCULATION_BATCH = 50_000  # contact ids per transaction: a short hold of SQLite's write lock
# A recalculation whose status has not moved for this long was interrupted (a crash, a killed
# worker); the group may then be recalculated again.
STALE_CALCULATION = timedelta(minutes=15)

Scope = Callable[[Any], ColumnElement[bool]]  # contact-id column -> restriction


def id_range(low: int, high: int) -> Scope:
    """Scope of contact ids from ``low`` to ``high`` inclusive."""
    return lambda column: column.between(low, high)


def id_list(ids: Iterable[int]) -> Scope:
    """Scope of the given contact ids."""
    listed = sorted(set(ids))
    return lambda column: column.in_(listed)


def apply_condition(group_id: int, condition: s.Condition, scope: Scope, *, now: datetime) -> None:
    """Fix the group's ``by_condition`` flags for the scoped contacts (the caller commits)."""
    matches = compile_condition(condition, now=now)
    member = ContactGroupMember
    matching = select(
        literal(group_id),
        Contact.id,
        literal(True),
        literal(False),
        literal(now, UTCDateTime()),
    ).where(scope(Contact.id), matches)
    db.session.execute(
        upsert_insert(member)
        .from_select(["group_id", "contact_id", "by_condition", "manual", "added_at"], matching)
        .on_conflict_do_update(
            index_elements=["group_id", "contact_id"],
            set_={"by_condition": True},
            where=member.by_condition.is_(False),
        )
    )
    still_matches = select(Contact.id).where(Contact.id == member.contact_id, matches).exists()
    stale = [
        member.group_id == group_id,
        member.by_condition.is_(True),
        scope(member.contact_id),
        ~still_matches,
    ]
    db.session.execute(
        delete(member).where(*stale, member.manual.is_(False)),
        execution_options={"synchronize_session": False},
    )
    db.session.execute(
        update(member).where(*stale, member.manual.is_(True)).values(by_condition=False),
        execution_options={"synchronize_session": False},
    )


def lock_group(group_id: int, *, share: bool = False) -> ContactGroup | None:
    """Load the group and lock its row for the transaction (PostgreSQL; SQLite locks the file)."""
    return db.session.scalars(
        select(ContactGroup)
        .where(ContactGroup.id == group_id)
        .with_for_update(read=share)
        .execution_options(populate_existing=True)
    ).one_or_none()


class RecalculationRefused(Exception):
    """The group cannot be recalculated now; the message says why."""


@dataclass(frozen=True)
class Recalculation:
    """What a recalculation did."""

    group_id: int
    members: int
    seconds: float
    completed: bool  # False when the condition changed meanwhile (the group stays "changed")


def is_stale(group: ContactGroup, now: datetime) -> bool:
    """A calculation that has not progressed for ``STALE_CALCULATION`` was interrupted."""
    return group.status == GroupStatus.CALCULATING and group.updated_at < now - STALE_CALCULATION


def _start(group_id: int, now: datetime) -> dict | None:
    """Mark the group "calculating" and return its stored condition."""
    with write_intent():
        group = lock_group(group_id)
        if group is None:
            db.session.rollback()
            raise RecalculationRefused("This group no longer exists.")
        if group.status == GroupStatus.CALCULATING and not is_stale(group, now):
            db.session.rollback()
            raise RecalculationRefused("This group is being recalculated already.")
        group.status = GroupStatus.CALCULATING
        group.updated_at = utcnow()
        stored = group.condition
        db.session.commit()
    return stored


def _contact_id_bounds() -> tuple[int, int]:
    low, high = db.session.execute(select(func.min(Contact.id), func.max(Contact.id))).one()
    db.session.rollback()
    return (low or 0), (high or 0)


def _batch(
    group_id: int, condition: s.Condition, stored: dict | None, low: int, high: int, now: datetime
) -> bool:
    """Apply the condition to one id range in its own transaction; False when it changed."""
    with write_intent():
        group = lock_group(group_id)
        if group is None or group.status != GroupStatus.CALCULATING or group.condition != stored:
            db.session.rollback()
            return False
        apply_condition(group_id, condition, id_range(low, high), now=now)
        group.updated_at = utcnow()  # progress: the calculation is alive
        db.session.commit()
    return True


def member_count(group_id: int) -> int:
    """Members of the group, by condition or by hand."""
    return (
        db.session.scalar(
            select(func.count())
            .select_from(ContactGroupMember)
            .where(ContactGroupMember.group_id == group_id)
        )
        or 0
    )


def recalculate_group(
    group_id: int,
    *,
    now: datetime | None = None,
    batch_size: int = RECALCULATION_BATCH,
    progress: Progress | None = None,
) -> Recalculation:
    """Rebuild the group's condition membership over the whole store, one transaction per batch
    of contact ids; manual members stay. Time windows are measured from ``now`` (the start).

    Raises ``RecalculationRefused`` when the group is gone or being recalculated.
    """
    started = utcnow()
    now = now or started
    db.session.commit()  # end the caller's read transaction: batches take the write lock
    stored = _start(group_id, now)
    condition = s.condition_from_json(stored)
    low, high = _contact_id_bounds()
    completed = True
    for first in range(low, high + 1, batch_size):
        last = min(first + batch_size - 1, high)
        if not _batch(group_id, condition, stored, first, last, now):
            completed = False
            break
        if progress is not None:
            text = f"contacts up to id {last:,} of {high:,}"
            progress(Step(text, last - low + 1, high - low + 1))
    if completed:
        with write_intent():
            db.session.execute(
                update(ContactGroup)
                .where(ContactGroup.id == group_id, ContactGroup.status == GroupStatus.CALCULATING)
                .values(status=GroupStatus.READY, last_calculated_at=now, updated_at=utcnow())
            )
            db.session.commit()
    members = member_count(group_id)
    db.session.rollback()
    seconds = (utcnow() - started).total_seconds()
    log.info("recalculated group %s: %s members in %.2fs", group_id, members, seconds)
    return Recalculation(group_id, members, seconds, completed)


def all_references() -> dict[int, set[int]]:
    """Every group's id and the group ids its stored condition references."""
    rows = db.session.execute(select(ContactGroup.id, ContactGroup.condition)).all()
    return {gid: s.stored_references(condition) for gid, condition in rows}


def dependents_of(group_id: int, references: dict[int, set[int]] | None = None) -> list[int]:
    """Groups whose conditions use ``group_id``, directly or through others, in the order they
    must be recalculated."""
    references = references if references is not None else all_references()
    found: set[int] = set()
    frontier = {group_id}
    while frontier:
        frontier = {g for g, refs in references.items() if refs & frontier and g not in found}
        found |= frontier
    found.discard(group_id)
    return [g for g in s.dependency_order(references) if g in found]
