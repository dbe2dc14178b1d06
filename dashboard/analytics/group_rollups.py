"""Keeping the per-group rollups current, inside the activity stream's transaction.

What the group rollups hold, after every run: the activities the store-wide rollups count (ids up
to the stream's position, less its open gaps) of the contacts in ``group_rollup_member``, by group.
That table is the membership as the job last applied it; triggers log every change of the real
membership (``group_member_change``) and every activity deleted or changed
(``group_dirty_day``) in the transaction that made it, and each run of the activity stream, before
it rolls up its window of new activities:

1. turns the dirty (contact, day) rows into (group, day) pairs through ``group_rollup_member``
   (before step 2 may drop a deleted contact from it) and deletes them;
2. applies the membership changes: for each (group, contact) pair in the log, compares the real
   membership with the rolled one, adds the contact's already rolled-up activities and
   agreements to the group (and the pair to ``group_rollup_member``) or takes them out; the log
   rows are deleted;
3. recounts each dirty (group, day) pair from the raw rows of the rolled membership.

Agreements follow the same order, against the agreement stream's position (whose lock the
activity stream holds while it applies changes, so the agreement stream never adds a window for
a membership it has not seen): step 1 also turns the contacts of deleted or changed agreements
(``group_consent_dirty``) into their rolled groups, and step 3 recounts those groups' consent
rollups whole, since such a change alters the running state of the contact's later rows
(``consent_rollups.py``). The agreement stream adds its window for the rolled membership.

``group_contact_daily`` (members created per day, identified now) is recounted, not added to: for
the creation days of the contacts whose membership changed (``group_rollup_member`` keeps each
one's day, so a deleted contact's day is known), and for every group wherever the store-wide
``contact_daily`` is recounted (new contacts, identifying activities, the reconciler).

Then the window of new activities (and late ids of earlier gaps) is added to every group of the
rolled membership. Steps 2 and 3 read only ids the stream had rolled up before this run, the
window only newer ones, so an activity arriving in the same run as its contact's membership is
counted once. Only the job writes ``group_rollup_member``, under the stream's lock: a membership
change committed while a run is under way waits in the log for the next run.

The set of changes is state based (the real membership against the rolled one), not a sum of the
logged signs: applying a pair twice, or a pair whose log rows were already applied, changes
nothing.
"""

from collections import defaultdict
from collections.abc import Iterable, Iterator
from datetime import date

from sqlalchemy import Integer, and_, bindparam, delete, func, insert, literal, select
from sqlalchemy.sql import ColumnElement

from ..extensions import db
from ..models import Activity, ConsentAgreement, Contact, ContactGroupMember
from ..models.group_analytics import (
    GroupActivityDaily,
    GroupConsentDaily,
    GroupConsentDirty,
    GroupContactDaily,
    GroupDirtyDay,
    GroupMemberChange,
    GroupPageDaily,
    GroupRollupMember,
    GroupSourceDaily,
)
from . import consent_rollups
from .sql import day_end, day_runs, day_start, utc_day
from .targets import Target

CHANGE_BATCH = 5_000  # log rows per transaction: at 1M contacts about 2 s of SQLite's write lock
CONTACT_CHUNK = 5_000  # contact ids per IN list
GROUP_ROLLUPS = (GroupActivityDaily, GroupPageDaily, GroupSourceDaily)
MEASURES = {
    GroupActivityDaily: GroupActivityDaily.activities,
    GroupPageDaily: GroupPageDaily.views,
    GroupSourceDaily: GroupSourceDaily.visits,
}
LOGS = (GroupMemberChange, GroupDirtyDay, GroupConsentDirty)


def _chunks(items: list[int]) -> Iterator[list[int]]:
    for i in range(0, len(items), CONTACT_CHUNK):
        yield items[i : i + CONTACT_CHUNK]


def _by_group(pairs: Iterable[tuple[int, int]]) -> dict[int, list[int]]:
    grouped: dict[int, list[int]] = defaultdict(list)
    for group_id, contact_id in sorted(pairs):
        grouped[group_id].append(contact_id)
    return grouped


def rolled_members(groups: list[int] | None = None, *, sign: int = 1) -> Target:
    """The rollup target of the rolled membership (every group, or only ``groups``)."""
    on = GroupRollupMember.contact_id == Activity.contact_id
    if groups is not None:
        on = and_(on, GroupRollupMember.group_id.in_(groups))
    return Target(
        GroupActivityDaily,
        GroupPageDaily,
        GroupSourceDaily,
        group=GroupRollupMember.group_id,
        join=(GroupRollupMember, on),
        sign=sign,
    )


def pending() -> bool:
    """Whether a membership change or a dirty day waits for the job."""
    return any(db.session.scalar(select(model).limit(1)) is not None for model in LOGS)


def _pairs(model: type, contacts: list[int]) -> set[tuple[int, int]]:
    found: set[tuple[int, int]] = set()
    for chunk in _chunks(contacts):
        found.update(
            db.session.execute(
                select(model.group_id, model.contact_id).where(model.contact_id.in_(chunk))  # type: ignore[attr-defined]
            ).all()
        )
    return found


def take_dirty_days() -> dict[date, set[int]]:
    """The (day -> groups) pairs to recount, from the dirty-day log, which is emptied of them."""
    rows = db.session.execute(select(GroupDirtyDay.contact_id, GroupDirtyDay.day)).all()
    if not rows:
        return {}
    days: dict[int, set[date]] = defaultdict(set)
    for contact_id, day in rows:
        days[contact_id].add(day)
    wanted: dict[date, set[int]] = defaultdict(set)
    for group_id, contact_id in _pairs(GroupRollupMember, sorted(days)):
        for day in days[contact_id]:
            wanted[day].add(group_id)
    table = GroupDirtyDay.__table__
    db.session.connection().execute(
        table.delete().where(
            table.c.contact_id == bindparam("b_contact"), table.c.day == bindparam("b_day")
        ),
        [{"b_contact": c, "b_day": d} for c, d in rows],
    )
    return dict(wanted)


def take_dirty_consent_groups() -> list[int]:
    """The rolled groups of the contacts in the agreement log, which is emptied of them."""
    contacts = sorted(db.session.scalars(select(GroupConsentDirty.contact_id)))
    for chunk in _chunks(contacts):
        db.session.execute(delete(GroupConsentDirty).where(GroupConsentDirty.contact_id.in_(chunk)))
    return sorted({g for g, _ in _pairs(GroupRollupMember, contacts)})


def apply_membership_changes(  # type: ignore[no-untyped-def]
    rollup, rolled: ColumnElement[bool], agreements: ColumnElement[bool]
) -> tuple[int, bool]:
    """Apply the oldest logged membership changes against the rolled-up activities (``rolled``)
    and agreements (``agreements``); return the log rows applied and whether the log is empty
    now."""
    rows = db.session.execute(
        select(GroupMemberChange.id, GroupMemberChange.group_id, GroupMemberChange.contact_id)
        .order_by(GroupMemberChange.id)
        .limit(CHANGE_BATCH)
    ).all()
    if not rows:
        return 0, True
    touched = {(g, c) for _, g, c in rows}
    contacts = sorted({c for _, c in touched})
    current = _pairs(ContactGroupMember, contacts) & touched
    counted = _pairs(GroupRollupMember, contacts) & touched
    ids = [i for i, _, _ in rows]
    for chunk in _chunks(ids):
        db.session.execute(delete(GroupMemberChange).where(GroupMemberChange.id.in_(chunk)))
    removed = _by_group(counted - current)
    contact_days: dict[int, set[date]] = defaultdict(set)
    for group_id, members in removed.items():
        for chunk in _chunks(members):
            member = GroupRollupMember
            mine = and_(member.group_id == group_id, member.contact_id.in_(chunk))
            contact_days[group_id].update(
                db.session.scalars(select(GroupRollupMember.created_day).where(mine).distinct())
            )
            rollup.run(
                and_(rolled, Activity.contact_id.in_(chunk)),
                target=rolled_members([group_id], sign=-1),
            )
            consent_rollups.roll_group_agreements(
                and_(agreements, ConsentAgreement.contact_id.in_(chunk)), [group_id], sign=-1
            )
            db.session.execute(delete(GroupRollupMember).where(mine))
    for group_id, members in _by_group(current - counted).items():
        for chunk in _chunks(members):
            joining = select(
                literal(group_id, Integer), Contact.id, utc_day(Contact.created_at)
            ).where(Contact.id.in_(chunk))
            db.session.execute(
                insert(GroupRollupMember).from_select(
                    ["group_id", "contact_id", "created_day"], joining
                )
            )
            created = joining.with_only_columns(utc_day(Contact.created_at)).distinct()
            contact_days[group_id].update(db.session.scalars(created))
            rollup.run(
                and_(rolled, Activity.contact_id.in_(chunk)), target=rolled_members([group_id])
            )
            consent_rollups.roll_group_agreements(
                and_(agreements, ConsentAgreement.contact_id.in_(chunk)), [group_id]
            )
    for group_id, days in contact_days.items():
        recount_contact_days(day_runs(sorted(days)), [group_id])
    _drop_empty_rows(list(removed))
    return len(rows), len(rows) < CHANGE_BATCH


def recount_contact_days(runs: list[tuple[date, date]], groups: list[int] | None = None) -> None:
    """Recount ``group_contact_daily`` of the day runs (of ``groups``, or every group) from the
    contact table and the rolled membership."""
    member = GroupRollupMember
    day = utc_day(Contact.created_at).label("day")
    for first, last in runs:
        span = [GroupContactDaily.day >= first, GroupContactDaily.day <= last]
        chosen = [] if groups is None else [member.group_id.in_(groups)]
        if groups is not None:
            span.append(GroupContactDaily.group_id.in_(groups))
        db.session.execute(delete(GroupContactDaily).where(*span))
        counts = (
            select(member.group_id, day, func.count(), func.count(Contact.email))
            .select_from(Contact)
            .join(member, and_(member.contact_id == Contact.id, *chosen))
            .where(Contact.created_at >= day_start(first), Contact.created_at < day_end(last))
            .group_by(member.group_id, day)
        )
        db.session.execute(
            insert(GroupContactDaily).from_select(
                ["group_id", "day", "contacts", "identified"], counts
            )
        )


def _drop_empty_rows(groups: list[int]) -> None:
    """Rows that subtraction brought to zero: the charts must not list them."""
    if groups:
        for model, measure in MEASURES.items():
            db.session.execute(delete(model).where(model.group_id.in_(groups), measure == 0))
        consent = GroupConsentDaily
        db.session.execute(
            delete(consent).where(
                consent.group_id.in_(groups), consent.agrees == 0, consent.revokes == 0
            )
        )


def recount_days(rollup, rolled: ColumnElement[bool], wanted: dict[date, set[int]]) -> None:  # type: ignore[no-untyped-def]
    """Rebuild the (day, groups) pairs from the raw rows of the rolled membership."""
    for day, groups in sorted(wanted.items()):
        listed = sorted(groups)
        for model in GROUP_ROLLUPS:
            db.session.execute(delete(model).where(model.group_id.in_(listed), model.day == day))
        in_day = and_(Activity.created_at >= day_start(day), Activity.created_at < day_end(day))
        rollup.run(and_(rolled, in_day), target=rolled_members(listed))


def roll_group_changes(  # type: ignore[no-untyped-def]
    rollup, rolled: ColumnElement[bool], agreements: ColumnElement[bool]
) -> bool:
    """Steps 1-3 of the module docstring (``rolled``: the rolled-up activities, ``agreements``:
    the rolled-up agreements); return whether the membership log is empty now."""
    wanted = take_dirty_days()
    consent_groups = take_dirty_consent_groups()
    _, done = apply_membership_changes(rollup, rolled, agreements)
    recount_days(rollup, rolled, wanted)
    consent_rollups.recount_groups(consent_groups, agreements)
    return done


def reset_group_rollups() -> None:
    """Empty the group rollups and their logs and take the current membership as the rolled one
    (the caller then rolls every activity up from the start, and commits)."""
    for model in (*LOGS, *GROUP_ROLLUPS, GroupConsentDaily, GroupContactDaily, GroupRollupMember):
        db.session.execute(delete(model))
    # After the log is emptied: a change committed between the two statements stays logged and
    # is applied (or found already applied) by the next run.
    db.session.execute(
        insert(GroupRollupMember).from_select(
            ["group_id", "contact_id", "created_day"],
            select(
                ContactGroupMember.group_id,
                ContactGroupMember.contact_id,
                utc_day(Contact.created_at),
            ).join(Contact, Contact.id == ContactGroupMember.contact_id),
        )
    )


def recount_group_day(rollup, condition: ColumnElement[bool], day: date) -> None:  # type: ignore[no-untyped-def]
    """Rebuild every group's rows of ``day`` from the activities matched by ``condition``."""
    for model in GROUP_ROLLUPS:
        db.session.execute(delete(model).where(model.day == day))
    rollup.run(condition, target=rolled_members())
