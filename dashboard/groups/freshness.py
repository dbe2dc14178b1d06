"""Queueing contacts whose group memberships must be refreshed soon (R17)."""

from collections.abc import Iterable

from sqlalchemy import literal, select
from sqlalchemy.sql import ColumnElement

from ..extensions import db
from ..models import Contact, MembershipRefresh, utcnow
from ..sql import upsert_insert


def queue_membership_refresh(contact_ids: Iterable[int]) -> None:
    """Queue these contacts in the current transaction (the caller commits)."""
    now = utcnow()
    rows = [{"contact_id": i, "queued_at": now} for i in sorted(set(contact_ids))]
    if rows:
        stmt = upsert_insert(MembershipRefresh).on_conflict_do_nothing(
            index_elements=["contact_id"]
        )
        db.session.execute(stmt, rows)


def queue_membership_refresh_where(contact_filter: ColumnElement[bool]) -> None:
    """Queue every contact matched by ``contact_filter`` (a WHERE clause on Contact), set-based."""
    source = select(Contact.id, literal(utcnow())).where(contact_filter)
    stmt = (
        upsert_insert(MembershipRefresh)
        .from_select(["contact_id", "queued_at"], source)
        .on_conflict_do_nothing(index_elements=["contact_id"])
    )
    db.session.execute(stmt)
