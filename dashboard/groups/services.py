"""Contact-group use cases: list, save, preview, members, manual members, delete, export."""

import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, Select, case, delete, func, literal, select, update
from sqlalchemy.exc import IntegrityError

from ..audit.services import record_audit
from ..database import write_intent
from ..domain import segments as s
from ..extensions import db
from ..models import (
    ActivityType,
    Channel,
    Consent,
    Contact,
    ContactAlias,
    ContactGroup,
    ContactGroupMember,
    GroupStatus,
    User,
    UTCDateTime,
    utcnow,
)
from ..progress import Progress, Step, no_progress
from ..sql import upsert_insert
from .compiler import compile_condition, count_matching
from .freshness import queue_membership_refresh
from .membership import (
    Recalculation,
    all_references,
    dependents_of,
    is_stale,
    recalculate_group,
)

SAMPLE_SIZE = 10
MEMBERS_PAGE = 50
MAX_MANUAL_ENTRIES = 1000
MEMBER_FILTERS = {"all": "All members", "condition": "By condition", "manual": "Added by hand"}


class GroupError(ValueError):
    """A change that breaks a rule; ``field`` names the form field it belongs to."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class GroupInUse(Exception):
    """The group is used by other groups' conditions (``users`` lists their display names)."""

    def __init__(self, users: list[str]) -> None:
        super().__init__(", ".join(users))
        self.users = users


@dataclass(frozen=True)
class GroupDetails:
    """What the details form edits."""

    code_name: str
    display_name: str
    description: str
    enabled: bool


@dataclass(frozen=True)
class GroupSummary:
    """A row of the group list."""

    group: ContactGroup
    members: int
    by_condition: int
    manual: int
    stale: bool


@dataclass(frozen=True)
class ContactRow:
    """A contact as member lists, previews and exports show it."""

    id: int
    email: str | None
    first_name: str | None
    last_name: str | None
    country: str | None
    by_condition: bool = False
    manual: bool = False
    added_at: datetime | None = None

    @property
    def label(self) -> str:
        """Name, else email, else "Anonymous contact #id"."""
        name = " ".join(p for p in (self.first_name, self.last_name) if p)
        return name or self.email or f"Anonymous contact #{self.id}"


@dataclass(frozen=True)
class Preview:
    """Member count and a few members of a condition being edited."""

    count: int
    sample: list[ContactRow]


@dataclass(frozen=True)
class MemberPage:
    """One keyset page of members; ``next_after`` continues after the last (None: the end)."""

    rows: list[ContactRow]
    next_after: int | None


@dataclass(frozen=True)
class ManualResult:
    """What adding contacts by hand did."""

    added: int
    already: int
    not_found: list[str]


# --- Reading ------------------------------------------------------------------------------


def load_catalogue() -> s.Catalogue:
    """Names of the activity types, consents, channels and groups rules may refer to."""

    def names(id_column, name_column) -> dict[int, str]:  # type: ignore[no-untyped-def]
        return dict(db.session.execute(select(id_column, name_column)).all())

    return s.Catalogue(
        activity_types=names(ActivityType.id, ActivityType.display_name),
        consents=names(Consent.id, Consent.display_name),
        channels=names(Channel.id, Channel.display_name),
        groups=names(ContactGroup.id, ContactGroup.display_name),
    )


def validate_tree(raw: object, catalogue: s.Catalogue, group_id: int | None = None) -> s.Validation:
    """Validate a condition tree for ``group_id`` against the saved conditions of other groups."""
    references = {g: refs for g, refs in all_references().items() if g != group_id}
    return s.validate_condition(raw, catalogue, group_id=group_id, references=references)


def get_group(group_id: int) -> ContactGroup | None:
    """The group, or None."""
    return db.session.get(ContactGroup, group_id)


def _counts(*where: Any) -> dict[int, tuple[int, int, int]]:
    """(members, by condition, by hand) per group id."""
    member = ContactGroupMember
    rows = db.session.execute(
        select(
            member.group_id,
            func.count(),
            func.sum(case((member.by_condition, 1), else_=0)),
            func.sum(case((member.manual, 1), else_=0)),
        )
        .where(*where)
        .group_by(member.group_id)
    ).all()
    return {g: (total, int(cond or 0), int(manual or 0)) for g, total, cond, manual in rows}


def list_groups() -> list[GroupSummary]:
    """Every group with its member counts, by display name."""
    counts = _counts()
    now = utcnow()
    groups = db.session.scalars(select(ContactGroup).order_by(ContactGroup.display_name))
    return [GroupSummary(g, *counts.get(g.id, (0, 0, 0)), stale=is_stale(g, now)) for g in groups]


def group_summary(group: ContactGroup) -> GroupSummary:
    """The group with its member counts."""
    counts = _counts(ContactGroupMember.group_id == group.id).get(group.id, (0, 0, 0))
    return GroupSummary(group, *counts, stale=is_stale(group, utcnow()))


_CONTACT_COLUMNS = (
    Contact.id,
    Contact.email,
    Contact.first_name,
    Contact.last_name,
    Contact.country,
)


def preview(condition: s.Condition, *, now: datetime | None = None) -> Preview:
    """How many contacts the condition matches now, and the newest few of them.

    Two statements: the count walks every contact in id order (``count_matching``), the sample
    walks back from the newest id and stops at the tenth match.
    """
    now = now or utcnow()
    dialect = db.session.get_bind().dialect.name
    count = db.session.scalar(count_matching(condition, now=now, dialect=dialect)) or 0
    where = compile_condition(condition, now=now)
    rows = db.session.execute(
        select(*_CONTACT_COLUMNS).where(where).order_by(Contact.id.desc()).limit(SAMPLE_SIZE)
    ).all()
    return Preview(count, [ContactRow(*r) for r in rows])


def _member_filter(how: str) -> list[Any]:
    if how == "condition":
        return [ContactGroupMember.by_condition.is_(True)]
    if how == "manual":
        return [ContactGroupMember.manual.is_(True)]
    return []


def member_page(
    group_id: int, *, after: int | None = None, how: str = "all", limit: int | None = None
) -> MemberPage:
    """Members in contact-id order after ``after`` (keyset: every page costs the same)."""
    limit = limit or MEMBERS_PAGE
    member = ContactGroupMember
    query = (
        select(*_CONTACT_COLUMNS, member.by_condition, member.manual, member.added_at)
        .join(Contact, Contact.id == member.contact_id)
        .where(member.group_id == group_id, *_member_filter(how))
        .order_by(member.contact_id)
        .limit(limit + 1)
    )
    if after is not None:
        query = query.where(member.contact_id > after)
    rows = [ContactRow(*r) for r in db.session.execute(query).all()]
    more = len(rows) > limit
    rows = rows[:limit]
    return MemberPage(rows, rows[-1].id if more else None)


def referencing_groups(group_id: int) -> list[ContactGroup]:
    """Groups whose saved condition names ``group_id`` in an "is in group" rule."""
    users = [g for g, refs in all_references().items() if group_id in refs and g != group_id]
    if not users:
        return []
    return list(
        db.session.scalars(
            select(ContactGroup)
            .where(ContactGroup.id.in_(users))
            .order_by(ContactGroup.display_name)
        )
    )


def describe(group: ContactGroup, catalogue: s.Catalogue) -> list[str]:
    """The group's condition as sentences (empty for a static group)."""
    return s.describe_condition(s.condition_from_json(group.condition), catalogue)


# --- Writing ------------------------------------------------------------------------------


def _new_status(group: ContactGroup, stored: dict | None, enabled: bool) -> GroupStatus:
    if stored != group.condition:
        return GroupStatus.CONDITION_CHANGED
    if enabled and not group.enabled and stored is not None:
        return GroupStatus.CONDITION_CHANGED  # members were not refreshed while disabled
    return group.status


def save_group(
    group: ContactGroup | None, details: GroupDetails, condition: s.Condition
) -> ContactGroup:
    """Create or update a group; a changed condition marks it "condition changed" (R17)."""
    stored = condition.to_json() if condition.groups else None
    if group is None:
        group = ContactGroup(
            status=GroupStatus.CONDITION_CHANGED if stored else GroupStatus.READY,
        )
        db.session.add(group)
    else:
        group.status = _new_status(group, stored, details.enabled)
    group.code_name = details.code_name
    group.display_name = details.display_name
    group.description = details.description
    group.enabled = details.enabled
    group.condition = stored
    group.updated_at = utcnow()
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise GroupError("code_name", "Another group has this code name.") from None
    return group


_SEPARATORS = re.compile(r"[\s,;]+")


def _identifiers(text: str) -> tuple[set[str], set[uuid.UUID], list[str]]:
    emails: set[str] = set()
    guids: set[uuid.UUID] = set()
    invalid: list[str] = []
    for token in (t for t in _SEPARATORS.split(text) if t):
        if "@" in token:
            emails.add(token.lower())
            continue
        try:
            guids.add(uuid.UUID(token))
        except ValueError:
            invalid.append(token)
    return emails, guids, invalid


def parse_manual_entries(text: str) -> tuple[set[str], set[uuid.UUID]]:
    """Emails and GUIDs in ``text`` (separated by spaces, commas or new lines).

    Raises ``GroupError`` for anything else or for too many entries.
    """
    emails, guids, invalid = _identifiers(text)
    if invalid:
        shown = ", ".join(repr(t[:40]) for t in invalid[:5])
        raise GroupError("entries", f"Neither an email nor a GUID: {shown}.")
    if not emails and not guids:
        raise GroupError("entries", "Enter at least one email or GUID.")
    if len(emails) + len(guids) > MAX_MANUAL_ENTRIES:
        raise GroupError("entries", f"Add at most {MAX_MANUAL_ENTRIES} contacts at a time.")
    return emails, guids


def _resolve(emails: set[str], guids: set[uuid.UUID]) -> tuple[set[int], list[str]]:
    found: dict[str, int] = {}
    if emails:
        found |= dict(
            db.session.execute(
                select(Contact.email, Contact.id).where(Contact.email.in_(emails))
            ).all()
        )
    if guids:
        for guid, contact_id in db.session.execute(
            select(Contact.guid, Contact.id)
            .where(Contact.guid.in_(guids))
            .union_all(
                select(ContactAlias.guid, ContactAlias.contact_id).where(
                    ContactAlias.guid.in_(guids)
                )
            )
        ):
            found[str(guid)] = contact_id
    wanted = sorted(emails) + sorted(str(g) for g in guids)
    return set(found.values()), [w for w in wanted if w not in found]


def add_manual_members(
    group: ContactGroup, emails: set[str], guids: set[uuid.UUID]
) -> ManualResult:
    """Add the contacts with these emails or GUIDs to the group by hand (static members)."""
    ids, not_found = _resolve(emails, guids)
    if not ids:
        db.session.rollback()
        return ManualResult(0, 0, not_found)
    member = ContactGroupMember
    already = (
        db.session.scalar(
            select(func.count())
            .select_from(member)
            .where(member.group_id == group.id, member.contact_id.in_(ids), member.manual)
        )
        or 0
    )
    rows = select(
        literal(group.id),
        Contact.id,
        literal(False),
        literal(True),
        literal(utcnow(), UTCDateTime()),
    ).where(Contact.id.in_(ids))
    db.session.execute(
        upsert_insert(member)
        .from_select(["group_id", "contact_id", "by_condition", "manual", "added_at"], rows)
        .on_conflict_do_update(index_elements=["group_id", "contact_id"], set_={"manual": True})
    )
    queue_membership_refresh(ids)  # other groups' "is in group" rules may now match
    db.session.commit()
    return ManualResult(len(ids) - already, already, not_found)


def remove_manual_member(group: ContactGroup, contact_id: int) -> bool:
    """Take a hand-added member out; it stays while the condition matches it. Return whether
    the contact was a manual member."""
    member = ContactGroupMember
    where = [member.group_id == group.id, member.contact_id == contact_id, member.manual]
    removed = db.session.execute(
        delete(member).where(*where, member.by_condition.is_(False))
    ).rowcount
    removed += db.session.execute(update(member).where(*where).values(manual=False)).rowcount
    if removed:
        queue_membership_refresh([contact_id])
    db.session.commit()
    return bool(removed)


def delete_group(group: ContactGroup) -> None:
    """Delete the group and its memberships; refused while other groups' conditions use it."""
    users = referencing_groups(group.id)
    if users:
        db.session.rollback()
        raise GroupInUse([u.display_name for u in users])
    db.session.execute(delete(ContactGroupMember).where(ContactGroupMember.group_id == group.id))
    db.session.execute(delete(ContactGroup).where(ContactGroup.id == group.id))
    db.session.commit()


def recalculate(group_id: int, progress: Progress = no_progress) -> list[Recalculation]:
    """Recalculate the group, then every group whose condition uses it (in dependency order);
    the progress steps of a dependent name it."""
    done = [recalculate_group(group_id, progress=progress)]
    for dependent in dependents_of(group_id):
        group = db.session.get(ContactGroup, dependent)
        name = group.display_name if group is not None else f"group {dependent}"

        def step(inner: Step, name: str = name) -> None:
            progress(Step(f"{name} (uses it): {inner.text}", inner.done, inner.total))

        done.append(recalculate_group(dependent, progress=step))
    return done


# --- Export -------------------------------------------------------------------------------

EXPORT_COLUMNS = (
    "contact_id",
    "guid",
    "email",
    "first_name",
    "last_name",
    "company",
    "country",
    "member_by",
    "added_at",
)


def record_export(group: ContactGroup, actor: User) -> None:
    """Write the audit entry of an export in its own short write transaction."""
    db.session.rollback()  # end the page's read transaction: this one takes the write lock
    with write_intent():
        record_audit("group.export", actor, target=group, details={"code_name": group.code_name})
        db.session.commit()


def _member_by(by_condition: bool, manual: bool) -> str:
    return {(True, True): "condition+manual", (True, False): "condition"}.get(
        (by_condition, manual), "manual"
    )


def export_members_csv(group_id: int) -> Iterator[str]:
    """A generator of the group's members as formula-safe CSV, batch by batch in contact-id
    order (``contacts.exporting.stream_csv``: no Flask context needed, constant memory)."""
    member = ContactGroupMember

    def batch_after(last_id: int) -> Select:
        return (
            select(
                Contact.id,
                Contact.guid,
                Contact.email,
                Contact.first_name,
                Contact.last_name,
                Contact.company,
                Contact.country,
                member.by_condition,
                member.manual,
                member.added_at,
            )
            .join(Contact, Contact.id == member.contact_id)
            .where(member.group_id == group_id, member.contact_id > last_id)
            .order_by(member.contact_id)
        )

    def cells(row: Row) -> list[object]:
        *values, by_condition, manual, added_at = row
        return [*values, _member_by(by_condition, manual), added_at]

    # Imported here: contacts.services imports this package (freshness), so a module-level import
    # of contacts.exporting would make importing dashboard.contacts first fail on the cycle.
    from ..contacts.exporting import stream_csv

    return stream_csv(EXPORT_COLUMNS, batch_after, cells)
