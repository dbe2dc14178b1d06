"""Writing and reading the audit log."""

from dataclasses import dataclass

from sqlalchemy import func, select

from ..extensions import db
from ..models import AuditEntry, User

AUDIT_PAGE_SIZE = 50


def record_audit(
    action: str,
    actor: User | None,
    *,
    target: db.Model | None = None,
    target_type: str | None = None,
    target_id: str | None = None,
    details: dict | None = None,
) -> AuditEntry:
    """Add an audit entry to the current transaction (the caller commits)."""
    if target is not None:
        target_type = target.__tablename__
        target_id = str(target.id)
    entry = AuditEntry(
        actor_id=actor.id if actor is not None else None,
        actor_email=actor.email if actor is not None else "system",
        action=action,
        target_type=target_type,
        target_id=target_id,
        details=details,
    )
    db.session.add(entry)
    return entry


@dataclass(frozen=True)
class AuditPage:
    """One page of audit entries, newest first, with a cursor to the next page."""

    entries: list[AuditEntry]
    next_before: int | None


def list_audit(*, before: int | None = None, action_prefix: str | None = None) -> AuditPage:
    """Return audit entries newest first (keyset pagination on id)."""
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(AUDIT_PAGE_SIZE + 1)
    if before is not None:
        query = query.where(AuditEntry.id < before)
    if action_prefix:
        query = query.where(AuditEntry.action.startswith(action_prefix, autoescape=True))
    rows = list(db.session.scalars(query))
    more = len(rows) > AUDIT_PAGE_SIZE
    rows = rows[:AUDIT_PAGE_SIZE]
    return AuditPage(rows, rows[-1].id if more else None)


def audit_actions() -> list[str]:
    """Distinct action prefixes present in the log (e.g. ``user``, ``channel``)."""
    actions = db.session.scalars(select(func.distinct(AuditEntry.action))).all()
    return sorted({a.split(".", 1)[0] for a in actions})
