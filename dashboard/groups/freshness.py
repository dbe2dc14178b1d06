"""Queueing contacts whose group memberships must be refreshed soon (R17)."""

from collections.abc import Iterable
from functools import cache

from sqlalchemy import literal, select
from sqlalchemy.sql import ColumnElement
from sqlalchemy.sql.dml import Insert

from ..extensions import db
from ..models import Contact, MembershipRefresh, utcnow
from ..sql import dialect_name, upsert_insert


def queue_membership_refresh(contact_ids: Iterable[int]) -> None:
    """Queue these contacts in the current transaction (the caller commits)."""
    now = utcnow()
    rows = [{"contact_id": i, "queued_at": now} for i in sorted(set(contact_ids))]
    if rows:
        db.session.connection().execute(_queue(dialect_name()), rows)


@cache
def _queue(dialect: str) -> Insert:
    """Queue rows, built once per dialect (every tracked request queues its contact); on the
    table, not the class: no ORM bulk-insert machinery."""
    insert = upsert_insert(MembershipRefresh.__table__, dialect)
    return insert.on_conflict_do_nothing(index_elements=["contact_id"])


def queue_membership_refresh_where(contact_filter: ColumnElement[bool]) -> None:
    """Queue every contact matched by ``contact_filter`` (a WHERE clause on Contact), set-based."""
    source = select(Contact.id, literal(utcnow())).where(contact_filter)
    stmt = (
        upsert_insert(MembershipRefresh)
        .from_select(["contact_id", "queued_at"], source)
        .on_conflict_do_nothing(index_elements=["contact_id"])
    )
    db.session.execute(stmt)
