"""Data-subject requests (find, export everything held, erase) and inactive-contact retention."""

import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, literal, select

from ..audit.services import record_audit
from ..contacts.services import (
    EDITABLE_FIELDS,
    AuditProgress,
    HeldData,
    contact_consents,
    contact_memberships,
    delete_contacts,
    held_data,
)
from ..extensions import db
from ..models import (
    Activity,
    ActivityType,
    Channel,
    Contact,
    ContactAlias,
    ContactStatus,
    Setting,
    User,
    utcnow,
)
from ..sql import upsert_insert

RETENTION_KEY = "retention.inactive_days"
MIN_RETENTION_DAYS = 7
DEFAULT_RETENTION_DAYS = 365
PURGE_BATCH = 1000


def find_contacts(query: str) -> list[Contact]:
    """Contacts matching an email exactly (case-insensitively), or a contact GUID (also one
    merged away, R10), as a data-subject request names them."""
    query = query.strip()
    try:
        guid = uuid.UUID(query)
    except ValueError:
        return list(db.session.scalars(select(Contact).where(Contact.email == query.lower())))
    alias = select(ContactAlias.contact_id).where(ContactAlias.guid == guid)
    return list(
        db.session.scalars(
            select(Contact)
            .where((Contact.guid == guid) | Contact.id.in_(alias))
            .order_by(Contact.id)
        )
    )


def _when(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _activities(contact_id: int) -> list[dict]:
    rows = db.session.execute(
        select(Activity, ActivityType.code_name, Channel.code_name)
        .join(ActivityType, Activity.type_id == ActivityType.id)
        .outerjoin(Channel, Activity.channel_id == Channel.id)
        .where(Activity.contact_id == contact_id)
        .order_by(Activity.created_at, Activity.id)
    )
    return [
        {
            "created_at": _when(a.created_at),
            "type": type_code,
            "channel": channel_code,
            "title": a.title,
            "value": a.value,
            "url": a.url,
            "referrer": a.referrer,
            "utm_source": a.utm_source,
            "utm_medium": a.utm_medium,
            "utm_campaign": a.utm_campaign,
            "utm_content": a.utm_content,
            "data": a.data,
        }
        for a, type_code, channel_code in rows
    ]


def contact_data(contact: Contact) -> dict:
    """Everything held about the contact, as a JSON-ready document."""
    status = db.session.get(ContactStatus, contact.status_id) if contact.status_id else None
    fields = {name: getattr(contact, name) for name in EDITABLE_FIELDS}
    fields["birthday"] = contact.birthday.isoformat() if contact.birthday else None
    aliases = db.session.scalars(
        select(ContactAlias.guid).where(ContactAlias.contact_id == contact.id)
    )
    return {
        "exported_at": _when(utcnow()),
        "contact": {
            "id": contact.id,
            "guid": str(contact.guid),
            "merged_guids": [str(g) for g in aliases],
            **fields,
            "status": status.code_name if status else None,
            "created_at": _when(contact.created_at),
            "updated_at": _when(contact.updated_at),
            "last_activity_at": _when(contact.last_activity_at),
        },
        "activities": _activities(contact.id),
        "consent_agreements": [
            {
                "consent": history.code_name,
                "consent_name": history.display_name,
                "currently_agreed": history.agreed,
                "history": [
                    {
                        "action": e.action.value,
                        "at": _when(e.created_at),
                        "text_hash": e.text_hash,
                        "text_version": e.version,
                        "text_archived_at": _when(e.archived_at),
                        "short_text": e.short_text,
                        "full_text": e.full_text,
                    }
                    for e in history.entries
                ],
            }
            for history in contact_consents(contact.id)
        ],
        "group_memberships": [
            {
                "group": m.code_name,
                "group_name": m.display_name,
                "by_condition": m.by_condition,
                "manual": m.manual,
                "added_at": _when(m.added_at),
            }
            for m in contact_memberships(contact.id)
        ],
    }


def export_contact_data(contact: Contact, actor: User) -> dict:
    """The contact's data for an access request; the export is audited."""
    document = contact_data(contact)
    record_audit("privacy.export", actor, target=contact)
    db.session.commit()
    return document


def erase_contact(contact: Contact, actor: User) -> HeldData:
    """Erase the contact and everything held about it (R11), audited without personal data."""
    held = held_data(contact.id)
    record_audit("privacy.erase", actor, target=contact, details=asdict(held))
    delete_contacts([contact.id])
    db.session.commit()
    return held


@dataclass(frozen=True)
class Retention:
    """The inactive-contact cleanup setting (R12)."""

    enabled: bool
    days: int


def get_retention() -> Retention:
    """The stored setting; off with a year's period when never set."""
    value = db.session.get(Setting, RETENTION_KEY)
    stored = value.value if value is not None and isinstance(value.value, dict) else {}
    return Retention(
        enabled=bool(stored.get("enabled", False)),
        days=max(MIN_RETENTION_DAYS, int(stored.get("days", DEFAULT_RETENTION_DAYS))),
    )


def save_retention(retention: Retention, actor: User) -> None:
    """Store the setting (X >= 7 days), audited with the old and new values."""
    if retention.days < MIN_RETENTION_DAYS:
        raise ValueError(f"retention must be at least {MIN_RETENTION_DAYS} days")
    before = get_retention()
    value = asdict(retention)
    stmt = upsert_insert(Setting).values(key=RETENTION_KEY, value=value, updated_at=utcnow())
    db.session.execute(
        stmt.on_conflict_do_update(
            index_elements=["key"], set_={"value": value, "updated_at": utcnow()}
        )
    )
    record_audit("privacy.retention", actor, details={"from": asdict(before), "to": value})
    db.session.commit()


def inactive_conditions(cutoff: datetime) -> list:
    """WHERE clauses for contacts with no activity since ``cutoff`` (or, with none ever, created
    before it), one per index range the purge reads."""
    no_recent_activity = ~(
        select(literal(1))
        .where(Activity.contact_id == Contact.id, Activity.created_at >= cutoff)
        .exists()
    )
    return [
        (Contact.last_activity_at < cutoff) & no_recent_activity,
        Contact.last_activity_at.is_(None) & (Contact.created_at < cutoff) & no_recent_activity,
    ]


def count_inactive(retention: Retention, now: datetime | None = None) -> int:
    """How many contacts a purge would delete now."""
    cutoff = (now or utcnow()) - timedelta(days=retention.days)
    return sum(
        db.session.scalar(select(func.count(Contact.id)).where(condition)) or 0
        for condition in inactive_conditions(cutoff)
    )


PURGE, PURGE_SUBJECT = "purge", "inactive"  # its progress rows (dashboard/progress.py)


def purge_inactive(
    retention: Retention,
    now: datetime | None = None,
    progress: Callable[[int], None] = lambda n: None,
) -> int:
    """Delete inactive contacts (R12) in committed batches; return how many were deleted.

    Activity at exactly ``now - days`` counts as within the period (the contact stays).
    """
    if not retention.enabled:
        return 0
    cutoff = (now or utcnow()) - timedelta(days=retention.days)
    audit = AuditProgress("contact.purge_inactive", None, {"days": retention.days})
    deleted = 0
    for condition in inactive_conditions(cutoff):
        while ids := db.session.scalars(
            select(Contact.id).where(condition).limit(PURGE_BATCH)
        ).all():
            deleted += delete_contacts(ids)
            audit.update(count=deleted)
            db.session.commit()
            progress(deleted)
    if not deleted:
        db.session.rollback()
    return deleted
