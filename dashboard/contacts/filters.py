"""What the contact list can be filtered and sorted by, turned into SQL that indexes serve.

Nothing here runs a query: services combine these clauses with keyset pagination.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import and_, literal, or_, select
from sqlalchemy.sql import ColumnElement

from ..models import Activity, Contact, ContactGroupMember
from .keyset import Cursor, KeysetOrder


@dataclass(frozen=True)
class ContactFilter:
    """The list's search and filters; empty values filter nothing."""

    q: str = ""
    identified: bool | None = None
    country: str | None = None
    status_id: int | None = None
    created_from: date | None = None
    created_to: date | None = None
    channel_id: int | None = None
    active_days: int = 30
    group_id: int | None = None

    def to_args(self) -> dict[str, str]:
        """The query-string arguments that reproduce this filter (for links and hidden fields)."""
        args = {
            "q": self.q,
            "identified": {True: "identified", False: "anonymous"}.get(self.identified),
            "country": self.country,
            "status": self.status_id,
            "created_from": self.created_from,
            "created_to": self.created_to,
            "channel": self.channel_id,
            "days": self.active_days if self.channel_id is not None else None,
            "group": self.group_id,
        }
        return {k: str(v) for k, v in args.items() if v not in (None, "")}


@dataclass(frozen=True)
class SortOption:
    """A column the list may be sorted by (the allowlist)."""

    label: str
    column: object
    kind: type
    nullable: bool
    descending_first: bool


SORTS: dict[str, SortOption] = {
    "last_activity": SortOption("Last activity", Contact.last_activity_at, datetime, True, True),
    "created": SortOption("Created", Contact.created_at, datetime, False, True),
    "last_name": SortOption("Last name", Contact.last_name, str, True, False),
    "email": SortOption("Email", Contact.email, str, True, False),
    "country": SortOption("Country", Contact.country, str, True, False),
}
DEFAULT_SORT = "last_activity"


@dataclass(frozen=True)
class ContactListQuery:
    """A page of the list: filter, allowlisted sort key and direction, cursor and page size."""

    contact_filter: ContactFilter
    sort: str
    descending: bool
    cursor: Cursor | None
    per_page: int

    def to_args(self) -> dict[str, str]:
        """Query-string arguments of the filter, sort and page size (not the cursor)."""
        direction = "desc" if self.descending else "asc"
        return {
            **self.contact_filter.to_args(),
            "sort": self.sort,
            "dir": direction,
            "per_page": str(self.per_page),
        }

    def order(self) -> KeysetOrder:
        """The keyset order of the sort key."""
        option = SORTS[self.sort]
        return KeysetOrder(option.column, Contact.id, self.descending, option.nullable)


def prefix_match(column, prefix: str, dialect: str) -> ColumnElement[bool]:  # type: ignore[no-untyped-def]
    """``column`` starts with ``prefix``, written so the column's index serves it.

    SQLite compares text byte-wise (UTF-8 keeps code point order), so a prefix is exactly the
    half-open range [prefix, prefix with its last character incremented); SQLite's LIKE is
    case-insensitive and never uses a plain index. PostgreSQL orders text by its collation, where
    that range is not exact; LIKE 'p%' is, and uses an index under the C collation.
    """
    if dialect != "sqlite":
        return column.startswith(prefix, autoescape=True)
    following = ord(prefix[-1]) + 1
    if following > 0x10FFFF:
        return column >= prefix
    if 0xD800 <= following <= 0xDFFF:  # surrogates are no characters; skip past them
        following = 0xE000
    return and_(column >= prefix, column < prefix[:-1] + chr(following))


def _name_prefix(column, text: str, dialect: str) -> ColumnElement[bool]:  # type: ignore[no-untyped-def]
    # Names keep the case they were typed with; match the usual spellings of what was searched.
    variants = sorted({text, text.lower(), text.capitalize(), text.title(), text.upper()})
    return or_(*(prefix_match(column, v, dialect) for v in variants))


def search_condition(q: str, dialect: str) -> ColumnElement[bool] | None:
    """Search by the start of the email, or of the last name, or of "first last" name."""
    q = " ".join(q.split())
    if not q:
        return None
    if "@" in q:
        return prefix_match(Contact.email, q.lower(), dialect)
    options = [
        prefix_match(Contact.email, q.lower(), dialect),
        _name_prefix(Contact.last_name, q, dialect),
    ]
    if " " in q:
        first, last = q.split(" ", 1)
        options.append(
            and_(
                _name_prefix(Contact.last_name, last, dialect),
                _name_prefix(Contact.first_name, first, dialect),
            )
        )
    return or_(*options)


def day_start(day: date) -> datetime:
    """Midnight UTC at the start of ``day``."""
    return datetime.combine(day, time.min, tzinfo=UTC)


def active_on_channel(channel_id: int, since: datetime, driving: bool) -> ColumnElement[bool]:
    """The contact has an activity on the channel since ``since``."""
    if driving:
        return Contact.id.in_(
            select(Activity.contact_id).where(
                Activity.channel_id == channel_id, Activity.created_at >= since
            )
        )
    query = select(literal(1)).where(
        Activity.contact_id == Contact.id,
        Activity.channel_id == channel_id,
        Activity.created_at >= since,
    )
    # Per contact, its own few activities are the rows to look at; without statistics SQLite
    # may pick the channel's index and read every activity of the channel for each contact.
    query = query.with_hint(Activity, "INDEXED BY ix_activity_contact_created", "sqlite")
    return query.exists()


def in_group(group_id: int, driving: bool) -> ColumnElement[bool]:
    """The contact is a member of the group."""
    if driving:
        return Contact.id.in_(
            select(ContactGroupMember.contact_id).where(ContactGroupMember.group_id == group_id)
        )
    return (
        select(literal(1))
        .where(
            ContactGroupMember.group_id == group_id,
            ContactGroupMember.contact_id == Contact.id,
        )
        .exists()
    )


def contact_conditions(
    f: ContactFilter, dialect: str, now: datetime, *, driving: bool = False
) -> list[ColumnElement[bool]]:
    """WHERE clauses on Contact for the filter; ``driving`` writes the activity and group
    filters as IN subqueries a plan can start from, else as EXISTS tested row by row."""
    conditions: list[ColumnElement[bool]] = []
    search = search_condition(f.q, dialect)
    if search is not None:
        conditions.append(search)
    if f.identified is not None:
        conditions.append(Contact.email.is_not(None) if f.identified else Contact.email.is_(None))
    if f.country:
        conditions.append(Contact.country == f.country)
    if f.status_id is not None:
        conditions.append(Contact.status_id == f.status_id)
    if f.created_from is not None:
        conditions.append(Contact.created_at >= day_start(f.created_from))
    if f.created_to is not None:
        conditions.append(Contact.created_at < day_start(f.created_to + timedelta(days=1)))
    if f.channel_id is not None:
        since = now - timedelta(days=f.active_days)
        conditions.append(active_on_channel(f.channel_id, since, driving))
    if f.group_id is not None:
        conditions.append(in_group(f.group_id, driving))
    return conditions
