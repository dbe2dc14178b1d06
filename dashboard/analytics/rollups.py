"""Keeping the analytics rollups current: an incremental job over id watermarks.

Why a job rather than writes on the tracking path: the tracking API's transaction stays as short
as it is (one insert per event, no hot counter rows that every request would fight over), the
rollups can be rebuilt from the raw tables at any time with the same code, and a slow rollup never
slows a visitor down. The cost is a delay of one job interval (seconds) before a visit shows.

Three streams are rolled up, each keyed on its table's ascending id:

* ``activity``: ``activity_daily``, ``page_daily`` (+ ``analytics_page``), ``source_daily`` and the
  activities of sampled contacts (``activity_sample``), and the same per contact group
  (``group_*_daily``, whose membership changes are applied first: ``group_rollups.py``);
* ``contact``: the creation days of new contacts, whose ``contact_daily`` row is recomputed (also
  for contacts that an activity of this run may have identified);
* ``agreement``: ``consent_daily`` from the append-only agreement log, and the same per contact
  group (``group_consent_daily``, ``consent_rollups.py``).

One run of a stream is one transaction: it locks the stream's ``rollup_state`` row (PostgreSQL:
``FOR UPDATE NOWAIT``, a busy row means another worker is on it; SQLite: ``BEGIN IMMEDIATE``),
reads the position, aggregates the rows above it, adds the results and moves the position, then
commits. Two workers can therefore never count a row twice, and a crash loses nothing.

Ids are handed out before commit, so on PostgreSQL a row with a lower id can become visible after
one with a higher id. Ids missing below the new position are remembered as gaps and looked up again
on every run until they are older than the gap timeout (then they were rolled back or deleted).

Deletions (erasure, retention purges, merges) and rows that commit later than the gap timeout are
repaired by the reconciler, which checks one UTC day per tick against the raw tables and rebuilds
that day when they disagree. ``flask backfill-rollups`` rebuilds everything.
"""

import logging
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, false, func, not_, or_, select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.sql import ColumnElement

from ..database import write_intent
from ..extensions import db
from ..models import (
    Activity,
    ActivityType,
    AgreementAction,
    ConsentAgreement,
    Contact,
    utcnow,
)
from ..models.analytics import (
    NO_CHANNEL,
    ActivityDaily,
    ActivitySample,
    AnalyticsPage,
    ConsentDaily,
    ContactDaily,
    PageDaily,
    RollupGap,
    RollupState,
    SourceDaily,
)
from ..sql import upsert_insert
from . import consent_rollups, group_rollups
from .sql import (
    add_counts,
    day_end,
    day_runs,
    day_start,
    dialect_name,
    in_sample,
    sampled,
    utc_day,
)
from .targets import EVERYONE, Target
from .text import page_url, redact, referrer_host, source_value, url_hash

log = logging.getLogger(__name__)

ACTIVITY, CONTACT, AGREEMENT = "activity", "contact", "agreement"
SAMPLE_RATE = "sample-rate"
RECONCILE = "reconcile"
# Activities first: a backfill then recounts every contact day once, in the contact stream.
STREAMS = (ACTIVITY, CONTACT, AGREEMENT)
SOURCES = {ACTIVITY: Activity, CONTACT: Contact, AGREEMENT: ConsentAgreement}

PAGE_TYPES = ("pagevisit", "landingpage")
# Activities that can set a contact's email (R8) or register a member.
IDENTIFYING_TYPES = ("datainput", "bizformsubmit", "memberregistration")
SOURCE_DIMENSIONS = ("referrer", "utm_source", "utm_medium", "utm_campaign")

DEFAULT_BATCH = 20_000
BACKFILL_BATCH = 100_000
DEFAULT_SAMPLE_CONTACTS = 2048
DEFAULT_GAP_TIMEOUT = timedelta(minutes=10)


@dataclass(frozen=True)
class Settings:
    """Tunables of the job (``ANALYTICS_*`` config keys)."""

    batch: int = DEFAULT_BATCH
    sample_contacts: int = DEFAULT_SAMPLE_CONTACTS
    gap_timeout: timedelta = DEFAULT_GAP_TIMEOUT


@dataclass
class RunResult:
    """What one refresh did, per stream: rows rolled up; and streams another worker held."""

    rows: dict[str, int] = field(default_factory=lambda: dict.fromkeys(STREAMS, 0))
    busy: set[str] = field(default_factory=set)
    caught_up: bool = True


class RollupBusy(Exception):
    """Another worker holds the stream's lock."""


# --- State rows and locks ------------------------------------------------------------------------


def _state(name: str, *, lock: bool, wait: bool = False) -> RollupState:
    """The state row of ``name``, created at 0 if missing; locked on PostgreSQL (NOWAIT unless
    ``wait``)."""
    stmt = upsert_insert(RollupState.__table__).on_conflict_do_nothing(index_elements=["name"])
    query = select(RollupState).where(RollupState.name == name)
    if lock and dialect_name() == "postgresql":
        query = query.with_for_update(nowait=not wait)
    try:
        row = db.session.scalars(query).first()
        if row is None:
            db.session.execute(stmt, [{"name": name, "position": 0, "changed_at": utcnow()}])
            row = db.session.scalars(query).one()
    except OperationalError as exc:
        if getattr(exc.orig, "sqlstate", None) == "55P03":  # lock_not_available
            db.session.rollback()
            raise RollupBusy(name) from None
        raise
    return row


def read_position(name: str) -> int:
    """The committed position of a stream (0 when it never ran)."""
    return db.session.scalar(select(RollupState.position).where(RollupState.name == name)) or 0


def sample_rate() -> int:
    """The current sampling rate R: one contact in R is in the sample (1 = every contact)."""
    return max(1, read_position(SAMPLE_RATE))


def _type_ids(codes: Iterable[str]) -> list[int]:
    return list(
        db.session.scalars(select(ActivityType.id).where(ActivityType.code_name.in_(list(codes))))
    )


# --- Windows: which source rows a run reads ------------------------------------------------------


@dataclass(frozen=True)
class Window:
    """Source rows ``low < id <= high`` plus late ids found in earlier gaps."""

    low: int
    high: int
    late: tuple[int, ...] = ()

    def condition(self, id_column: ColumnElement[int]) -> ColumnElement[bool]:
        """SQL condition selecting the window's rows."""
        span = and_(id_column > self.low, id_column <= self.high)
        return or_(span, id_column.in_(self.late)) if self.late else span

    def rolled(self, stream: str, id_column: ColumnElement[int]) -> ColumnElement[bool]:
        """SQL condition selecting the rows rolled up before this run: up to ``low``, less the
        open gaps and the late ids this run reads."""
        before = and_(id_column <= self.low, not_(_gap_condition(stream, id_column)))
        return and_(before, id_column.not_in(self.late)) if self.late else before

    @property
    def empty(self) -> bool:
        """Nothing to read."""
        return self.high <= self.low and not self.late


def _gap_condition(stream: str, id_column: ColumnElement[int]) -> ColumnElement[bool]:
    """SQL condition: the id lies in one of the stream's open gaps."""
    gaps = db.session.execute(
        select(RollupGap.first_id, RollupGap.last_id).where(RollupGap.stream == stream)
    ).all()
    if not gaps:
        return false()
    return or_(*(id_column.between(a, b) for a, b in gaps))


def _claim_window(stream: str, state: RollupState, settings: Settings) -> Window:
    """Decide the window of this run and record the gaps it leaves; drop expired gaps."""
    model = SOURCES[stream]
    now = utcnow()
    db.session.execute(
        delete(RollupGap).where(
            RollupGap.stream == stream, RollupGap.seen_at < now - settings.gap_timeout
        )
    )
    gaps = db.session.execute(
        select(RollupGap.first_id, RollupGap.last_id, RollupGap.seen_at).where(
            RollupGap.stream == stream
        )
    ).all()
    late: list[int] = []
    if gaps:
        late = list(
            db.session.scalars(
                select(model.id).where(or_(*(model.id.between(a, b) for a, b, _ in gaps)))
            )
        )
        if late:
            found = set(late)
            db.session.execute(delete(RollupGap).where(RollupGap.stream == stream))
            rows = []
            for a, b, seen in gaps:
                present = sorted(i for i in found if a <= i <= b)
                rows += [
                    {"stream": stream, "first_id": x, "last_id": y, "seen_at": seen}
                    for x, y in _missing(a - 1, b, present)
                ]
            if rows:
                db.session.execute(
                    upsert_insert(RollupGap.__table__).on_conflict_do_nothing(), rows
                )
    low = state.position
    top = db.session.scalar(select(func.max(model.id))) or 0
    high = max(low, min(top, low + settings.batch))
    if high > low:
        present = list(
            db.session.scalars(
                select(model.id).where(model.id > low, model.id <= high).order_by(model.id)
            )
        )
        missing = _missing(low, high, present)
        if missing:
            db.session.execute(
                upsert_insert(RollupGap.__table__).on_conflict_do_nothing(),
                [
                    {"stream": stream, "first_id": a, "last_id": b, "seen_at": now}
                    for a, b in missing
                ],
            )
    return Window(low, high, tuple(late))


def _missing(low: int, high: int, present: list[int]) -> list[tuple[int, int]]:
    """Ranges of ids in ``low < id <= high`` absent from the sorted ``present``."""
    ranges = []
    expected = low + 1
    for i in present:
        if i > expected:
            ranges.append((expected, i - 1))
        expected = i + 1
    if expected <= high:
        ranges.append((expected, high))
    return ranges


# --- The activity stream -------------------------------------------------------------------------


class _ActivityRollup:
    """Aggregates the activities matched by a condition and adds them to the rollups."""

    def __init__(self, rate: int) -> None:
        self.rate = rate
        self.page_types = dict(
            db.session.execute(
                select(ActivityType.id, ActivityType.code_name).where(
                    ActivityType.code_name.in_(PAGE_TYPES)
                )
            ).all()
        )
        self.landing = next((i for i, c in self.page_types.items() if c == "landingpage"), None)
        self.identifying = _type_ids(IDENTIFYING_TYPES)

    def run(
        self, condition: ColumnElement[bool], *, identify: bool = True, target: Target = EVERYONE
    ) -> tuple[int, set[date]]:
        """Roll up the matched activities; return their number and the creation days of the
        contacts they may have identified (store-wide target only)."""
        day = utc_day(Activity.created_at).label("day")
        channel = func.coalesce(Activity.channel_id, NO_CHANNEL).label("channel")
        counts = db.session.execute(
            target.select(day, channel, Activity.type_id, func.count())
            .where(condition)
            .group_by(*target.columns(), day, channel, Activity.type_id)
        ).all()
        rows = []
        total = 0
        for row in counts:
            keys, (d, c, t, n) = target.split(row)
            total += n
            rows.append(
                {
                    **dict(zip(target.keys, keys, strict=True)),
                    "day": d,
                    "channel_id": c,
                    "type_id": t,
                    "activities": n * target.sign,
                }
            )
        add_counts(
            target.activity, [*target.keys, "day", "channel_id", "type_id"], ["activities"], rows
        )
        pages = self._pages(condition, day, channel, target)
        self._sources(condition, day, channel, target)
        if target is not EVERYONE:
            return total, set()
        self._sample(condition, pages)
        days = self._identified_days(condition) if identify else set()
        return total, days

    def _pages(self, condition, day, channel, target: Target) -> dict[tuple[int, str], int]:  # type: ignore[no-untyped-def]
        if not self.page_types:
            return {}
        rows = db.session.execute(
            target.select(
                day, channel, Activity.type_id, Activity.url, func.max(Activity.title), func.count()
            )
            .where(
                condition, Activity.type_id.in_(list(self.page_types)), Activity.url.is_not(None)
            )
            .group_by(*target.columns(), day, channel, Activity.type_id, Activity.url)
        ).all()
        views: dict[tuple[Any, ...], int] = defaultdict(int)
        urls: dict[tuple[int, str], tuple[str, str | None]] = {}
        for row in rows:
            keys, (d, c, t, url, title, n) = target.split(row)
            normal = page_url(url)
            key = (c, url_hash(normal))
            views[(*keys, d, c, key[1], t)] += n
            if key not in urls or (title and not urls[key][1]):
                urls[key] = (normal, redact(title)[:250] if title else None)
        # Only the store-wide rollups name pages: group rollups read older rows too, whose
        # titles must not replace the latest one.
        ids = _page_ids(urls, titles=target is EVERYONE)
        width = len(target.keys)
        add_counts(
            target.page,
            [*target.keys, "day", "page_id", "type_id"],
            ["views"],
            [
                {
                    **dict(zip(target.keys, key[:width], strict=True)),
                    "day": key[width],
                    "page_id": ids[(key[width + 1], key[width + 2])],
                    "type_id": key[width + 3],
                    "views": n * target.sign,
                }
                for key, n in views.items()
            ],
        )
        return ids

    def _sources(self, condition, day, channel, target: Target) -> None:  # type: ignore[no-untyped-def]
        if self.landing is None:
            return
        columns = (
            Activity.referrer,
            Activity.utm_source,
            Activity.utm_medium,
            Activity.utm_campaign,
        )
        rows = db.session.execute(
            target.select(day, channel, *columns, func.count())
            .where(condition, Activity.type_id == self.landing)
            .group_by(*target.columns(), day, channel, *columns)
        ).all()
        visits: dict[tuple[Any, ...], int] = defaultdict(int)
        for row in rows:
            keys, (d, c, referrer, source, medium, campaign, n) = target.split(row)
            values = (
                referrer_host(referrer),
                *(source_value(v) for v in (source, medium, campaign)),
            )
            for dimension, value in zip(SOURCE_DIMENSIONS, values, strict=True):
                visits[(*keys, d, c, dimension, value)] += n
        width = len(target.keys)
        add_counts(
            target.source,
            [*target.keys, "day", "channel_id", "dimension", "value"],
            ["visits"],
            [
                {
                    **dict(zip(target.keys, key[:width], strict=True)),
                    "day": key[width],
                    "channel_id": key[width + 1],
                    "dimension": key[width + 2],
                    "value": key[width + 3],
                    "visits": n * target.sign,
                }
                for key, n in visits.items()
            ],
        )

    def _sample(self, condition, pages: dict[tuple[int, str], int]) -> None:  # type: ignore[no-untyped-def]
        rows = db.session.execute(
            select(
                Activity.id,
                Activity.contact_id,
                Activity.type_id,
                func.coalesce(Activity.channel_id, NO_CHANNEL),
                Activity.url,
                Activity.created_at,
            ).where(condition, sampled(Activity.contact_id, self.rate))
        ).all()
        if not rows:
            return
        sample = []
        for id_, contact_id, type_id, channel_id, url, created_at in rows:
            page_id = None
            if type_id in self.page_types and url is not None:
                page_id = pages.get((channel_id, url_hash(page_url(url))))
            sample.append(
                {
                    "activity_id": id_,
                    "contact_id": contact_id,
                    "type_id": type_id,
                    "channel_id": channel_id,
                    "page_id": page_id,
                    "created_at": created_at,
                }
            )
        db.session.execute(upsert_insert(ActivitySample.__table__).on_conflict_do_nothing(), sample)

    def _identified_days(self, condition: ColumnElement[bool]) -> set[date]:
        if not self.identifying:
            return set()
        who = select(Activity.contact_id).where(condition, Activity.type_id.in_(self.identifying))
        day = utc_day(Contact.created_at)
        return set(db.session.scalars(select(day).where(Contact.id.in_(who)).distinct()))


def _page_ids(
    urls: dict[tuple[int, str], tuple[str, str | None]], *, titles: bool = True
) -> dict[tuple[int, str], int]:
    """Create missing pages (with ``titles``, keeping the newest non-empty title); return their
    ids by key."""
    if not urls:
        return {}
    table = AnalyticsPage.__table__
    stmt = upsert_insert(table)
    if titles:
        stmt = stmt.on_conflict_do_update(
            index_elements=["channel_id", "url_hash"],
            set_={"title": func.coalesce(stmt.excluded.title, table.c.title)},
        )
    else:
        stmt = stmt.on_conflict_do_nothing(index_elements=["channel_id", "url_hash"])
    db.session.execute(
        stmt,
        [
            {"channel_id": c, "url_hash": h, "url": url, "title": title}
            for (c, h), (url, title) in urls.items()
        ],
    )
    ids: dict[tuple[int, str], int] = {}
    keys = list(urls)
    for i in range(0, len(keys), 500):
        chunk = keys[i : i + 500]
        rows = db.session.execute(
            select(AnalyticsPage.channel_id, AnalyticsPage.url_hash, AnalyticsPage.id).where(
                AnalyticsPage.url_hash.in_([h for _, h in chunk])
            )
        ).all()
        ids.update({(c, h): i for c, h, i in rows if (c, h) in urls})
    return ids


def _ensure_sample_rate(settings: Settings) -> int:
    """Raise the sampling rate when the store outgrew the sample; drop the contacts it sheds."""
    state = _state(SAMPLE_RATE, lock=True)
    rate = max(1, state.position)
    top = db.session.scalar(select(func.max(Contact.id))) or 0
    wanted = rate
    while top / wanted > settings.sample_contacts:
        wanted *= 2
    if wanted != rate:
        db.session.execute(
            delete(ActivitySample).where(not_(sampled(ActivitySample.contact_id, wanted)))
        )
        state.position = wanted
        state.changed_at = utcnow()
        log.info("analytics sample rate raised from 1/%d to 1/%d", rate, wanted)
    return wanted


# --- Contacts and agreements ---------------------------------------------------------------------


def recompute_contact_days(days: Iterable[date]) -> None:
    """Recount ``contact_daily`` for ``days`` from the contact table."""
    runs = day_runs(sorted(set(days)))
    day = utc_day(Contact.created_at).label("day")
    for first, last in runs:
        counts = {
            d: (n, k)
            for d, n, k in db.session.execute(
                select(day, func.count(), func.count(Contact.email))
                .where(Contact.created_at >= day_start(first), Contact.created_at < day_end(last))
                .group_by(day)
            )
        }
        db.session.execute(
            delete(ContactDaily).where(ContactDaily.day >= first, ContactDaily.day <= last)
        )
        rows = [{"day": d, "contacts": n, "identified": k} for d, (n, k) in counts.items() if n]
        if rows:
            db.session.execute(upsert_insert(ContactDaily.__table__).on_conflict_do_nothing(), rows)
    group_rollups.recount_contact_days(runs)


# --- Runs ----------------------------------------------------------------------------------------


def _rolled_agreements() -> ColumnElement[bool]:
    """SQL condition selecting the agreements the agreement stream has rolled up, whose lock is
    held (waiting for a running agreement batch: it never waits for the activity stream) until
    the caller's transaction ends, so the group membership applied meanwhile and the agreement
    stream's windows never overlap."""
    position = _state(AGREEMENT, lock=True, wait=True).position
    return Window(position, position).rolled(AGREEMENT, ConsentAgreement.id)


def _run_stream(stream: str, settings: Settings, *, bulk: bool = False) -> tuple[int, bool]:
    """One locked transaction of ``stream``; return (rows read, whether it reached the end)."""
    db.session.commit()  # a SQLite writer must not start inside a read transaction
    with write_intent():
        try:
            state = _state(stream, lock=True)
            window = _claim_window(stream, state, settings)
            groups_done = True
            rollup: _ActivityRollup | None = None
            if stream == ACTIVITY and group_rollups.pending():
                rollup = _ActivityRollup(_ensure_sample_rate(settings))
                rolled = window.rolled(stream, Activity.id)
                groups_done = group_rollups.roll_group_changes(rollup, rolled, _rolled_agreements())
            if window.empty:
                db.session.commit()
                return 0, groups_done
            model = SOURCES[stream]
            condition = window.condition(model.id)
            if stream == ACTIVITY:
                rollup = rollup or _ActivityRollup(_ensure_sample_rate(settings))
                # In bulk (a backfill) the contact stream that follows recounts every day anyway.
                rows, days = rollup.run(condition, identify=not bulk)
                rollup.run(condition, target=group_rollups.rolled_members())
                recompute_contact_days(days)
            elif stream == CONTACT:
                days = set(db.session.scalars(select(utc_day(Contact.created_at)).where(condition)))
                rows = len(days)
                recompute_contact_days(days)
            else:
                rows = consent_rollups.roll_agreements(condition)
                consent_rollups.roll_group_agreements(condition)
            top = db.session.scalar(select(func.max(model.id))) or 0
            state.position = window.high
            state.changed_at = utcnow()
            db.session.commit()
            return rows, window.high >= top and groups_done
        except BaseException:
            db.session.rollback()
            raise


def refresh_rollups(
    settings: Settings | None = None,
    *,
    max_batches: int | None = 50,
    progress: Callable[[str, int, int], None] | None = None,
    bulk: bool = False,
) -> RunResult:
    """Roll up what arrived since the last run, stream by stream, in committed batches."""
    settings = settings or Settings()
    result = RunResult()
    for stream in STREAMS:
        batches = 0
        while True:
            try:
                rows, done = _run_stream(stream, settings, bulk=bulk)
            except RollupBusy:
                result.busy.add(stream)
                break
            result.rows[stream] += rows
            batches += 1
            if progress:
                progress(stream, read_position(stream), _top(stream))
            if done:
                break
            if max_batches is not None and batches >= max_batches:
                result.caught_up = False
                break
    return result


def _top(stream: str) -> int:
    model = SOURCES[stream]
    return db.session.scalar(select(func.max(model.id))) or 0


ROLLUP_MODELS = (
    ActivityDaily,
    PageDaily,
    SourceDaily,
    ContactDaily,
    ConsentDaily,
    ActivitySample,
    AnalyticsPage,
    RollupGap,
    RollupState,
)


def reset_rollups() -> None:
    """Empty every rollup table and start every stream from the beginning."""
    db.session.commit()
    with write_intent():
        for model in ROLLUP_MODELS:
            db.session.execute(delete(model))
        group_rollups.reset_group_rollups()
        db.session.commit()


def backfill_rollups(
    settings: Settings | None = None, progress: Callable[[str, int, int], None] | None = None
) -> RunResult:
    """Rebuild every rollup from the raw tables (in large batches: run it off-peak on SQLite,
    whose writers wait while a batch is written)."""
    reset_rollups()
    settings = settings or Settings(batch=BACKFILL_BATCH)
    return refresh_rollups(settings, max_batches=None, progress=progress, bulk=True)


# --- Reconciliation ------------------------------------------------------------------------------


@dataclass(frozen=True)
class DayCheck:
    """What the reconciler found for one day."""

    day: date
    activities_rebuilt: bool
    consents_rebuilt: bool


def _day_condition(day: date, position: int) -> ColumnElement[bool]:
    return and_(
        Activity.created_at >= day_start(day),
        Activity.created_at < day_end(day),
        Activity.id <= position,
        not_(_gap_condition(ACTIVITY, Activity.id)),
    )


def check_day(day: date, settings: Settings | None = None, *, force: bool = False) -> DayCheck:
    """Compare ``day``'s rollups with the raw tables and rebuild what disagrees."""
    settings = settings or Settings()
    db.session.commit()
    with write_intent():
        try:
            state = _state(ACTIVITY, lock=True)
            condition = _day_condition(day, state.position)
            channel = func.coalesce(Activity.channel_id, NO_CHANNEL)
            raw = dict(
                ((c, t), n)
                for c, t, n in db.session.execute(
                    select(channel, Activity.type_id, func.count())
                    .where(condition)
                    .group_by(channel, Activity.type_id)
                )
            )
            rolled = dict(
                ((c, t), n)
                for c, t, n in db.session.execute(
                    select(
                        ActivityDaily.channel_id, ActivityDaily.type_id, ActivityDaily.activities
                    ).where(ActivityDaily.day == day, ActivityDaily.activities != 0)
                )
            )
            rebuild = force or raw != rolled
            if rebuild:
                for model in (ActivityDaily, PageDaily, SourceDaily):
                    db.session.execute(delete(model).where(model.day == day))
                db.session.execute(
                    delete(ActivitySample).where(
                        ActivitySample.created_at >= day_start(day),
                        ActivitySample.created_at < day_end(day),
                    )
                )
                rollup = _ActivityRollup(_ensure_sample_rate(settings))
                rollup.run(condition)
                group_rollups.recount_group_day(rollup, condition, day)
            recompute_contact_days([day])
            db.session.commit()
        except BaseException:
            db.session.rollback()
            raise
    consents = _check_consent_day(day, force=force)
    return DayCheck(day, rebuild, consents)


def _check_consent_day(day: date, *, force: bool) -> bool:
    db.session.commit()
    with write_intent():
        try:
            state = _state(AGREEMENT, lock=True)
            agree = ConsentAgreement.action == AgreementAction.AGREE
            raw = {
                c: (a, n - a)
                for c, n, a in db.session.execute(
                    select(
                        ConsentAgreement.consent_id,
                        func.count(),
                        func.count().filter(agree),
                    )
                    .where(
                        ConsentAgreement.created_at >= day_start(day),
                        ConsentAgreement.created_at < day_end(day),
                        ConsentAgreement.id <= state.position,
                        not_(_gap_condition(AGREEMENT, ConsentAgreement.id)),
                    )
                    .group_by(ConsentAgreement.consent_id)
                )
            }
            rolled = {
                c: (a, r)
                for c, a, r in db.session.execute(
                    select(
                        ConsentDaily.consent_id, ConsentDaily.agrees, ConsentDaily.revokes
                    ).where(
                        ConsentDaily.day == day, (ConsentDaily.agrees + ConsentDaily.revokes) > 0
                    )
                )
            }
            if not force and raw == rolled:
                db.session.commit()
                return False
            # A deleted agreement changes the running state of every later row of its contact:
            # recount the whole log (it holds about one row per contact).
            db.session.execute(delete(ConsentDaily))
            consent_rollups.roll_agreements(
                and_(
                    ConsentAgreement.id <= state.position,
                    not_(_gap_condition(AGREEMENT, ConsentAgreement.id)),
                )
            )
            db.session.commit()
            return True
        except BaseException:
            db.session.rollback()
            raise


def reconcile_due(every: timedelta, now: datetime | None = None) -> bool:
    """Whether the reconciler's last check (by any process) is ``every`` or longer ago."""
    changed_at = db.session.scalar(
        select(RollupState.changed_at).where(RollupState.name == RECONCILE)
    )
    return changed_at is None or (now or utcnow()) - changed_at >= every


def reconcile_next_day(
    settings: Settings | None = None, today: date | None = None
) -> DayCheck | None:
    """Check the day after the last checked one (cycling from the oldest rolled-up day to today)."""
    today = today or utcnow().date()
    first = db.session.scalar(select(func.min(ActivityDaily.day)))
    if first is None:
        return None
    db.session.commit()
    with write_intent():
        state = _state(RECONCILE, lock=False)
        following = date.fromordinal(state.position + 1) if state.position else first
        day = following if first <= following <= today else first
        db.session.execute(
            update(RollupState)
            .where(RollupState.name == RECONCILE)
            .values(position=day.toordinal(), changed_at=utcnow())
        )
        db.session.commit()
    return check_day(day, settings)


@dataclass(frozen=True)
class Freshness:
    """How far the rollups lag behind the activity table."""

    position: int
    top: int
    changed_at: datetime | None

    @property
    def pending(self) -> int:
        """Activity ids above the position (an upper bound on rows not yet rolled up)."""
        return max(0, self.top - self.position)


def freshness() -> Freshness:
    """Where the activity stream stands."""
    row = db.session.execute(
        select(RollupState.position, RollupState.changed_at).where(RollupState.name == ACTIVITY)
    ).first()
    top = db.session.scalar(select(func.max(Activity.id))) or 0
    if row is None:
        return Freshness(0, top, None)
    return Freshness(row[0], top, row[1])


def sample_includes(contact_id: int) -> bool:
    """Whether ``contact_id`` is in the current sample (tests and diagnostics)."""
    return in_sample(contact_id, sample_rate())
