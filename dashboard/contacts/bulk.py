"""Bulk actions on selected contacts or on everything a filter matches, set-based in batches."""

import enum
from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import func, literal, select, update

from ..extensions import db
from ..groups.freshness import queue_membership_refresh_where
from ..models import Contact, ContactGroupMember, User, utcnow
from ..sql import upsert_insert
from .filters import ContactFilter, contact_conditions
from .services import AuditProgress, count_contacts, delete_contacts, dialect_name

BULK_BATCH = 1000
MAX_SELECTED = 1000


class BulkAction(enum.StrEnum):
    """What a bulk action does to each contact."""

    DELETE = "delete"
    ADD_TO_GROUP = "add_to_group"
    SET_STATUS = "set_status"

    @property
    def label(self) -> str:
        """Human name, e.g. ``Add to group``."""
        return self.value.replace("_", " ").capitalize()


@dataclass(frozen=True)
class BulkRequest:
    """A bulk action on the ``ids`` selected, or (``ids`` None) on all the filter matches."""

    action: BulkAction
    contact_filter: ContactFilter
    ids: tuple[int, ...] | None = None
    group_id: int | None = None
    status_id: int | None = None

    def __post_init__(self) -> None:
        if self.action == BulkAction.ADD_TO_GROUP and self.group_id is None:
            raise ValueError("adding to a group needs the group")

    def conditions(self) -> list:
        """WHERE clauses on Contact for the targets."""
        if self.ids is not None:
            return [Contact.id.in_(self.ids)]
        return contact_conditions(self.contact_filter, dialect_name(), utcnow())

    def describe(self) -> dict:
        """What was asked, for the audit log."""
        details: dict = {"scope": "selected" if self.ids is not None else "filter"}
        if self.ids is None:
            details["filter"] = self.contact_filter.to_args()
        if self.action == BulkAction.ADD_TO_GROUP:
            details["group_id"] = self.group_id
        if self.action == BulkAction.SET_STATUS:
            details["status_id"] = self.status_id
        return details


def count_bulk_targets(request: BulkRequest) -> int:
    """How many contacts the action would change now (shown before confirming)."""
    if request.ids is None:
        return count_contacts(request.contact_filter)
    query = select(func.count(Contact.id)).where(Contact.id.in_(request.ids))
    return db.session.scalar(query) or 0


def _batches(request: BulkRequest) -> Iterator[list[int]]:
    # Keyset over the id, re-reading the filter each time: rows already changed may stop
    # matching it (a status change) or be gone (a delete) without skipping anything.
    conditions = request.conditions()
    last_id = 0
    while True:
        ids = db.session.scalars(
            select(Contact.id)
            .where(*conditions, Contact.id > last_id)
            .order_by(Contact.id)
            .limit(BULK_BATCH)
        ).all()
        if not ids:
            return
        yield list(ids)
        last_id = ids[-1]


def _add_to_group(ids: list[int], group_id: int | None) -> None:
    rows = select(
        literal(group_id), Contact.id, literal(False), literal(True), literal(utcnow())
    ).where(Contact.id.in_(ids))
    stmt = upsert_insert(ContactGroupMember).from_select(
        ["group_id", "contact_id", "by_condition", "manual", "added_at"], rows
    )
    db.session.execute(
        stmt.on_conflict_do_update(index_elements=["group_id", "contact_id"], set_={"manual": True})
    )


def _apply(request: BulkRequest, ids: list[int]) -> None:
    if request.action == BulkAction.DELETE:
        delete_contacts(ids)
        return
    if request.action == BulkAction.ADD_TO_GROUP:
        _add_to_group(ids, request.group_id)
    else:
        db.session.execute(
            update(Contact)
            .where(Contact.id.in_(ids))
            .values(status_id=request.status_id, updated_at=utcnow())
        )
    # Group conditions may read the status, or membership of this group (R17).
    queue_membership_refresh_where(Contact.id.in_(ids))


def run_bulk(request: BulkRequest, actor: User) -> int:
    """Apply the action batch by batch, each batch committed with the audit entry's running
    count, so the log always says how much was done; return how many contacts it changed."""
    audit = AuditProgress(f"contact.bulk_{request.action.value}", actor, request.describe())
    done = 0
    for ids in _batches(request):
        _apply(request, ids)
        done += len(ids)
        audit.update(count=done)
        db.session.commit()
    if not done:
        db.session.rollback()
    return done
