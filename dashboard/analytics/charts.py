"""Plotly figures and their tables, built from typed query results (no Flask, no database).

Every panel's figure and table come from the same lists of numbers, so the table view and the
CSV download hold exactly what the chart draws. Figures are plain dicts in Plotly's JSON schema
(``static/js/charts.js`` hands them to ``Plotly.newPlot``); every string that reaches a figure
goes through ``text.escape`` because Plotly renders text as a subset of HTML.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, TypedDict

from .metrics import (
    COVERAGE_CATEGORIES,
    TRACKED_CATEGORIES,
    FunnelResult,
    coverage_category,
    per_bucket,
)
from .payloads import ConsentDay, Estimate, HitRow, OverlapCounts, Ranking, estimate
from .periods import Bucket, Grouping, bucket_index, bucket_start
from .text import escape, shorten

Cell = int | float | str | None
# A trace's (escaped) name in its hover template. Plotly fills the template's %{...} fields in
# one pass, so a name that holds "%{y}" is shown as typed; pasted into the template, it would be
# filled in like the template's own fields.
NAME = "%{fullData.name}"

# The dashboard's look, as in static/css/app.css (:root): charts use the page's font, text,
# grid and accent colours so they read as part of the page. tests/test_chart_theme.py keeps the
# two in step.
THEME = {
    "font": 'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif',
    "text": "#1d2430",
    "muted": "#5b6575",
    "border": "#d9dee5",
    "grid": "#e8ebf0",
    "surface": "#ffffff",
    "accent": "#1f5fbf",
}
# Categorical colours: the accent first, then hues that stay apart for the common colour-vision
# deficiencies (after Okabe and Ito), each at least 3:1 against the white plot (WCAG 1.4.11).
COLORS = ("#1f5fbf", "#c77700", "#00866b", "#c43c3c", "#8a55c2", "#2b8fc9", "#c2508f", "#6b7585")
COVERAGE_COLORS = ("#15803d", "#4ade80", "#f97316", "#a855f7", "#dc2626", "#94a3b8")
AXIS_STYLE = {
    "gridcolor": THEME["grid"],
    "linecolor": THEME["border"],
    "zerolinecolor": THEME["border"],
    "tickfont": {"color": THEME["muted"]},
}
AXIS_TITLES = {
    Grouping.DAY: "Day (UTC)",
    Grouping.WEEK: "ISO week (UTC, Monday to Sunday)",
    Grouping.MONTH: "Month (UTC)",
}


class Figure(TypedDict):
    """A Plotly figure as JSON: traces and layout."""

    data: list[dict[str, Any]]
    layout: dict[str, Any]


@dataclass(frozen=True)
class Table:
    """The numbers of a figure: a caption, column labels and rows whose first cell names them."""

    caption: str
    columns: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...]


@dataclass(frozen=True)
class Panel:
    """A figure, the table of its numbers and what a screen reader hears instead of it."""

    key: str
    title: str
    figure: Figure | None
    table: Table
    summary: str
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def empty(self) -> bool:
        """Nothing to draw for these filters."""
        return self.figure is None


def _layout(**extra: Any) -> dict[str, Any]:
    layout: dict[str, Any] = {
        "autosize": True,
        "height": 380,
        "margin": {"l": 60, "r": 20, "t": 10, "b": 60},
        "font": {"family": THEME["font"], "size": 13, "color": THEME["text"]},
        "legend": {"orientation": "h", "x": 0, "y": 1.02, "yanchor": "bottom"},
        "paper_bgcolor": THEME["surface"],
        "plot_bgcolor": THEME["surface"],
        "colorway": list(COLORS),
        "separators": ".,",
        "hoverlabel": {"font": {"family": THEME["font"]}},
        # Axis styling through the template, so a chart's own axis settings merge with it.
        "template": {"layout": {axis: AXIS_STYLE for axis in ("xaxis", "yaxis", "yaxis2")}},
    }
    layout.update(extra)
    return layout


def _period_columns(grouping: Grouping) -> tuple[str, ...]:
    return (
        {Grouping.DAY: "Day", Grouping.WEEK: "Week", Grouping.MONTH: "Month"}[grouping],
        "From",
        "To",
    )


def _period_cells(b: Bucket) -> tuple[Cell, ...]:
    label = f"{b.label} (partial: {b.days} of {b.full_days} days)" if b.partial else b.label
    return (label, b.start.isoformat(), b.end.isoformat())


def _hover_periods(buckets: Sequence[Bucket]) -> list[str]:
    return [
        escape(b.description + (f" (partial, {b.days} of {b.full_days} days)" if b.partial else ""))
        for b in buckets
    ]


def time_panel(
    key: str,
    title: str,
    buckets: Sequence[Bucket],
    grouping: Grouping,
    series: Sequence[tuple[str, Sequence[int]]],
    *,
    unit: str,
    stacked: bool = True,
    line: tuple[str, Sequence[float | int | None], str] | None = None,
    notes: tuple[str, ...] = (),
) -> Panel:
    """Bars per bucket for each series (stacked or grouped), with an optional line on a second
    axis (name, values, unit)."""
    labels = [b.label for b in buckets]
    hover = _hover_periods(buckets)
    traces: list[dict[str, Any]] = [
        {
            "type": "bar",
            "name": escape(name),
            "x": labels,
            "y": list(values),
            "customdata": hover,
            "hovertemplate": f"%{{customdata}}<br>{NAME}: %{{y:,}} {unit}<extra></extra>",
        }
        for name, values in series
    ]
    layout = _layout(
        barmode="stack" if stacked else "group",
        hovermode="x unified",
        xaxis={"type": "category", "title": {"text": AXIS_TITLES[grouping]}, "automargin": True},
        yaxis={
            "title": {"text": unit.capitalize()},
            "rangemode": "tozero",
            "separatethousands": True,
        },
    )
    columns = [*_period_columns(grouping), *(name for name, _ in series)]
    values_by_row = [[v[i] for _, v in series] for i in range(len(buckets))]
    if line is not None:
        name, values, line_unit = line
        traces.append(
            {
                "type": "scatter",
                "mode": "lines+markers",
                "name": escape(name),
                "x": labels,
                "y": list(values),
                "yaxis": "y2",
                "customdata": hover,
                "hovertemplate": f"{NAME}: %{{y:,}}{line_unit}<extra></extra>",
                "line": {"color": THEME["text"], "width": 2},
            }
        )
        layout["yaxis2"] = {
            "title": {"text": name},
            "overlaying": "y",
            "side": "right",
            "rangemode": "tozero",
            "showgrid": False,
            "ticksuffix": line_unit,
        }
        layout["margin"]["r"] = 70
        columns.append(f"{name} ({line_unit.strip() or 'count'})" if line_unit else name)
        for row, value in zip(values_by_row, values, strict=True):
            row.append(value)
    rows = tuple((*_period_cells(b), *row) for b, row in zip(buckets, values_by_row, strict=True))
    drawn = any(v for _, values in series for v in values) or (
        line is not None and any(v for v in line[1])
    )
    total = sum(sum(values) for _, values in series)
    summary = (
        f"{title}: {total:,} {unit} in {len(buckets)} {grouping.value}s; "
        f"the table below lists every number."
    )
    return Panel(
        key,
        title,
        {"data": traces, "layout": layout} if drawn else None,
        Table(title, tuple(columns), rows),
        summary,
        notes,
    )


def _error_bar(estimates: Sequence[Estimate | None]) -> dict[str, Any] | None:
    margins = [e.margin if e else 0 for e in estimates]
    if not any(margins):
        return None
    return {"type": "data", "array": margins, "visible": True, "thickness": 1.2, "width": 3}


def _estimate_cells(e: Estimate | None) -> tuple[Cell, Cell]:
    if e is None:
        return (None, None)
    return (e.value, e.margin)


# --- The charts ----------------------------------------------------------------------------------


def activity_panel(
    buckets: list[Bucket],
    grouping: Grouping,
    types: Sequence[tuple[int, str]],
    counts: Mapping[tuple[date, int], int],
) -> Panel:
    """Activities per bucket, stacked by activity type (types without activity are left out)."""
    index = bucket_index(buckets)
    series = []
    for type_id, name in types:
        values = per_bucket({d: n for (d, t), n in counts.items() if t == type_id}, buckets, index)
        if any(values):
            series.append((name, values))
    return time_panel(
        "activity", "Activities by type", buckets, grouping, series, unit="activities"
    )


def contacts_panel(
    buckets: list[Bucket], grouping: Grouping, counts: Mapping[date, tuple[int, int]]
) -> Panel:
    """New contacts per bucket: identified (have an email now) and anonymous, with the share."""
    index = bucket_index(buckets)
    identified = per_bucket({d: k for d, (_, k) in counts.items()}, buckets, index)
    total = per_bucket({d: n for d, (n, _) in counts.items()}, buckets, index)
    anonymous = [t - k for t, k in zip(total, identified, strict=True)]
    share = [round(100 * k / t, 1) if t else None for t, k in zip(total, identified, strict=True)]
    return time_panel(
        "contacts",
        "New contacts: identified and anonymous",
        buckets,
        grouping,
        [("Identified", identified), ("Anonymous", anonymous)],
        unit="contacts",
        line=("Identified share", share, "%"),
        notes=(
            "A contact counts on the day it was created; identified means it has an email now "
            "(domain §4), so an anonymous visitor who identifies later moves to identified.",
        ),
    )


def coverage_panels(
    rows: Sequence[HitRow],
    channel_names: Mapping[int, str],
    buckets: list[Bucket],
    grouping: Grouping,
) -> list[Panel]:
    """Hits per channel by the R1 input that decided them, and the tracked share over time."""
    by_channel: dict[int, dict[str, int]] = {}
    index = bucket_index(buckets)
    tracked_by_bucket: dict[int, list[int]] = {}
    hits_by_bucket: dict[int, list[int]] = {}
    for r in rows:
        category = coverage_category(r.claimed_level, r.has_agreement, r.gpc, r.tracked)
        counts = by_channel.setdefault(r.channel_id, dict.fromkeys(COVERAGE_CATEGORIES, 0))
        counts[category] += r.hits
        i = index.get(r.day)
        if i is None:
            continue
        hits_by_bucket.setdefault(r.channel_id, [0] * len(buckets))[i] += r.hits
        if r.tracked:
            tracked_by_bucket.setdefault(r.channel_id, [0] * len(buckets))[i] += r.hits
    channel_ids = sorted(by_channel, key=lambda c: channel_names.get(c, str(c)))
    labels = [channel_names.get(c, f"Channel {c}") for c in channel_ids]
    traces = []
    for category, color in zip(COVERAGE_CATEGORIES, COVERAGE_COLORS, strict=True):
        values = [by_channel[c][category] for c in channel_ids]
        if not any(values):
            continue
        traces.append(
            {
                "type": "bar",
                "orientation": "h",
                "name": escape(category),
                "y": [escape(label) for label in labels],
                "x": values,
                "marker": {"color": color},
                "hovertemplate": f"%{{y}}<br>{escape(category)}: %{{x:,}} hits<extra></extra>",
            }
        )
    table_rows = []
    for c, label in zip(channel_ids, labels, strict=True):
        counts = by_channel[c]
        hits = sum(counts.values())
        tracked = sum(n for k, n in counts.items() if k in TRACKED_CATEGORIES)
        share = round(100 * tracked / hits, 1) if hits else None
        table_rows.append((label, *(counts[k] for k in COVERAGE_CATEGORIES), hits, share))
    height = 120 + 48 * max(1, len(channel_ids))
    by_channel_panel = Panel(
        "coverage",
        "Hits per channel by what decided tracking",
        {
            "data": traces,
            "layout": _layout(
                barmode="stack",
                height=height,
                hovermode="closest",
                xaxis={"title": {"text": "Hits"}, "separatethousands": True},
                yaxis={"type": "category", "automargin": True, "autorange": "reversed"},
                legend={"orientation": "h", "x": 0, "y": -0.25, "yanchor": "top"},
                margin={"l": 20, "r": 20, "t": 10, "b": 110},
            ),
        }
        if traces
        else None,
        Table(
            "Hits per channel by what decided tracking",
            ("Channel", *COVERAGE_CATEGORIES, "All hits", "Tracked share (%)"),
            tuple(table_rows),
        ),
        "Stacked bars per channel: hits tracked by agreement or default, and untracked hits by "
        "reason; the table below lists every number.",
        (
            "Hit counters are anonymous (R3): they count every hit, tracked or not, with the "
            "inputs of R1 that decided it, and no identifier. That is why they cannot be filtered "
            "by contact group.",
        ),
    )
    share_series = []
    for c, label in zip(channel_ids, labels, strict=True):
        hits = hits_by_bucket.get(c, [0] * len(buckets))
        tracked = tracked_by_bucket.get(c, [0] * len(buckets))
        share_series.append(
            (
                label,
                [round(100 * t / h, 1) if h else None for t, h in zip(tracked, hits, strict=True)],
            )
        )
    hover = _hover_periods(buckets)
    over_time = [
        {
            "type": "scatter",
            "mode": "lines+markers",
            "name": escape(label),
            "x": [b.label for b in buckets],
            "y": values,
            "customdata": hover,
            "connectgaps": False,
            "hovertemplate": f"%{{customdata}}<br>{NAME}: %{{y}}%<extra></extra>",
        }
        for label, values in share_series
    ]
    share_panel = Panel(
        "share",
        "Tracked share of hits over time",
        {
            "data": over_time,
            "layout": _layout(
                hovermode="x unified",
                xaxis={"type": "category", "title": {"text": AXIS_TITLES[grouping]}},
                yaxis={"title": {"text": "Tracked (%)"}, "range": [0, 100], "ticksuffix": "%"},
            ),
        }
        if traces
        else None,
        Table(
            "Tracked share of hits over time (%)",
            (*_period_columns(grouping), *labels),
            tuple(
                (*_period_cells(b), *(values[i] for _, values in share_series))
                for i, b in enumerate(buckets)
            ),
        ),
        "Lines per channel: the share of hits that were tracked in each period.",
    )
    return [by_channel_panel, share_panel]


def consent_panel(
    buckets: list[Bucket],
    grouping: Grouping,
    base: int,
    days: Mapping[date, ConsentDay],
    consent_label: str,
) -> Panel:
    """Agreements and revocations per bucket, and current agreements at each bucket's end."""
    index = bucket_index(buckets)
    agrees = per_bucket({d: c.agrees for d, c in days.items()}, buckets, index)
    revokes = per_bucket({d: c.revokes for d, c in days.items()}, buckets, index)
    net = per_bucket({d: c.net for d, c in days.items()}, buckets, index)
    current, running = [], base
    for change in net:
        running += change
        current.append(running)
    return time_panel(
        "consent",
        f"Agreements and revocations: {consent_label}",
        buckets,
        grouping,
        [("Agreements", agrees), ("Revocations", revokes)],
        unit="rows",
        stacked=False,
        line=("Current agreements", current, ""),
        notes=(
            "Current agreements count contacts whose newest row for the consent is an agree "
            "(R14), at the end of each period. Agreeing again with a newer text adds an "
            "agreement row but no current agreement.",
        ),
    )


def ranking_panels(
    key: str,
    title: str,
    ranking: Ranking,
    buckets: list[Bucket],
    grouping: Grouping,
    *,
    item: str,
    measure: str,
    channel_names: Mapping[int, str],
    show_detail: bool,
    uniques: bool = False,
    empty_label: str = "(none)",
) -> list[Panel]:
    """Top items as horizontal bars (with unique contacts where known), and the first few over
    time."""
    rows = ranking.rows
    labels = [r.label or empty_label for r in rows]
    axis = [f"{i}. {shorten(label, 40)}" for i, label in enumerate(labels, start=1)]
    details = [
        f"{escape(label)}<br>{escape(r.detail)}" if show_detail and r.detail else escape(label)
        for label, r in zip(labels, rows, strict=True)
    ]
    has_uniques = uniques
    traces: list[dict[str, Any]] = [
        {
            "type": "bar",
            "orientation": "h",
            "name": escape(measure.capitalize()),
            "y": [escape(a) for a in axis],
            "x": [r.count for r in rows],
            "customdata": details,
            "hovertemplate": f"%{{customdata}}<br>{escape(measure)}: %{{x:,}}<extra></extra>",
        }
    ]
    if has_uniques and rows:
        estimates = [r.uniques for r in rows]
        trace: dict[str, Any] = {
            "type": "bar",
            "orientation": "h",
            "name": "Unique contacts",
            "y": [escape(a) for a in axis],
            "x": [u.value if u else 0 for u in estimates],
            "customdata": [
                [d, u.margin if u else 0] for d, u in zip(details, estimates, strict=True)
            ],
            "hovertemplate": (
                "%{customdata[0]}<br>Unique contacts: %{x:,} (± %{customdata[1]:,})<extra></extra>"
            ),
        }
        error = _error_bar(estimates)
        if error:
            trace["error_x"] = error
        traces.append(trace)
    columns: list[str] = ["Rank", item.capitalize()]
    if show_detail:
        columns += ["URL", "Channel"]
    columns.append(measure.capitalize())
    if has_uniques:
        columns += ["Unique contacts", "Unique contacts ± (95%)"]
    table_rows = []
    for i, (label, r) in enumerate(zip(labels, rows, strict=True), start=1):
        cells: list[Cell] = [i, label]
        if show_detail:
            cells += [r.detail, channel_names.get(r.channel_id, "")]
        cells.append(r.count)
        if has_uniques:
            cells += list(_estimate_cells(r.uniques))
        table_rows.append(tuple(cells))
    height = 140 + 30 * max(1, len(rows))
    ranking_panel = Panel(
        key,
        title,
        {
            "data": traces,
            "layout": _layout(
                barmode="group",
                height=height,
                hovermode="closest",
                xaxis={"title": {"text": measure.capitalize()}, "separatethousands": True},
                yaxis={"type": "category", "automargin": True, "autorange": "reversed"},
            ),
        }
        if rows
        else None,
        Table(title, (columns[0], *columns[1:]), tuple(table_rows)),
        f"Horizontal bars of the top {len(rows)} {item}s by {measure} out of "
        f"{ranking.total:,} in the range; the table below lists every number.",
    )
    top = [
        (r.key, f"{i}. {shorten(label, 40)}")
        for i, (label, r) in enumerate(zip(labels, rows, strict=True), 1)
    ][:5]
    index = bucket_index(buckets)
    series = [
        (
            name,
            per_bucket({d: n for (d, k), n in ranking.daily.items() if k == key_}, buckets, index),
        )
        for key_, name in top
    ]
    over_time = time_panel(
        f"{key}-time",
        f"Top {len(top)} {item}s over time",
        buckets,
        grouping,
        series,
        unit=measure,
        stacked=False,
    )
    return [ranking_panel, over_time]


def _combination(channels: frozenset[int], names: Mapping[int, str]) -> str:
    return " + ".join(sorted(names.get(c, f"Channel {c}") for c in channels))


def overlap_panels(
    result: OverlapCounts,
    channel_names: Mapping[int, str],
    buckets: list[Bucket],
    grouping: Grouping,
) -> list[Panel]:
    """Contacts by the channels they used over the range, and by how many channels per period."""
    rate = result.rate
    ordered = sorted(
        result.combinations.items(), key=lambda kv: (-kv[1], -len(kv[0]), sorted(kv[0]))
    )
    estimates = [estimate(n, rate) for _, n in ordered]
    labels = [_combination(c, channel_names) for c, _ in ordered]
    trace: dict[str, Any] = {
        "type": "bar",
        "orientation": "h",
        "name": "Contacts",
        "y": [escape(label) for label in labels],
        "x": [e.value for e in estimates],
        "customdata": [e.margin for e in estimates],
        "hovertemplate": "%{y}<br>Contacts: %{x:,} (± %{customdata:,})<extra></extra>",
        "marker": {"color": [COLORS[min(len(c), 3) - 1] for c, _ in ordered]},
    }
    error = _error_bar(estimates)
    if error:
        trace["error_x"] = error
    combos = Panel(
        "overlap",
        "Contacts by the channels they were active on",
        {
            "data": [trace],
            "layout": _layout(
                height=140 + 32 * max(1, len(ordered)),
                hovermode="closest",
                showlegend=False,
                xaxis={"title": {"text": "Contacts"}, "separatethousands": True},
                yaxis={"type": "category", "automargin": True, "autorange": "reversed"},
            ),
        }
        if ordered
        else None,
        Table(
            "Contacts by the channels they were active on",
            ("Channels", "Number of channels", "Contacts", "Contacts ± (95%)"),
            tuple(
                (label, len(c), e.value, e.margin)
                for label, (c, _), e in zip(labels, ordered, estimates, strict=True)
            ),
        ),
        "Horizontal bars: contacts active in the range, by the combination of channels they used.",
    )
    counts = [result.per_bucket.get(bucket_start(b.start, grouping), (0, 0, 0)) for b in buckets]
    series = [
        (name, [estimate(c[k], rate).value for c in counts])
        for k, name in enumerate(("1 channel", "2 channels", "3 or more channels"))
    ]
    by_period = time_panel(
        "overlap-time",
        "Active contacts by number of channels used",
        buckets,
        grouping,
        series,
        unit="contacts",
    )
    return [combos, by_period]


def funnel_panels(
    result: FunnelResult,
    step_names: Sequence[str],
    rate: int,
    window: str,
    buckets: list[Bucket],
    grouping: Grouping,
) -> list[Panel]:
    """Contacts reaching each step, and per entry period how many entered and completed."""
    estimates = [estimate(n, rate) for n in result.reached]
    first = estimates[0].value if estimates else 0
    labels = [f"{i}. {name}" for i, name in enumerate(step_names, start=1)]
    previous: list[Estimate | None] = [None, *estimates[:-1]]
    rows = []
    for label, e, before in zip(labels, estimates, previous, strict=True):
        of_first = round(100 * e.value / first, 1) if first else None
        of_previous = round(100 * e.value / before.value, 1) if before and before.value else None
        rows.append((label, e.value, e.margin, of_previous, of_first))
    text = [
        f"{e.value:,}"
        + (f" ± {e.margin:,}" if e.margin else "")
        + (f" ({r[4]}%)" if r[4] is not None else "")
        for e, r in zip(estimates, rows, strict=True)
    ]
    funnel_panel = Panel(
        "funnel",
        f"Funnel within {window} of entering",
        {
            "data": [
                {
                    "type": "funnel",
                    "name": "Contacts",
                    "y": [escape(label) for label in labels],
                    "x": [e.value for e in estimates],
                    "text": [escape(t) for t in text],
                    "textinfo": "text",
                    "hovertemplate": "%{y}<br>%{text}<extra></extra>",
                    "marker": {"color": list(COLORS[: len(labels)])},
                }
            ],
            "layout": _layout(
                height=120 + 60 * len(labels),
                hovermode="closest",
                showlegend=False,
                yaxis={"type": "category", "automargin": True},
            ),
        }
        if first
        else None,
        Table(
            f"Funnel within {window} of entering",
            ("Step", "Contacts", "Contacts ± (95%)", "Of previous step (%)", "Of first step (%)"),
            tuple(rows),
        ),
        f"Funnel of {len(labels)} steps: contacts entering with the first step in the range and "
        "reaching each following step in order.",
    )
    index = bucket_index(buckets)
    entered = per_bucket({d: a for d, (a, _) in result.by_day.items()}, buckets, index)
    completed = per_bucket({d: b for d, (_, b) in result.by_day.items()}, buckets, index)
    conversion = [
        round(100 * c / e, 1) if e else None for e, c in zip(entered, completed, strict=True)
    ]
    by_period = time_panel(
        "funnel-time",
        "Entered and completed, by period of entering",
        buckets,
        grouping,
        [
            ("Entered", [estimate(n, rate).value for n in entered]),
            ("Completed every step", [estimate(n, rate).value for n in completed]),
        ],
        unit="contacts",
        stacked=False,
        line=("Conversion", conversion, "%"),
    )
    return [funnel_panel, by_period]


def compact(panel: Panel, height: int = 280) -> Panel:
    """The panel with a small figure for the overview page: short, no axis titles, a few
    upright ticks and a small legend, so the plot keeps most of its little space."""
    if panel.figure is None:
        return panel
    layout = {
        **panel.figure["layout"],
        "height": height,
        "margin": {
            "l": 45,
            "r": 45 if "yaxis2" in panel.figure["layout"] else 10,
            "t": 30,
            "b": 30,
        },
    }
    layout["legend"] = {**layout.get("legend", {}), "font": {"size": 11}}
    for axis in ("xaxis", "yaxis", "yaxis2"):
        if axis in layout:
            layout[axis] = {**layout[axis], "title": {"text": ""}}
    layout["xaxis"] = {**layout.get("xaxis", {}), "nticks": 3, "tickangle": 0}
    return Panel(
        panel.key,
        panel.title,
        {"data": panel.figure["data"], "layout": layout},
        panel.table,
        panel.summary,
        panel.notes,
    )
