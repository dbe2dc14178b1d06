"""Contacts on the live site: resolve by GUID (R7), identify by email (R8), merge (R10)."""

import uuid
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import bindparam, delete, func, insert, or_, select, update

from ..domain.contacts import Identification, identify, merged_fields
from ..domain.events import CONTACT_FIELDS
from ..extensions import db
from ..models import (
    Activity,
    ConsentAgreement,
    Contact,
    ContactAlias,
    ContactGroupMember,
    utcnow,
)
from ..sql import upsert_insert

MERGED_FIELDS = tuple(CONTACT_FIELDS)


# Built once: every collect request with a contact cookie runs it.
_BY_GUID = (
    select(Contact)
    .where(
        or_(
            Contact.guid == bindparam("guid"),
            Contact.id.in_(
                select(ContactAlias.contact_id).where(ContactAlias.guid == bindparam("guid"))
            ),
        )
    )
    .limit(1)
)


def resolve_contact(guid: uuid.UUID | None) -> Contact | None:
    """The contact a GUID names, following merged-away GUIDs to their survivor (R10)."""
    if guid is None:
        return None
    return db.session.scalar(_BY_GUID, {"guid": guid})


@dataclass(frozen=True)
class ContactKeys:
    """A contact's keys, no ORM object: most requests of a new or known visitor store a page
    visit and nothing else (``loaded`` makes the ORM object when one is needed)."""

    id: int
    guid: uuid.UUID


_contact, _alias = Contact.__table__.c, ContactAlias.__table__.c
_INSERT_VISITOR = insert(Contact.__table__).returning(_contact.id, _contact.guid)
_BY_GUIDS = select(_contact.guid, _contact.id, _contact.guid).where(
    _contact.guid.in_(bindparam("guids", expanding=True))
)
_BY_ALIASES = (
    select(_alias.guid, _contact.id, _contact.guid)
    .join_from(ContactAlias.__table__, Contact.__table__, _alias.contact_id == _contact.id)
    .where(_alias.guid.in_(bindparam("guids", expanding=True)))
)
_GUID_OF = select(_contact.guid).where(_contact.id == bindparam("id"))


def resolve_contacts(guids: set[uuid.UUID]) -> dict[uuid.UUID, ContactKeys]:
    """The keys of the contacts these GUIDs name (R7), merged-away GUIDs followed to their
    survivor (R10): two statements for any number of GUIDs."""
    if not guids:
        return {}
    connection, params = db.session.connection(), {"guids": sorted(guids)}
    found = {row[0]: ContactKeys(row[1], row[2]) for row in connection.execute(_BY_GUIDS, params)}
    if len(found) < len(guids):
        for row in connection.execute(_BY_ALIASES, params):
            found.setdefault(row[0], ContactKeys(row[1], row[2]))
    return found


def contact_keys(contact_id: int) -> ContactKeys:
    """The keys of a contact by id."""
    return ContactKeys(contact_id, db.session.connection().scalar(_GUID_OF, {"id": contact_id}))


def create_visitors(guids: list[uuid.UUID], now: datetime) -> dict[uuid.UUID, int]:
    """Insert anonymous contacts with these GUIDs, last active ``now``, in one statement; their
    ids by GUID."""
    if not guids:
        return {}
    params = [
        {"guid": guid, "created_at": now, "updated_at": now, "last_activity_at": now}
        for guid in guids
    ]
    rows = db.session.connection().execute(_INSERT_VISITOR, params)
    return {guid: id_ for id_, guid in rows}


def create_visitor(now: datetime) -> ContactKeys:
    """Insert an anonymous contact whose last activity is ``now``."""
    params = {"guid": uuid.uuid4(), "created_at": now, "updated_at": now, "last_activity_at": now}
    return ContactKeys(*db.session.connection().execute(_INSERT_VISITOR, params).one())


def loaded(contact: Contact | ContactKeys) -> Contact:
    """The ORM object of ``contact``."""
    if isinstance(contact, Contact):
        return contact
    return db.session.get_one(Contact, contact.id)  # created in this transaction


def create_contact(**fields: object) -> Contact:
    """Create a new contact (anonymous unless an email is given) and flush it."""
    contact = Contact(**fields)
    db.session.add(contact)
    db.session.flush()
    return contact


def contact_by_email(email: str) -> Contact | None:
    """The contact holding this (normalised) email."""
    return db.session.scalar(select(Contact).where(Contact.email == email))


def apply_fields(contact: Contact, fields: dict[str, str]) -> None:
    """Write submitted fields to ``contact``; the email is set only when it has none (R8)."""
    for name, value in fields.items():
        if name == "email":
            if contact.email is None:
                contact.email = value
            continue
        if name == "birthday":
            contact.birthday = date.fromisoformat(value)
            continue
        setattr(contact, name, value)


def identify_contact(current: Contact, fields: dict[str, str]) -> tuple[Contact, Contact]:
    """Apply R8 for submitted ``fields``; return (contact the data goes to, browser's contact).

    The browser's contact changes only by a merge, when it becomes the survivor.
    """
    email = fields.get("email")
    owner = contact_by_email(email) if email and current.email != email else None
    decision = identify(current.email, email, owner is not None)
    if decision is Identification.MERGE and owner is not None:
        survivor = merge_contacts(survivor=owner, child=current)
        apply_fields(survivor, fields)
        return survivor, survivor
    if decision is Identification.ROUTE:
        target = owner or create_contact(email=email)
        apply_fields(target, fields)
        return target, current
    apply_fields(current, fields)  # NONE, SAME, SET_EMAIL
    db.session.flush()
    return current, current


def merge_contacts(*, survivor: Contact, child: Contact) -> Contact:
    """Merge ``child`` into ``survivor`` (R10), set-based; the child's GUID keeps resolving."""
    values = merged_fields(
        {f: getattr(survivor, f) for f in MERGED_FIELDS},
        {f: getattr(child, f) for f in MERGED_FIELDS},
        MERGED_FIELDS,
    )
    child_id, child_guid = child.id, child.guid
    last = max((t for t in (survivor.last_activity_at, child.last_activity_at) if t), default=None)
    db.session.execute(
        update(Activity).where(Activity.contact_id == child_id).values(contact_id=survivor.id)
    )
    db.session.execute(
        update(ConsentAgreement)
        .where(ConsentAgreement.contact_id == child_id)
        .values(contact_id=survivor.id)
    )
    _move_memberships(child_id, survivor.id)
    db.session.execute(
        update(ContactAlias)
        .where(ContactAlias.contact_id == child_id)
        .values(contact_id=survivor.id)
    )
    db.session.delete(child)
    db.session.flush()
    db.session.add(ContactAlias(guid=child_guid, contact_id=survivor.id))
    for name, value in values.items():
        setattr(survivor, name, value)
    survivor.last_activity_at = last
    survivor.updated_at = utcnow()
    db.session.flush()
    return survivor


def _move_memberships(child_id: int, survivor_id: int) -> None:
    member = ContactGroupMember
    moved = select(
        member.group_id,
        func.cast(survivor_id, db.Integer),
        member.by_condition,
        member.manual,
        member.added_at,
    ).where(member.contact_id == child_id)
    stmt = upsert_insert(member).from_select(
        ["group_id", "contact_id", "by_condition", "manual", "added_at"], moved
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=["group_id", "contact_id"],
        set_={
            "manual": member.manual | stmt.excluded.manual,
            "by_condition": member.by_condition | stmt.excluded.by_condition,
        },
    )
    db.session.execute(stmt)
    db.session.execute(delete(member).where(member.contact_id == child_id))
