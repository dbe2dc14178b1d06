"""The analytics pages' use cases: which charts exist, and each one's panels for a filter."""

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta

from ..domain.csv_safety import safe_row
from . import queries
from .charts import (
    Panel,
    Table,
    activity_panel,
    compact,
    consent_panel,
    contacts_panel,
    coverage_panels,
    funnel_panels,
    overlap_panels,
    ranking_panels,
)
from .filters import FUNNEL_WINDOWS, ChartFilter
from .metrics import funnel
from .rollups import Freshness, freshness
from .sql import day_end, day_start, epoch

DIMENSIONS = {
    "landing": "Landing pages",
    "referrer": "Referrers",
    "utm_source": "UTM sources",
    "utm_medium": "UTM media",
    "utm_campaign": "UTM campaigns",
}


@dataclass(frozen=True)
class ChartResult:
    """A chart's panels and what the reader must know about the filters and the numbers."""

    panels: list[Panel]
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ChartSpec:
    """A chart page: its URL slug, title, what it answers and which filters apply."""

    slug: str
    title: str
    description: str
    build: Callable[[ChartFilter], ChartResult]
    channel_filter: bool = True
    group_filter: bool = True
    options: tuple[str, ...] = ()


def _sample_note(rate: int) -> str:
    if rate <= 1:
        return "Distinct contacts are counted exactly from every contact's activities."
    return (
        f"Distinct contacts are estimated from a sample of 1 in {rate:,} contacts (chosen by a "
        "hash of the contact id) and scaled up; ± is the 95% margin. A contact group of up to "
        f"{queries.GROUP_EXACT_LIMIT:,} members is counted exactly."
    )


def _activity(f: ChartFilter) -> ChartResult:
    types = [(i, name) for i, _, name in queries.activity_types()]
    return ChartResult([activity_panel(f.buckets(), f.grouping, types, queries.activity_counts(f))])


def _contacts(f: ChartFilter) -> ChartResult:
    notes = []
    if f.channel_id is not None:
        notes.append(
            "Contacts are global, shared by every channel (domain §2): the channel filter does "
            "not apply to this chart."
        )
    return ChartResult([contacts_panel(f.buckets(), f.grouping, queries.contact_counts(f))], notes)


def _coverage(f: ChartFilter) -> ChartResult:
    notes = []
    if f.group_id is not None:
        notes.append(
            "Hit counters hold no contact (R3), so the contact group filter does not apply to "
            "this chart: it shows every hit."
        )
    panels = coverage_panels(queries.hit_rows(f), queries.channel_names(), f.buckets(), f.grouping)
    return ChartResult(panels, notes)


def _consent(f: ChartFilter) -> ChartResult:
    options = {o.id: o.name for o in queries.consents()}
    notes = []
    if f.consent_id is not None:
        ids, label = [f.consent_id], options.get(f.consent_id, "consent")
    elif f.channel_id is not None:
        linked = queries.tracking_consent(f.channel_id)
        ids = [linked] if linked else []
        label = options.get(linked, "") if linked else "no tracking consent"
        notes.append(
            f"Agreements belong to contacts, not channels: the channel filter shows its tracking "
            f"consent ({label})."
        )
    else:
        ids, label = list(options), "all consents"
    base, days = queries.consent_days(f, ids)
    return ChartResult([consent_panel(f.buckets(), f.grouping, base, days, label)], notes)


def _pages(f: ChartFilter) -> ChartResult:
    ranking = queries.page_ranking(f, "pagevisit", uniques=True)
    panels = ranking_panels(
        "pages",
        "Top pages by views",
        ranking,
        f.buckets(),
        f.grouping,
        item="page",
        measure="views",
        channel_names=queries.channel_names(),
        show_detail=True,
        uniques=True,
    )
    notes = [
        "A page is its URL without query string or fragment; its title is the latest seen.",
        _sample_note(ranking.rate),
    ]
    return ChartResult(panels, notes)


def _sources(f: ChartFilter) -> ChartResult:
    names = queries.channel_names()
    if f.dimension == "landing":
        ranking = queries.page_ranking(f, "landingpage", uniques=False)
        panels = ranking_panels(
            "sources",
            "Top landing pages by entries",
            ranking,
            f.buckets(),
            f.grouping,
            item="landing page",
            measure="entries",
            channel_names=names,
            show_detail=True,
        )
    else:
        ranking = queries.source_ranking(f, f.dimension)
        label = DIMENSIONS[f.dimension]
        panels = ranking_panels(
            "sources",
            f"{label} by entries",
            ranking,
            f.buckets(),
            f.grouping,
            item=label.lower().removesuffix("s").replace("media", "medium"),
            measure="entries",
            channel_names=names,
            show_detail=False,
            empty_label="(direct)" if f.dimension == "referrer" else "(none)",
        )
    notes = [
        "Entries are landing-page activities: the first page of each visit, with the referrer "
        "and UTM values it arrived with. Referrers are shown by host.",
    ]
    return ChartResult(panels, notes)


def _overlap(f: ChartFilter) -> ChartResult:
    data = queries.overlap_counts(f)
    panels = overlap_panels(data, queries.channel_names(), f.buckets(), f.grouping)
    notes = [_sample_note(data.rate)]
    if f.channel_id is not None:
        notes.append("Only contacts active on the chosen channel are counted.")
    return ChartResult(panels, notes)


def default_steps() -> tuple[int, ...]:
    """Page visit, click, form submission: a funnel every site has."""
    ids = [queries.type_id(code) for code in ("pagevisit", "click", "bizformsubmit")]
    return tuple(i for i in ids if i is not None)


def _funnel(f: ChartFilter) -> ChartResult:
    steps = f.steps or default_steps()
    names = {i: name for i, _, name in queries.activity_types()}
    data = queries.step_events(ChartFilter(**{**f.__dict__, "steps": steps}))
    start, end = epoch(day_start(f.start)), epoch(day_end(f.end))
    result = funnel(data.rows, steps, start, end, f.window_hours * 3600)
    panels = funnel_panels(
        result,
        [names.get(s, str(s)) for s in steps],
        data.rate,
        FUNNEL_WINDOWS.get(f.window_hours, f"{f.window_hours} hours"),
        f.buckets(),
        f.grouping,
    )
    notes = [
        "A contact enters with its first activity of step 1 in the range; it reaches each next "
        "step with a later activity of that type within the window after entering.",
        _sample_note(data.rate),
    ]
    return ChartResult(panels, notes)


CHARTS: dict[str, ChartSpec] = {
    spec.slug: spec
    for spec in (
        ChartSpec(
            "activity",
            "Activity over time",
            "Activities per day, week or month, stacked by activity type.",
            _activity,
        ),
        ChartSpec(
            "contacts",
            "New contacts",
            "Contacts created per period: identified (with an email) and anonymous.",
            _contacts,
            channel_filter=False,
        ),
        ChartSpec(
            "coverage",
            "Consent coverage",
            "Tracked and untracked hits per channel, and what decided each: agreements, "
            "defaults, lower levels, Global Privacy Control.",
            _coverage,
            group_filter=False,
        ),
        ChartSpec(
            "consent",
            "Consent agreements",
            "Agreements and revocations over time, with the number of current agreements.",
            _consent,
            options=("consent",),
        ),
        ChartSpec(
            "pages",
            "Top pages",
            "The most viewed pages, with their unique contacts.",
            _pages,
            options=("top",),
        ),
        ChartSpec(
            "sources",
            "Landing pages and sources",
            "Where visits start and where they come from: landing pages, referrers, UTM values.",
            _sources,
            options=("dimension", "top"),
        ),
        ChartSpec(
            "overlap",
            "Cross-channel overlap",
            "Contacts active on several channels, by combination of channels.",
            _overlap,
        ),
        ChartSpec(
            "funnel",
            "Funnel",
            "How many contacts go through chosen activity steps, in order, within a time window.",
            _funnel,
            options=("steps", "window"),
        ),
    )
}


def build_chart(slug: str, f: ChartFilter) -> ChartResult:
    """The panels of chart ``slug`` for the filter."""
    return CHARTS[slug].build(f)


def rollup_freshness() -> Freshness:
    """How current the rollups are."""
    return freshness()


def panel_csv(table: Table) -> str:
    """The table as CSV text, every cell formula-safe."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(safe_row(table.columns))
    for row in table.rows:
        writer.writerow(safe_row(row))
    return out.getvalue()


def overview_panels(today: date) -> list[tuple[str, Panel]]:
    """Small charts of the last 30 days for the overview page, each with its chart's slug."""
    f = ChartFilter(start=today - timedelta(days=29), end=today)
    types = [(i, name) for i, _, name in queries.activity_types()]
    coverage = coverage_panels(
        queries.hit_rows(f), queries.channel_names(), f.buckets(), f.grouping
    )
    return [
        (
            "activity",
            compact(activity_panel(f.buckets(), f.grouping, types, queries.activity_counts(f))),
        ),
        ("contacts", compact(contacts_panel(f.buckets(), f.grouping, queries.contact_counts(f)))),
        ("coverage", compact(coverage[1])),
    ]
