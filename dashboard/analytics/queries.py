"""Chart data from the rollups, or from raw rows joined to a contact group's members.

Without a group filter every query reads daily rollups or the contact sample, so its cost depends
on the range and the number of pages, channels and types, not on the number of activities. With a
group filter, activities, page views, landings, new contacts and agreements come from the group
rollups (the same daily tables keyed by group, ``group_rollups.py``, ``consent_rollups.py``),
exact and just as cheap; the distinct-contact questions of a group up to ``GROUP_EXACT_LIMIT``
members are read from the raw tables through the group's members and the ``contact_id`` indexes.
"""

from collections import defaultdict
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, any_, case, func, select, text
from sqlalchemy.sql import ColumnElement, Select

from ..extensions import db
from ..models import (
    Activity,
    ActivityType,
    Channel,
    Consent,
    ContactGroup,
    ContactGroupMember,
    HitCounter,
)
from ..models.analytics import (
    NO_CHANNEL,
    ActivityDaily,
    ActivitySample,
    AnalyticsPage,
    ConsentDaily,
    ContactDaily,
    PageDaily,
    SourceDaily,
)
from ..models.group_analytics import (
    GroupActivityDaily,
    GroupConsentDaily,
    GroupContactDaily,
    GroupPageDaily,
    GroupSourceDaily,
)
from .filters import ChartFilter
from .payloads import (
    ConsentDay,
    Estimate,
    HitRow,
    Option,
    OverlapCounts,
    PageTotal,
    Ranking,
    StepEvents,
    estimate,
)
from .rollups import sample_rate
from .sql import bucket_day, day_end, day_start, dialect_name, epoch_seconds
from .text import page_url

# --- Reference data ------------------------------------------------------------------------------


def channels() -> list[Option]:
    """Every channel, by name."""
    rows = db.session.execute(
        select(Channel.id, Channel.display_name).order_by(Channel.display_name)
    )
    return [Option(i, n) for i, n in rows]


def groups() -> list[Option]:
    """Every contact group, by name."""
    rows = db.session.execute(
        select(ContactGroup.id, ContactGroup.display_name, ContactGroup.enabled).order_by(
            ContactGroup.display_name
        )
    )
    return [Option(i, n if enabled else f"{n} (disabled)") for i, n, enabled in rows]


def consents() -> list[Option]:
    """Every consent definition, by name."""
    rows = db.session.execute(
        select(Consent.id, Consent.display_name).order_by(Consent.display_name)
    )
    return [Option(i, n) for i, n in rows]


def activity_types() -> list[tuple[int, str, str]]:
    """(id, code name, display name) of every activity type."""
    rows = db.session.execute(
        select(ActivityType.id, ActivityType.code_name, ActivityType.display_name).order_by(
            ActivityType.id
        )
    )
    return [(i, c, n) for i, c, n in rows]


def channel_names() -> dict[int, str]:
    """Display names by channel id, with the no-channel key of R9 form submissions."""
    names = {o.id: o.name for o in channels()}
    names[NO_CHANNEL] = "No channel (forms below Visitor level)"
    return names


def type_id(code: str) -> int | None:
    """The id of an activity type by code name."""
    return db.session.scalar(select(ActivityType.id).where(ActivityType.code_name == code))


def tracking_consent(channel_id: int) -> int | None:
    """The tracking consent linked to a channel."""
    return db.session.scalar(select(Channel.tracking_consent_id).where(Channel.id == channel_id))


def _large_group(group_id: int) -> bool:
    """Whether the group has more than ``GROUP_EXACT_LIMIT`` members: counted up to the limit
    only, so the answer costs the same for a group of 50,000 as for one of 5 million."""
    first = (
        select(ContactGroupMember.contact_id)
        .where(ContactGroupMember.group_id == group_id)
        .limit(GROUP_EXACT_LIMIT + 1)
        .subquery()
    )
    return (db.session.scalar(select(func.count()).select_from(first)) or 0) > GROUP_EXACT_LIMIT


# --- Helpers -------------------------------------------------------------------------------------


def _in_range(column: ColumnElement[datetime], start: date, end: date) -> ColumnElement[bool]:
    return and_(column >= day_start(start), column < day_end(end))


def _in_group(contact_column: ColumnElement[int], group_id: int) -> ColumnElement[bool]:
    """SQL condition: the contact is a member of the group.

    Written so that both engines walk the members and read each one's rows through an index on
    ``contact_id`` (activity's ``(contact_id, created_at)``) instead of scanning the whole range:
    SQLite does that for ``IN (subquery)``; PostgreSQL joins a subquery by hashing a scan of the
    range, but probes the index for ``= ANY(ARRAY(subquery))``.
    """
    if dialect_name() == "postgresql":
        members = text(
            "(ARRAY(SELECT contact_id FROM contact_group_member WHERE group_id = :analytics_group))"
        ).bindparams(analytics_group=group_id)
        return contact_column.op("= ANY")(members)
    members = select(ContactGroupMember.contact_id).where(ContactGroupMember.group_id == group_id)
    return contact_column.in_(members)


def _sample_in_group(contact_column: ColumnElement[int], group_id: int) -> ColumnElement[bool]:
    """SQL condition for rows of the contact sample: the contact is a member of the group.

    The sample holds a few thousand contacts however large the store. Its distinct contacts are
    each looked up once in the membership's primary key, into a list computed once per query,
    and the query reads the listed contacts' rows by index. Testing each sample row instead cost
    2-10x more at 1M contacts; walking the members (``_in_group``) costs one probe per member,
    2-6x the whole query at 50,000 members. On PostgreSQL the list is an ``ARRAY(subquery)`` and
    the membership test carries ``OFFSET 0``, which keeps the planner from turning the test into
    a hash join over every member.
    """
    contacts = select(ActivitySample.contact_id).distinct().subquery("sampled_contact")
    member = select(ContactGroupMember.contact_id).where(
        ContactGroupMember.group_id == group_id,
        ContactGroupMember.contact_id == contacts.c.contact_id,
    )
    if dialect_name() == "postgresql":
        listed = select(contacts.c.contact_id).where(member.offset(0).exists())
        return contact_column == any_(func.array(listed.scalar_subquery()))
    return contact_column.in_(select(contacts.c.contact_id).where(member.exists()))


def _member_join(query: Select, contact_column: ColumnElement[int], group_id: int) -> Select:
    return query.where(_in_group(contact_column, group_id))


def _channel(column: ColumnElement[int], f: ChartFilter) -> list[ColumnElement[bool]]:
    return [column == f.channel_id] if f.channel_id is not None else []


def _rollup(f: ChartFilter, everyone: Any, grouped: Any) -> tuple[Any, list[ColumnElement[bool]]]:
    """The daily rollup to read for the filter (the group's with a group filter) and the
    conditions selecting the group."""
    if f.group_id is None:
        return everyone, []
    return grouped, [grouped.group_id == f.group_id]


def _daily(f: ChartFilter, everyone: Any, grouped: Any) -> tuple[Any, list[ColumnElement[bool]]]:
    """The daily rollup to read for the filter and the conditions selecting the range (and the
    group)."""
    model, where = _rollup(f, everyone, grouped)
    return model, [model.day >= f.start, model.day <= f.end, *where]


# --- Activity over time --------------------------------------------------------------------------


def activity_counts(f: ChartFilter) -> dict[tuple[date, int], int]:
    """Activities per (UTC day, type id) in the range (of the group's members with its filter)."""
    model, where = _daily(f, ActivityDaily, GroupActivityDaily)
    rows = db.session.execute(
        select(model.day, model.type_id, func.sum(model.activities))
        .where(*where, *_channel(model.channel_id, f))
        .group_by(model.day, model.type_id)
    )
    return {(d, t): int(n) for d, t, n in rows}


# --- New contacts --------------------------------------------------------------------------------


def contact_counts(f: ChartFilter) -> dict[date, tuple[int, int]]:
    """(new contacts, of which identified now) per UTC creation day (the group's members with
    its filter)."""
    model, where = _daily(f, ContactDaily, GroupContactDaily)
    rows = db.session.execute(select(model.day, model.contacts, model.identified).where(*where))
    return {d: (int(n), int(k)) for d, n, k in rows}


# --- Consent coverage ----------------------------------------------------------------------------


def hit_rows(f: ChartFilter) -> list[HitRow]:
    """Anonymous hit counters in the range, summed over activity types."""
    columns = (
        HitCounter.day,
        HitCounter.channel_id,
        HitCounter.claimed_level,
        HitCounter.has_agreement,
        HitCounter.gpc,
        HitCounter.tracked,
    )
    rows = db.session.execute(
        select(*columns, func.sum(HitCounter.hits))
        .where(
            HitCounter.day >= f.start, HitCounter.day <= f.end, *_channel(HitCounter.channel_id, f)
        )
        .group_by(*columns)
    )
    return [HitRow(d, c, lv, bool(a), bool(g), bool(t), int(n)) for d, c, lv, a, g, t, n in rows]


# --- Consent agreements --------------------------------------------------------------------------


def consent_days(f: ChartFilter, consent_ids: list[int]) -> tuple[int, dict[date, ConsentDay]]:
    """Current agreements at the start of the range, and each day's agrees, revokes and change
    (of the group's members with its filter: the group rollup, ``consent_rollups.py``)."""
    if not consent_ids:
        return 0, {}
    model, chosen = _rollup(f, ConsentDaily, GroupConsentDaily)
    chosen.append(model.consent_id.in_(consent_ids))
    base = db.session.scalar(
        select(func.coalesce(func.sum(model.net), 0)).where(model.day < f.start, *chosen)
    )
    rows = db.session.execute(
        select(model.day, func.sum(model.agrees), func.sum(model.revokes), func.sum(model.net))
        .where(model.day >= f.start, model.day <= f.end, *chosen)
        .group_by(model.day)
    )
    return int(base or 0), {d: ConsentDay(int(a), int(r), int(n)) for d, a, r, n in rows}


# --- Pages and sources ---------------------------------------------------------------------------


SERIES_TOP = 5
# Distinct-contact questions (page uniques, overlap, funnels) of a larger group are answered from
# the contact sample restricted to the group: reading every member's activities would grow with
# the group. Counts (activities, landings, agreements, new contacts) stay exact at any size.
GROUP_EXACT_LIMIT = 20_000


def page_ranking(f: ChartFilter, type_code: str, *, uniques: bool) -> Ranking:
    """Top pages by views (``pagevisit``) or entries (``landingpage``) over the range."""
    type_id_ = type_id(type_code)
    if type_id_ is None:
        return Ranking([], {}, 0)
    model, span = _daily(f, PageDaily, GroupPageDaily)
    kind = [*span, model.type_id == type_id_]
    where = [*kind, *_channel(AnalyticsPage.channel_id, f)]
    total = func.sum(model.views)
    top = db.session.execute(
        select(
            AnalyticsPage.id,
            AnalyticsPage.url,
            AnalyticsPage.title,
            AnalyticsPage.channel_id,
            total,
        )
        .join(AnalyticsPage, AnalyticsPage.id == model.page_id)
        .where(*where)
        .group_by(
            AnalyticsPage.id, AnalyticsPage.url, AnalyticsPage.title, AnalyticsPage.channel_id
        )
        .having(total > 0)
        .order_by(total.desc(), AnalyticsPage.id)
        .limit(f.top)
    ).all()
    grand = db.session.scalar(
        select(func.coalesce(total, 0))
        .join(AnalyticsPage, AnalyticsPage.id == model.page_id)
        .where(*where)
    )
    ids = [r[0] for r in top]
    unique: dict[int, Estimate] = {}
    rate = 1
    if uniques:
        exact = f.group_id is not None and not _large_group(f.group_id)
        rate = 1 if exact else sample_rate()
        if exact and ids:
            unique = _group_page_uniques(f, type_id_, {r[0]: (r[3], r[1]) for r in top})
        elif ids:
            in_group = (
                []
                if f.group_id is None
                else [_sample_in_group(ActivitySample.contact_id, f.group_id)]
            )
            unique = _sample_uniques(f, type_id_, ids, rate, *in_group)
    daily_rows = db.session.execute(
        select(model.day, model.page_id, func.sum(model.views))
        .where(*kind, model.page_id.in_(ids[:SERIES_TOP]))
        .group_by(model.day, model.page_id)
    )
    rows = [
        PageTotal(str(i), title or url, url, c, int(n), unique.get(i) if uniques else None)
        for i, url, title, c, n in top
    ]
    return Ranking(rows, {(d, str(p)): int(n) for d, p, n in daily_rows}, int(grand or 0), rate)


def _sample_uniques(
    f: ChartFilter, type_id_: int, ids: list[int], rate: int, *extra: ColumnElement[bool]
) -> dict[int, Estimate]:
    """Unique contacts per page estimated from the contact sample at ``rate`` (restricted by
    ``extra``)."""
    counts = dict(
        db.session.execute(
            select(ActivitySample.page_id, func.count(func.distinct(ActivitySample.contact_id)))
            .where(
                ActivitySample.page_id.in_(ids),
                ActivitySample.type_id == type_id_,
                _in_range(ActivitySample.created_at, f.start, f.end),
                *extra,
            )
            .group_by(ActivitySample.page_id)
        ).all()
    )
    return {i: estimate(int(counts.get(i, 0)), rate) for i in ids}


def _group_page_uniques(
    f: ChartFilter, type_id_: int, pages: dict[int, tuple[int, str]]
) -> dict[int, Estimate]:
    """Unique contacts of a group of up to ``GROUP_EXACT_LIMIT`` members per page (id ->
    (channel, URL)), exact from the members' raw rows."""
    channel = func.coalesce(Activity.channel_id, NO_CHANNEL)
    wanted = {key: page_id for page_id, key in pages.items()}
    visitors: dict[int, set[int]] = defaultdict(set)
    for c, url, contact_id in db.session.execute(
        select(channel, Activity.url, Activity.contact_id)
        .where(
            Activity.type_id == type_id_,
            Activity.url.is_not(None),
            _in_range(Activity.created_at, f.start, f.end),
            _in_group(Activity.contact_id, f.group_id),
            *_channel(channel, f),
        )
        .distinct()
    ):
        page_id = wanted.get((c, page_url(url)))
        if page_id is not None:
            visitors[page_id].add(contact_id)
    return {i: Estimate(len(visitors[i])) for i in pages}


def source_ranking(f: ChartFilter, dimension: str) -> Ranking:
    """Top referrer hosts or UTM values by landings over the range ("" = none)."""
    model, where = _daily(f, SourceDaily, GroupSourceDaily)
    where += [model.dimension == dimension, *_channel(model.channel_id, f)]
    total = func.sum(model.visits)
    top = db.session.execute(
        select(model.value, total)
        .where(*where)
        .group_by(model.value)
        .having(total > 0)
        .order_by(total.desc(), model.value)
        .limit(f.top)
    ).all()
    grand = db.session.scalar(select(func.coalesce(total, 0)).where(*where))
    values = [v for v, _ in top]
    daily_rows = db.session.execute(
        select(model.day, model.value, total)
        .where(*where, model.value.in_(values[:SERIES_TOP]))
        .group_by(model.day, model.value)
    )
    rows = [PageTotal(v, v, "", f.channel_id or 0, int(n)) for v, n in top]
    return Ranking(rows, {(d, v): int(n) for d, v, n in daily_rows}, int(grand or 0))


# --- Contacts on several channels, funnels (the sample, or a group's raw rows) -------------------


def channel_bits() -> dict[int, int]:
    """A bit per channel (the first 62 by id) for channel sets summed in SQL."""
    ids = db.session.scalars(select(Channel.id).order_by(Channel.id).limit(62))
    return {channel_id: 1 << i for i, channel_id in enumerate(ids)}


def overlap_counts(f: ChartFilter) -> OverlapCounts:
    """Contacts (sampled, or the group's) by the set of channels they used over the range, and
    per bucket by how many channels they used, counted in SQL with channel bit masks."""
    bits = channel_bits()
    if not bits:
        return OverlapCounts({}, {}, 1)
    use_sample = f.group_id is None or _large_group(f.group_id)
    if use_sample:
        model, contact, channel, at = (
            ActivitySample,
            ActivitySample.contact_id,
            ActivitySample.channel_id,
            ActivitySample.created_at,
        )
        rate = sample_rate()
        extra: list[ColumnElement[bool]] = []
        if f.group_id is not None:
            extra.append(_sample_in_group(ActivitySample.contact_id, f.group_id))
    else:
        model, contact, channel, at = (
            Activity,
            Activity.contact_id,
            Activity.channel_id,
            Activity.created_at,
        )
        rate = 1
        extra = [_in_group(Activity.contact_id, f.group_id)]
    bit = case(*((channel == i, b) for i, b in bits.items()), else_=0)
    where = [_in_range(at, f.start, f.end), channel.in_(list(bits)), *extra]
    wanted = bits.get(f.channel_id, 0) if f.channel_id is not None else None

    def masks(*keys: ColumnElement) -> Select:
        return (
            select(*keys, func.sum(func.distinct(bit)).label("mask"))
            .select_from(model)
            .where(*where)
            .group_by(contact, *keys)
        )

    per_contact = masks().add_columns(contact).subquery()
    combos_query = select(per_contact.c.mask, func.count()).group_by(per_contact.c.mask)
    if wanted is not None:
        combos_query = combos_query.where(per_contact.c.mask.op("&")(wanted) != 0)
    names = {b: i for i, b in bits.items()}
    combinations = {
        frozenset(names[b] for b in names if mask & b): int(n)
        for mask, n in db.session.execute(combos_query)
    }
    bucket = bucket_day(at, f.grouping).label("bucket")
    per_bucket = masks(bucket).subquery()
    bucket_query = select(per_bucket.c.bucket, per_bucket.c.mask, func.count()).group_by(
        per_bucket.c.bucket, per_bucket.c.mask
    )
    if wanted is not None:
        bucket_query = bucket_query.where(per_bucket.c.mask.op("&")(wanted) != 0)
    sizes: dict[date, list[int]] = {}
    for start, mask, n in db.session.execute(bucket_query):
        sizes.setdefault(start, [0, 0, 0])[min(int(mask).bit_count(), 3) - 1] += int(n)
    return OverlapCounts(combinations, {d: (a, b, c) for d, (a, b, c) in sizes.items()}, rate)


def step_events(f: ChartFilter) -> StepEvents:
    """Activities of the funnel's step types from the range's start to its end plus the window,
    per contact in time order, with times as whole seconds since the epoch."""
    until = day_end(f.end) + timedelta(hours=f.window_hours)
    types = sorted(set(f.steps))
    use_sample = f.group_id is None or _large_group(f.group_id)
    if use_sample:
        model, rate = ActivitySample, sample_rate()
        contact, at, kind, key = (
            ActivitySample.contact_id,
            ActivitySample.created_at,
            ActivitySample.type_id,
            ActivitySample.activity_id,
        )
        channel = ActivitySample.channel_id
    else:
        model, rate = Activity, 1
        contact, at, kind, key = (
            Activity.contact_id,
            Activity.created_at,
            Activity.type_id,
            Activity.id,
        )
        channel = func.coalesce(Activity.channel_id, NO_CHANNEL)
    query = (
        select(contact, epoch_seconds(at), kind)
        .select_from(model)
        .where(kind.in_(types), at >= day_start(f.start), at < until, *_channel(channel, f))
        .order_by(contact, at, key)
    )
    if f.group_id is not None:
        query = query.where((_sample_in_group if use_sample else _in_group)(contact, f.group_id))
    rows: dict[int, list[tuple[int, int]]] = defaultdict(list)
    # Plain tuples straight from the driver: no ORM rows, no timestamp objects per activity.
    for contact_id, seconds, t in db.session.connection().execute(query).all():
        rows[contact_id].append((int(seconds), t))
    return StepEvents(dict(rows), rate)
