"""Contact use cases: list, count, profile, edit and delete."""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, literal, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql import ColumnElement

from ..audit.services import record_audit
from ..extensions import db
from ..groups.freshness import queue_membership_refresh
from ..models import (
    Activity,
    ActivityType,
    AgreementAction,
    Channel,
    Consent,
    ConsentAgreement,
    ConsentArchive,
    Contact,
    ContactAlias,
    ContactGroup,
    ContactGroupMember,
    ContactStatus,
    User,
    utcnow,
)
from .filters import ContactFilter, ContactListQuery, contact_conditions, search_condition
from .keyset import Cursor, Filters, KeysetOrder, Page, fetch_page

# Contact columns a person may edit or import (everything but ids, timestamps and status).
EDITABLE_FIELDS = (
    "first_name",
    "middle_name",
    "last_name",
    "email",
    "company",
    "job_title",
    "address",
    "city",
    "zip",
    "country",
    "mobile_phone",
    "business_phone",
    "birthday",
    "notes",
)
TIMELINE_PAGE_SIZE = 25
# A search matching fewer contacts than this is read through its own indexes and sorted.
FEW_MATCHES = 5000


class FieldError(ValueError):
    """A change that breaks a rule; ``field`` names the form field it belongs to."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Choice:
    """An id and a name for a select box."""

    id: int
    name: str


@dataclass(frozen=True)
class FilterOptions:
    """Everything the list's selects offer; small reference tables only."""

    statuses: list[Choice]
    channels: list[Choice]
    groups: list[Choice]
    activity_types: list[Choice]

    @property
    def status_names(self) -> dict[int, str]:
        """Status display names by id."""
        return {c.id: c.name for c in self.statuses}


def dialect_name() -> str:
    """The name of the current database engine's dialect (``sqlite`` or ``postgresql``)."""
    return db.session.get_bind().dialect.name


def _choices(id_column, name_column) -> list[Choice]:  # type: ignore[no-untyped-def]
    rows = db.session.execute(select(id_column, name_column).order_by(name_column, id_column))
    return [Choice(i, n) for i, n in rows]


def filter_options() -> FilterOptions:
    """Statuses, channels, groups and activity types for the filters and bulk actions."""
    return FilterOptions(
        statuses=_choices(ContactStatus.id, ContactStatus.display_name),
        channels=_choices(Channel.id, Channel.display_name),
        groups=_choices(ContactGroup.id, ContactGroup.display_name),
        activity_types=_choices(ActivityType.id, ActivityType.display_name),
    )


def _matches_few(condition: ColumnElement[bool]) -> bool:
    """Whether fewer than FEW_MATCHES contacts match (counting stops there)."""
    capped = select(literal(1)).where(condition).limit(FEW_MATCHES).subquery()
    return (db.session.scalar(select(func.count()).select_from(capped)) or 0) < FEW_MATCHES


def list_contacts(query: ContactListQuery) -> Page[Contact]:
    """One page of the filtered list in the allowlisted sort order."""
    f, dialect, now = query.contact_filter, dialect_name(), utcnow()
    order = query.order()
    key = order.key.key
    driving = contact_conditions(f, dialect, now, driving=True)
    search = search_condition(f.q, dialect)
    stmt, filters = select(Contact), None
    if search is not None and _matches_few(search):
        # The search's indexes find its few rows; sorting them beats reading the sort order.
        stmt, order = stmt.where(*driving), order.without_indexes()
    elif driving:
        # A filter may match most contacts or almost none: probe first (see fetch_page).
        filters = Filters(contact_conditions(f, dialect, now), driving)
    return fetch_page(
        stmt,
        order,
        query.cursor,
        query.per_page,
        lambda c: (getattr(c, key), c.id),
        scalars=True,
        filters=filters,
    )


def count_contacts(f: ContactFilter) -> int:
    """How many contacts the filter matches (a full count: only on request, not per page)."""
    conditions = contact_conditions(f, dialect_name(), utcnow(), driving=True)
    return db.session.scalar(select(func.count(Contact.id)).where(*conditions)) or 0


def get_contact(contact_id: int) -> Contact | None:
    """The contact with this id, or None."""
    return db.session.get(Contact, contact_id)


@dataclass(frozen=True)
class TimelineEntry:
    """One activity as listed on a profile or in the activity log."""

    id: int
    created_at: datetime
    type_name: str
    channel_name: str | None
    title: str | None
    value: str | None
    url: str | None
    referrer: str | None
    contact_id: int
    contact_label: str


def contact_label(first: str | None, last: str | None, email: str | None, contact_id: int) -> str:
    """How a contact is named in lists: its name, else its email, else as anonymous."""
    return " ".join(p for p in (first, last) if p) or email or f"Anonymous contact #{contact_id}"


def activity_entries(
    conditions: Iterable, cursor: Cursor | None, per_page: int
) -> Page[TimelineEntry]:
    """A page of activities matched by ``conditions``, newest first, with names resolved."""
    stmt = (
        select(
            Activity.id,
            Activity.created_at,
            ActivityType.display_name,
            Channel.display_name,
            Activity.title,
            Activity.value,
            Activity.url,
            Activity.referrer,
            Contact.id,
            Contact.first_name,
            Contact.last_name,
            Contact.email,
        )
        .join(ActivityType, Activity.type_id == ActivityType.id)
        .join(Contact, Activity.contact_id == Contact.id)
        .outerjoin(Channel, Activity.channel_id == Channel.id)
        .where(*conditions)
    )
    order = KeysetOrder(Activity.created_at, Activity.id, descending=True)
    page = fetch_page(stmt, order, cursor, per_page, lambda r: (r[1], r[0]))
    entries = [TimelineEntry(*r[:9], contact_label(r[9], r[10], r[11], r[8])) for r in page.items]
    return Page(entries, page.next_cursor)


def contact_timeline(
    contact_id: int, type_id: int | None, channel_id: int | None, cursor: Cursor | None
) -> Page[TimelineEntry]:
    """The contact's activities, newest first, optionally of one type and one channel."""
    conditions = [Activity.contact_id == contact_id]
    if type_id is not None:
        conditions.append(Activity.type_id == type_id)
    if channel_id is not None:
        conditions.append(Activity.channel_id == channel_id)
    return activity_entries(conditions, cursor, TIMELINE_PAGE_SIZE)


@dataclass(frozen=True)
class Membership:
    """A group the contact is in, and how it got there."""

    group_id: int
    code_name: str
    display_name: str
    by_condition: bool
    manual: bool
    added_at: datetime


def contact_memberships(contact_id: int) -> list[Membership]:
    """The contact's groups, by display name."""
    rows = db.session.execute(
        select(
            ContactGroup.id,
            ContactGroup.code_name,
            ContactGroup.display_name,
            ContactGroupMember.by_condition,
            ContactGroupMember.manual,
            ContactGroupMember.added_at,
        )
        .join(ContactGroup, ContactGroupMember.group_id == ContactGroup.id)
        .where(ContactGroupMember.contact_id == contact_id)
        .order_by(ContactGroup.display_name)
    )
    return [Membership(*r) for r in rows]


@dataclass(frozen=True)
class AgreementEntry:
    """One agree or revoke, with the consent text version it was given for."""

    action: AgreementAction
    created_at: datetime
    text_hash: str
    version: str  # "current", "archived" or "unknown"
    short_text: str | None
    full_text: str | None
    archived_at: datetime | None


@dataclass(frozen=True)
class ConsentHistory:
    """A consent the contact answered: its current state (R14) and every row, newest first."""

    consent_id: int
    code_name: str
    display_name: str
    entries: list[AgreementEntry]

    @property
    def agreed(self) -> bool:
        """R14: the newest row is an agree."""
        return self.entries[0].action == AgreementAction.AGREE


def _text_version(
    consent: Consent, text_hash: str, archives: Mapping[tuple[int, str], ConsentArchive]
) -> tuple[str, str | None, str | None, datetime | None]:
    if text_hash == consent.text_hash:
        return "current", consent.short_text, consent.full_text, None
    archived = archives.get((consent.id, text_hash))
    if archived is None:
        return "unknown", None, None, None
    return "archived", archived.short_text, archived.full_text, archived.archived_at


def contact_consents(contact_id: int) -> list[ConsentHistory]:
    """The contact's agreement log per consent, each row with the text version agreed to."""
    rows = db.session.scalars(
        select(ConsentAgreement)
        .where(ConsentAgreement.contact_id == contact_id)
        .order_by(ConsentAgreement.consent_id, ConsentAgreement.id.desc())
    ).all()
    if not rows:
        return []
    consent_ids = {r.consent_id for r in rows}
    consents = {
        c.id: c for c in db.session.scalars(select(Consent).where(Consent.id.in_(consent_ids)))
    }
    archives = {
        (a.consent_id, a.text_hash): a
        for a in db.session.scalars(
            select(ConsentArchive).where(
                ConsentArchive.consent_id.in_(consent_ids),
                ConsentArchive.text_hash.in_({r.text_hash for r in rows}),
            )
        )
    }
    by_consent: dict[int, list[AgreementEntry]] = {}
    for r in rows:
        version = _text_version(consents[r.consent_id], r.text_hash, archives)
        entry = AgreementEntry(r.action, r.created_at, r.text_hash, *version)
        by_consent.setdefault(r.consent_id, []).append(entry)
    histories = [
        ConsentHistory(cid, consents[cid].code_name, consents[cid].display_name, entries)
        for cid, entries in by_consent.items()
    ]
    return sorted(histories, key=lambda h: h.display_name)


def _email_owner(email: str, other_than: int | None) -> Contact | None:
    query = select(Contact).where(Contact.email == email)
    if other_than is not None:
        query = query.where(Contact.id != other_than)
    return db.session.scalar(query)


def email_in_use_message(owner_id: int, owner_label: str) -> str:
    """The field error for an email another contact has (admin edits never merge, R10)."""
    return f"Already used by contact #{owner_id} ({owner_label}); contacts are never merged here."


def update_contact(contact: Contact, values: Mapping[str, object], status_id: int | None) -> None:
    """Save edited fields (already validated and normalised); never merges (R10)."""
    for name in EDITABLE_FIELDS:
        setattr(contact, name, values.get(name))
    contact.status_id = status_id
    try:
        db.session.flush()
    except IntegrityError:
        # The unique email index decides; look up its owner only to name it in the message.
        db.session.rollback()
        owner = _email_owner(str(values.get("email")), contact.id)
        if owner is None:
            raise
        label = contact_label(owner.first_name, owner.last_name, None, owner.id)
        raise FieldError("email", email_in_use_message(owner.id, label)) from None
    queue_membership_refresh([contact.id])
    db.session.commit()


class AuditProgress:
    """An audit entry for work done in committed batches, carrying the running counts, so the
    log always says how much was done even if the work stops half-way."""

    def __init__(self, action: str, actor: User | None, details: dict) -> None:
        self._details = details
        self._entry = record_audit(action, actor, details=details)

    def update(self, **counts: int) -> None:
        """Record the counts so far (in the caller's transaction)."""
        self._entry.details = {**self._details, **counts}


@dataclass(frozen=True)
class HeldData:
    """How many rows of each kind are held about a contact."""

    activities: int
    agreements: int
    memberships: int
    aliases: int


def held_data(contact_id: int) -> HeldData:
    """Count what an erase would delete."""

    def count(column) -> int:  # type: ignore[no-untyped-def]
        return db.session.scalar(select(func.count()).where(column == contact_id)) or 0

    return HeldData(
        activities=count(Activity.contact_id),
        agreements=count(ConsentAgreement.contact_id),
        memberships=count(ContactGroupMember.contact_id),
        aliases=count(ContactAlias.contact_id),
    )


def delete_contacts(ids: Iterable[int]) -> int:
    """Delete these contacts in the current transaction; the schema's cascades remove their
    activities, agreements, memberships, aliases and queued refreshes (R11)."""
    ids = list(ids)
    if not ids:
        return 0
    result = db.session.execute(delete(Contact).where(Contact.id.in_(ids)))
    return result.rowcount


def delete_contact(contact: Contact, actor: User) -> None:
    """Delete one contact and everything held about it (R11), audited."""
    record_audit("contact.delete", actor, target=contact)
    delete_contacts([contact.id])
    db.session.commit()
