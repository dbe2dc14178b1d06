"""Collect requests recorded together: one set of statements for all the requests of a commit.

The group-commit writer (``writer.py``) hands over runs of consecutive collect requests. Each
request is authorised, rate-limited and decided in order, by the same rules and helpers as
``record_events``; only the reads and writes are shared: the store is read once for every
request of the run (channels, stored event ids, contacts, activity types) and written once
(new visitors, activities, last activity, membership queue, hit and rate-limit counters).
Statements, not rows, were the cost of a request (SQLAlchemy spends about 0.1 ms on each), so
a run of n requests costs about what one did.

Requests that may identify a contact (R8, R9) are not recorded here: a merge or an email lookup
changes contacts that later requests of the run would read, so the writer records them on
their own (``record_one``) between runs.
"""

import uuid
from collections import Counter
from dataclasses import dataclass
from typing import Any

from ..domain.cookie_levels import cookies_to_clear, may_track
from ..domain.events import CollectRequest, Event, Rejection, parse_event
from ..groups.freshness import queue_membership_refresh
from ..models import utcnow
from . import ratelimit
from .collect import (
    WRITTEN,
    ActivityBatch,
    CollectResult,
    Sender,
    TrackingRefused,
    activity_row,
    activity_types,
    authorised_channel,
    check_sender,
    decide_level,
    event_ids,
    hit_keys,
    landing_row,
    load_request,
    lock_event_ids,
    needs_identification,
    record_events,
    results_json,
    stored_events,
    touch_contacts,
    verdicts,
)
from .consent_state import has_current_agreement
from .counters import HitKey, add_hits
from .guards import find_channel_for_origin, is_bot, origin_allowed_anywhere
from .identity import ContactKeys, contact_keys, create_visitors, resolve_contacts

Answer = tuple[dict[str, Any], bool]  # the response body, and whether CORS may echo the Origin


@dataclass(frozen=True)
class Submission:
    """A parsed collect request and who sent it, ready to be recorded.

    Parsing happens in the request's own thread, before it queues for the writer.
    """

    request: CollectRequest
    parsed: list[Event | Rejection]
    sender: Sender
    policy: ratelimit.RatePolicy

    @classmethod
    def parse(cls, body: bytes, sender: Sender, policy: ratelimit.RatePolicy) -> "Submission":
        """The submission of a request body; TrackingRefused(400) if the body is unusable."""
        request = load_request(body)
        return cls(request, [parse_event(raw) for raw in request.events], sender, policy)

    @property
    def alone(self) -> bool:
        """Whether it must be recorded on its own (it may identify a contact)."""
        return needs_identification(self.parsed)

    def event_ids(self) -> list[uuid.UUID]:
        """Its event ids, with the derived ids of the landing pages it may log."""
        return event_ids(self.parsed)


class _Origins:
    """Whether some channel allows an Origin, asked at most once per Origin."""

    def __init__(self) -> None:
        self._known: dict[str, bool] = {}

    def allowed(self, sender: Sender, origin_ok: bool) -> bool:
        origin = sender.origin
        if origin_ok or not origin:
            return origin_ok
        if origin not in self._known:
            self._known[origin] = origin_allowed_anywhere(origin)
        return self._known[origin]


def record_one(submission: Submission) -> Answer:
    """Record one submission in the current transaction; the caller commits. The answer says
    whether the Origin is one of the channel's (the caller asks the other channels if not).

    The rate limits are counted first, as a run counts them: on PostgreSQL every transaction
    then locks the rate-limit rows before the event ids and the hit counters, so a request
    alone and a run of other processes cannot wait on each other in a cycle (a deadlock).
    """
    sender = submission.sender
    channel, origin_ok = authorised_channel(submission.request.channel, sender)
    ratelimit.hit(submission.policy.limits(channel.code_name, sender.address_key))
    result = record_events(submission.request, channel, sender, submission.parsed)
    return result.as_json(), origin_ok


@dataclass
class _Visitor:
    """The contact a request's activities go to: known keys, or a GUID to create it with."""

    guid: uuid.UUID
    id: int | None = None


def record_together(submissions: list[Submission]) -> list[Answer | Exception]:
    """Record submissions that identify no one, in order, with shared statements; for each,
    its answer or its error (TrackingRefused, RateLimited). The caller commits."""
    answers: list[Answer | Exception | None] = [None] * len(submissions)
    origins = _Origins()

    # Who may send, then the rate limits of those who may (refused requests count for nothing).
    found: dict[tuple[str, str | None], Any] = {}
    admitted = []
    for i, sub in enumerate(submissions):
        key = (sub.request.channel, sub.sender.origin)
        if key not in found:
            found[key] = find_channel_for_origin(*key)
        channel, origin_ok = found[key]
        try:
            admitted.append((i, check_sender(channel, origin_ok, sub.sender), origin_ok))
        except TrackingRefused as exc:
            answers[i] = exc
    waits = ratelimit.hit_many(
        [
            submissions[i].policy.limits(channel.code_name, submissions[i].sender.address_key)
            for i, channel, _ in admitted
        ]
    )
    runs = []
    for (i, channel, origin_ok), wait in zip(admitted, waits, strict=True):
        if wait is None:
            runs.append((i, channel, origin_ok))
        else:
            answers[i] = ratelimit.RateLimited(wait)

    # What the store already holds, read once for the whole run.
    now = utcnow()
    ids = sorted({id_ for i, _, _ in runs for id_ in submissions[i].event_ids()})
    lock_event_ids(ids)
    stored = stored_events(ids)
    contacts = resolve_contacts({c for i, _, _ in runs if (c := submissions[i].request.contact)})
    types = activity_types()
    known = set(stored)
    taker: dict[uuid.UUID, _Visitor] = {}  # event id -> the visitor a request of this run gave it
    agreements: dict[tuple[int, int | None], bool] = {}

    writes: list[tuple[_Visitor, dict[str, Any]]] = []
    hits: Counter[HitKey] = Counter()
    decided = []
    for i, channel, origin_ok in runs:
        sub = submissions[i]
        keys = contacts.get(sub.request.contact) if sub.request.contact else None
        pair = (keys.id if keys else 0, channel.tracking_consent_id)
        if pair not in agreements:
            agreements[pair] = has_current_agreement(keys, channel.tracking_consent_id)
        agreed = agreements[pair]
        level = decide_level(sub.request, channel, sub.sender, agreed)
        bot = is_bot(sub.sender.user_agent) and channel.type != "headless"
        tracked = may_track(level) and not bot
        visitor = _Visitor(keys.guid, keys.id) if keys else None
        if tracked and visitor is None:
            visitor = _earlier_visitor(sub.event_ids(), stored, taker)
        taken = list(
            verdicts(
                sub.parsed,
                known,
                types,
                bot=bot,
                tracked=tracked,
                count_untracked=channel.count_untracked,
            )
        )
        hits += hit_keys(
            taken, channel, sub.request, sub.sender, now.date(), agreed=agreed, tracked=tracked
        )
        for verdict in taken:
            if verdict.status not in WRITTEN or verdict.event is None or verdict.info is None:
                continue
            if visitor is None:
                visitor = _Visitor(uuid.uuid4())
            taker[verdict.event.id] = visitor
            row = activity_row(verdict.event, verdict.event.id, verdict.info, None, channel, now)
            writes.append((visitor, row))
            landing = landing_row(verdict, types, known, None, channel, now)
            if landing is not None:
                taker[landing["event_id"]] = visitor
                writes.append((visitor, landing))
        result = CollectResult(
            tracked=tracked,
            cookie_level=int(level),
            contact=None,
            clear=cookies_to_clear(level) if not tracked else [],
        )
        decided.append((i, result, taken, visitor if tracked else None, origin_ok))

    # Everything the run writes, once.
    new = {v.guid: v for v, _ in writes if v.id is None}
    ids_of = create_visitors(list(new), now)
    for guid, visitor in new.items():
        visitor.id = ids_of[guid]
    batch = ActivityBatch()
    for visitor, row in writes:
        row["contact_id"] = visitor.id
        batch.add(row)
    batch.flush()
    touch_contacts(batch.contacts - set(ids_of.values()), now)
    if batch.contacts:
        queue_membership_refresh(batch.contacts)
    add_hits(hits)

    for i, result, taken, visitor, origin_ok in decided:
        result.contact = str(visitor.guid) if visitor is not None else None
        result.results = results_json(taken, batch.accepted)
        answers[i] = (result.as_json(), origins.allowed(submissions[i].sender, origin_ok))
    return answers  # type: ignore[return-value]


def _earlier_visitor(
    ids: list[uuid.UUID], stored: dict[uuid.UUID, int], taker: dict[uuid.UUID, _Visitor]
) -> _Visitor | None:
    """The contact an earlier copy of these events went to: a retry whose first answer was
    lost keeps the contact its original created (stored, or earlier in this run)."""
    for id_ in ids:
        if id_ in taker:
            return taker[id_]
        if id_ in stored:
            keys: ContactKeys = contact_keys(stored[id_])
            return _Visitor(keys.guid, keys.id)
    return None
