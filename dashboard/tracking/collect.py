"""POST /t/v1/collect: the cookie-level and consent rules applied to a batch of events."""

import uuid
import zlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache
from typing import Any

from sqlalchemy import bindparam, select, text, update
from sqlalchemy.sql.dml import Insert

from ..domain.cookie_levels import CookieLevel, cookies_to_clear, effective_level, may_track
from ..domain.events import (
    CUSTOM_EVENT,
    IDENTIFYING_EVENTS,
    CollectError,
    CollectRequest,
    Event,
    Rejection,
    activity_title,
    landing_event_id,
    parse_collect,
    parse_event,
    parse_json,
    parse_utm,
)
from ..extensions import db
from ..groups.freshness import queue_membership_refresh
from ..models import Activity, ActivityType, Contact, utcnow
from ..sql import dialect_name, upsert_insert
from .consent_state import has_current_agreement
from .counters import HitKey, add_hits
from .guards import ChannelInfo, find_channel_for_origin, is_bot, sender_allowed
from .identity import (
    apply_fields,
    contact_by_email,
    create_contact,
    create_visitor,
    identify_contact,
    loaded,
    resolve_contact,
)


class TrackingRefused(Exception):
    """A whole-request error with its documented status and code."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


@dataclass(frozen=True)
class Sender:
    """What the HTTP layer knows about who sent the request."""

    origin: str | None
    authorization: str | None
    user_agent: str | None
    gpc: bool
    address_key: str


@dataclass
class CollectResult:
    """The response body of a collect request."""

    tracked: bool
    cookie_level: int
    contact: str | None
    clear: list[str]
    results: list[dict[str, str]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        """The documented response shape."""
        return {
            "tracked": self.tracked,
            "cookie_level": self.cookie_level,
            "contact": self.contact,
            "clear": self.clear,
            "results": self.results,
        }


@dataclass(frozen=True)
class ActivityTypeInfo:
    """The columns of an activity type the collector needs."""

    id: int
    display_name: str
    enabled: bool
    is_builtin: bool


def load_request(body: bytes) -> CollectRequest:
    """Parse the body or raise TrackingRefused(400)."""
    try:
        return parse_collect(parse_json(body))
    except CollectError as exc:
        raise TrackingRefused(400, "bad_request", str(exc)) from None


def authorised_channel(code: str, sender: Sender) -> tuple[ChannelInfo, bool]:
    """The channel the request names, if the sender may use it (404 / 403 otherwise), and
    whether the sender's Origin is one of the channel's allowed origins."""
    channel, origin_ok = find_channel_for_origin(code, sender.origin)
    return check_sender(channel, origin_ok, sender), origin_ok


def check_sender(channel: ChannelInfo | None, origin_ok: bool, sender: Sender) -> ChannelInfo:
    """``channel`` if it exists and the sender may use it; TrackingRefused (404 / 403) if not."""
    if channel is None:
        raise TrackingRefused(404, "not_found", "unknown or disabled channel")
    if not sender_allowed(channel, origin_ok, sender.authorization):
        raise TrackingRefused(403, "forbidden", "origin or API key not allowed for this channel")
    return channel


# Statements every collect request runs, built once: neither built nor keyed for SQLAlchemy's
# compiled cache again (about a third of the request's CPU went there).
# On the tables, not the classes, so the ORM's statement layer stays out of it.
_types, _activity, _contact = ActivityType.__table__.c, Activity.__table__.c, Contact.__table__.c
_ACTIVITY_TYPES = select(
    _types.code_name, _types.id, _types.display_name, _types.enabled, _types.is_builtin
)
_STORED_EVENTS = select(_activity.event_id, _activity.contact_id).where(
    _activity.event_id.in_(bindparam("ids", expanding=True))
)
# One advisory lock per event id (its CRC32), taken in key order.
_LOCK_EVENT_IDS = text(
    "SELECT count(pg_advisory_xact_lock(k)) FROM unnest(CAST(:keys AS bigint[])) AS k"
)
_TOUCH_CONTACTS = (
    update(Contact.__table__)
    .where(_contact.id.in_(bindparam("ids", expanding=True)))
    .values(last_activity_at=bindparam("now"))
)


@cache
def _insert_activities(dialect: str) -> Insert:
    """Insert activity rows; a row whose event id is already stored is skipped (RETURNING
    names the inserted ones)."""
    table = Activity.__table__  # the table, not the class: no ORM bulk-insert machinery
    return (
        upsert_insert(table, dialect)
        .on_conflict_do_nothing(index_elements=["event_id"])
        .returning(table.c.event_id)
    )


def touch_contacts(ids: set[int], now: datetime) -> None:
    """Stamp the last activity of contacts that already existed."""
    if ids:
        db.session.connection().execute(_TOUCH_CONTACTS, {"ids": sorted(ids), "now": now})


def activity_types() -> dict[str, ActivityTypeInfo]:
    return {
        r[0]: ActivityTypeInfo(*r[1:]) for r in db.session.connection().execute(_ACTIVITY_TYPES)
    }


def lock_event_ids(ids: list[uuid.UUID]) -> None:
    """PostgreSQL: serialise concurrent copies of the same events (SQLite already serialises
    writers with BEGIN IMMEDIATE), so a retry racing its original sees it as a duplicate."""
    if not ids or dialect_name() != "postgresql":
        return
    keys = sorted({zlib.crc32(i.bytes) for i in ids})
    db.session.connection().execute(_LOCK_EVENT_IDS, {"keys": keys})


def stored_events(ids: list[uuid.UUID]) -> dict[uuid.UUID, int]:
    if not ids:
        return {}
    return {r[0]: r[1] for r in db.session.connection().execute(_STORED_EVENTS, {"ids": ids})}


class ActivityBatch:
    """Activity rows waiting to be inserted, with the outcome of each event."""

    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []
        self.accepted: set[uuid.UUID] = set()
        self.contacts: set[int] = set()

    def add(self, row: dict[str, Any]) -> None:
        self.rows.append(row)

    def flush(self) -> None:
        """Insert pending rows; ids that lost a race to a concurrent copy stay not accepted."""
        if not self.rows:
            return
        inserted = db.session.connection().execute(_insert_activities(dialect_name()), self.rows)
        self.accepted.update(inserted.scalars())
        self.contacts.update(r["contact_id"] for r in self.rows)
        self.rows = []


def activity_row(
    event: Event,
    event_id: uuid.UUID,
    type_info: ActivityTypeInfo,
    contact_id: int,
    channel: ChannelInfo | None,
    now: datetime,
    *,
    legitimate_interest: bool = False,
) -> dict[str, Any]:
    """An activity row; under legitimate interest (R9) only the submitted data is kept."""
    row: dict[str, Any] = {
        "event_id": event_id,
        "contact_id": contact_id,
        "type_id": type_info.id,
        "channel_id": None,
        "title": activity_title(event, type_info.display_name),
        "value": event.value,
        "url": None,
        "referrer": None,
        "utm_source": None,
        "utm_medium": None,
        "utm_campaign": None,
        "utm_content": None,
        "data": event.fields or None,
        "created_at": now,
    }
    if not legitimate_interest:
        row.update(
            channel_id=channel.id if channel else None, url=event.url, referrer=event.referrer
        )
        row.update(parse_utm(event.url))
    return row


WRITTEN = frozenset({"store", "legitimate"})  # verdicts that write an activity


@dataclass(frozen=True)
class Verdict:
    """What the rules make of one event before anything is written.

    ``status`` is "rejected", "duplicate" or "dropped" (final, with a reason where the API gives
    one), "store" (a tracked activity) or "legitimate" (a form submission kept under legitimate
    interest below Visitor, R9). ``counted``: the event goes into the anonymous hit counters.
    """

    id: str | None
    status: str
    reason: str | None = None
    event: Event | None = None
    info: ActivityTypeInfo | None = None
    counted: bool = False


def verdicts(
    parsed: list[Event | Rejection],
    known: set[uuid.UUID],
    types: dict[str, ActivityTypeInfo],
    *,
    bot: bool,
    tracked: bool,
    count_untracked: bool,
) -> Iterator[Verdict]:
    """R13 and R2 for each event of a request, in order (pure: no database).

    ``known`` holds the event ids already stored or already taken by this transaction; the ids
    of this request's events are added to it as they are taken.
    """
    for item in parsed:
        if isinstance(item, Rejection):
            yield Verdict(item.id, "rejected", item.reason)
            continue
        key = str(item.id)
        if item.id in known:
            yield Verdict(key, "duplicate")
            continue
        known.add(item.id)
        info = types.get(item.activity_type)
        if info is None or (item.type == CUSTOM_EVENT and info.is_builtin):
            yield Verdict(key, "rejected", "unknown_type")
        elif bot:
            yield Verdict(key, "dropped", "bot")
        elif not info.enabled:
            yield Verdict(key, "dropped", "type_disabled")
        elif tracked:
            yield Verdict(key, "store", event=item, info=info, counted=True)
        elif item.type == "bizformsubmit" and item.email:
            yield Verdict(key, "legitimate", event=item, info=info, counted=count_untracked)
        else:
            yield Verdict(key, "dropped", "below_visitor", event=item, counted=count_untracked)


def event_ids(parsed: list[Event | Rejection]) -> list[uuid.UUID]:
    """The ids a request's events may store under: theirs, and the derived ids of the landing
    pages they may log."""
    events = [e for e in parsed if isinstance(e, Event)]
    return [e.id for e in events] + [landing_event_id(e.id) for e in events if e.landing]


def needs_identification(parsed: list[Event | Rejection]) -> bool:
    """Whether an event of the request may identify a contact or route data to one by email
    (R8, R9): such a request is recorded on its own, not together with others."""
    return any(
        isinstance(e, Event) and e.type in IDENTIFYING_EVENTS and (e.fields or e.email)
        for e in parsed
    )


def hit_keys(
    taken: list[Verdict],
    channel: ChannelInfo,
    request: CollectRequest,
    sender: Sender,
    day: date,
    *,
    agreed: bool,
    tracked: bool,
) -> Counter[HitKey]:
    """The anonymous counter keys of a request's counted events (R3: nothing identifying)."""
    return Counter(
        HitKey(
            channel.id,
            day,
            v.event.activity_type,
            request.cookie_level,
            agreed,
            sender.gpc,
            tracked,
        )
        for v in taken
        if v.counted and v.event is not None
    )


def landing_row(
    verdict: Verdict,
    types: dict[str, ActivityTypeInfo],
    known: set[uuid.UUID],
    contact_id: Any,
    channel: ChannelInfo,
    now: datetime,
) -> dict[str, Any] | None:
    """The landing-page activity logged with a stored page visit that says it landed."""
    event = verdict.event
    landing = types.get("landingpage")
    if event is None or not event.landing or landing is None or not landing.enabled:
        return None
    landing_id = landing_event_id(event.id)
    if landing_id in known:
        return None
    known.add(landing_id)
    return activity_row(event, landing_id, landing, contact_id, channel, now)


def results_json(verdicts_: list[Verdict], accepted: set[uuid.UUID]) -> list[dict[str, str]]:
    """Per-event results: a written event is "accepted" unless a concurrent copy won."""
    results = []
    for verdict in verdicts_:
        status = verdict.status
        if status in WRITTEN:
            status = "accepted" if verdict.event and verdict.event.id in accepted else "duplicate"
        result = {"id": verdict.id, "status": status}
        if verdict.reason:
            result["reason"] = verdict.reason
        results.append(result)
    return results


def decide_level(
    request: CollectRequest, channel: ChannelInfo, sender: Sender, agreed: bool
) -> CookieLevel:
    """R1: the effective cookie level of the request."""
    return effective_level(
        request.cookie_level,
        CookieLevel(channel.default_cookie_level),
        has_agreement=agreed,
        gpc=sender.gpc,
        honours_gpc=channel.honour_gpc,
    )


def record_events(
    request: CollectRequest,
    channel: ChannelInfo,
    sender: Sender,
    parsed: list[Event | Rejection] | None = None,
) -> CollectResult:
    """Apply R1-R13 to the events of an authorised request; the caller commits.

    Also the entry point for a website's own server recording a form submission.
    """
    now = utcnow()
    if parsed is None:
        parsed = [parse_event(raw) for raw in request.events]
    all_ids = event_ids(parsed)
    bot = is_bot(sender.user_agent) and channel.type != "headless"

    lock_event_ids(all_ids)
    stored = stored_events(all_ids)
    contact = resolve_contact(request.contact)
    agreed = has_current_agreement(contact, channel.tracking_consent_id)
    level = decide_level(request, channel, sender, agreed)
    tracked = may_track(level) and not bot
    if tracked and contact is None and stored:
        # A retry whose first answer was lost: keep the contact the original created.
        contact = db.session.get(Contact, next(iter(stored.values())))

    types = activity_types()
    batch = ActivityBatch()
    known = set(stored)
    taken = list(
        verdicts(
            parsed,
            known,
            types,
            bot=bot,
            tracked=tracked,
            count_untracked=channel.count_untracked,
        )
    )
    hits = hit_keys(taken, channel, request, sender, now.date(), agreed=agreed, tracked=tracked)
    fresh: set[int] = set()  # contacts created here, already stamped with ``now``

    for verdict in taken:
        item, info = verdict.event, verdict.info
        if verdict.status not in WRITTEN or item is None or info is None:
            continue
        if verdict.status == "legitimate":
            batch.flush()
            target = contact_by_email(item.email) or create_contact(email=item.email)
            apply_fields(target, item.fields)
            batch.add(
                activity_row(item, item.id, info, target.id, None, now, legitimate_interest=True)
            )
            continue
        if contact is None:
            contact = create_visitor(now)
            fresh.add(contact.id)
        target = contact
        if item.type in IDENTIFYING_EVENTS and item.fields:
            batch.flush()  # rows already built name contacts a merge may remove
            target, contact = identify_contact(loaded(contact), item.fields)
        batch.add(activity_row(item, item.id, info, target.id, channel, now))
        landing = landing_row(verdict, types, known, target.id, channel, now)
        if landing is not None:
            batch.add(landing)
    batch.flush()

    touch_contacts(batch.contacts - fresh, now)
    if batch.contacts:
        queue_membership_refresh(batch.contacts)
    add_hits(hits)
    return CollectResult(
        tracked=tracked,
        cookie_level=int(level),
        contact=str(contact.guid) if tracked and contact is not None else None,
        clear=cookies_to_clear(level) if not tracked else [],
        results=results_json(taken, batch.accepted),
    )
