"""Analytics building blocks without a database: periods, text, R1 categories, funnels, figures."""

from datetime import UTC, date, datetime

import plotly.graph_objects as go
import pytest

from dashboard.analytics.charts import (
    activity_panel,
    consent_panel,
    coverage_panels,
    funnel_panels,
    overlap_panels,
    ranking_panels,
    time_panel,
)
from dashboard.analytics.metrics import (
    TRACKED_AGREED,
    TRACKED_DEFAULT,
    UNTRACKED_DEFAULT,
    UNTRACKED_GPC,
    UNTRACKED_LOWER,
    UNTRACKED_REFUSED,
    coverage_category,
    funnel,
    per_bucket,
)
from dashboard.analytics.payloads import (
    ConsentDay,
    Estimate,
    HitRow,
    OverlapCounts,
    PageTotal,
    Ranking,
    estimate,
)
from dashboard.analytics.periods import Grouping, bucket_start, buckets
from dashboard.analytics.services import panel_csv
from dashboard.analytics.sql import in_sample, sample_hash
from dashboard.analytics.text import escape, page_url, redact, referrer_host, source_value
from dashboard.domain.cookie_levels import CookieLevel
from dashboard.models.hits import NO_CLAIM

XSS = "<img src=x onerror=alert(1)>"


def _walk_strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _walk_strings(v)
    elif isinstance(value, list | tuple):
        for v in value:
            yield from _walk_strings(v)


def _valid(figure) -> None:
    """Plotly's own validator accepts the figure (no unknown properties, right types)."""
    go.Figure(figure)


# --- Periods -------------------------------------------------------------------------------------


def test_week_buckets_cross_the_year_edge_as_one_iso_week():
    result = buckets(date(2024, 12, 28), date(2025, 1, 8), Grouping.WEEK)
    assert [(b.label, b.start, b.end, b.days, b.full_days) for b in result] == [
        ("2024-W52", date(2024, 12, 28), date(2024, 12, 29), 2, 7),
        ("2025-W01", date(2024, 12, 30), date(2025, 1, 5), 7, 7),
        ("2025-W02", date(2025, 1, 6), date(2025, 1, 8), 3, 7),
    ]
    assert [b.partial for b in result] == [True, False, True]


def test_month_buckets_at_month_and_year_edges_and_leap_february():
    result = buckets(date(2023, 12, 31), date(2024, 3, 1), Grouping.MONTH)
    assert [(b.label, b.start, b.end, b.days, b.full_days) for b in result] == [
        ("2023-12", date(2023, 12, 31), date(2023, 12, 31), 1, 31),
        ("2024-01", date(2024, 1, 1), date(2024, 1, 31), 31, 31),
        ("2024-02", date(2024, 2, 1), date(2024, 2, 29), 29, 29),
        ("2024-03", date(2024, 3, 1), date(2024, 3, 1), 1, 31),
    ]


def test_day_buckets_and_bucket_start():
    assert [b.label for b in buckets(date(2024, 2, 28), date(2024, 3, 1), Grouping.DAY)] == [
        "2024-02-28",
        "2024-02-29",
        "2024-03-01",
    ]
    assert bucket_start(date(2021, 1, 3), Grouping.WEEK) == date(2020, 12, 28)  # a Sunday
    assert bucket_start(date(2021, 1, 4), Grouping.WEEK) == date(2021, 1, 4)  # a Monday
    assert bucket_start(date(2021, 3, 31), Grouping.MONTH) == date(2021, 3, 1)


def test_per_bucket_sums_days_and_ignores_days_outside():
    b = buckets(date(2024, 12, 30), date(2025, 1, 12), Grouping.WEEK)
    values = {
        date(2024, 12, 29): 100,
        date(2024, 12, 30): 1,
        date(2025, 1, 5): 2,
        date(2025, 1, 6): 4,
    }
    assert per_bucket(values, b) == [3, 4]


# --- Text ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "page"),
    [
        ("https://ex.com/pricing?utm_source=x&email=a@example.com#top", "https://ex.com/pricing"),
        ("https://ex.com", "https://ex.com/"),
        ("demoapp://home", "demoapp://home"),
        ("https://ex.com/u/ana@example.com/", "https://ex.com/u/[email]/"),
        ("http://[::1", "http://[::1"),
    ],
)
def test_page_url_drops_query_and_fragment_and_masks_emails(url, page):
    assert page_url(url) == page


def test_referrer_host_and_source_values():
    assert referrer_host("https://www.Google.com/search?q=ana@example.com") == "google.com"
    assert referrer_host(None) == ""
    assert referrer_host("not a url") == ""
    assert source_value("  news  ") == "news"
    assert source_value("ana@example.com") == "[email]"
    guid = "0f8fad5b-d9cb-469f-a165-70867728950e"
    assert redact(f"id {guid} and {guid.replace('-', '')}") == "id [id] and [id]"


def test_escape_neutralises_markup():
    assert escape(XSS) == "&lt;img src=x onerror=alert(1)&gt;"
    assert escape("A & B") == "A &amp; B"


# --- R1 outcome categories (hit counters) --------------------------------------------------------

ALL, ESSENTIAL, VISITOR = int(CookieLevel.ALL), int(CookieLevel.ESSENTIAL), 200


@pytest.mark.parametrize(
    ("claimed", "agreement", "gpc", "tracked", "category"),
    [
        (ALL, True, False, True, TRACKED_AGREED),  # R1: raise with agreement
        (NO_CLAIM, False, False, True, TRACKED_DEFAULT),  # R1: C absent -> D (>= Visitor)
        (ESSENTIAL, False, False, False, UNTRACKED_LOWER),  # R1: visitor lowers, R2
        (NO_CLAIM, False, True, False, UNTRACKED_GPC),  # R1: GPC without agreement
        (ALL, False, False, False, UNTRACKED_REFUSED),  # R1: forged raise ignored
        (NO_CLAIM, False, False, False, UNTRACKED_DEFAULT),  # R1: default below Visitor
        (int(CookieLevel.SYSTEM), False, True, False, UNTRACKED_LOWER),  # the choice comes first
        (VISITOR, True, True, True, TRACKED_AGREED),  # GPC ignored with an agreement
    ],
)
def test_coverage_category_names_the_deciding_r1_input(claimed, agreement, gpc, tracked, category):
    assert coverage_category(claimed, agreement, gpc, tracked) == category


# --- Funnels and overlap -------------------------------------------------------------------------

T = int(datetime(2025, 1, 1, tzinfo=UTC).timestamp())
H, DAY = 3600, 86400
PV, CLICK, FORM = 1, 2, 3


def test_funnel_orders_steps_and_honours_the_window():
    events = {
        1: [(T, PV), (T + H, CLICK), (T + 2 * H, FORM)],  # completes
        2: [(T, CLICK), (T + H, PV), (T + 2 * H, FORM)],  # click before entering: stops at 1
        3: [(T, PV), (T + H, CLICK), (T + 30 * H, FORM)],  # form outside 1-day window
        4: [(T - 48 * H, PV), (T - 47 * H, CLICK)],  # entered before the range
        5: [(T + 10 * H, PV), (T + 11 * H, PV), (T + 12 * H, CLICK)],  # first PV enters
        6: [(T + DAY - 1, PV), (T + DAY + 5, CLICK)],  # last second of the day, UTC
    }
    result = funnel(events, (PV, CLICK, FORM), T, T + DAY, DAY)
    assert result.reached == [5, 4, 1]
    assert result.by_day == {date(2025, 1, 1): (5, 1)}


def test_funnel_allows_repeated_types_as_distinct_activities():
    events = {1: [(T, PV)], 2: [(T, PV), (T + 60, PV)]}
    result = funnel(events, (PV, PV), T, T + DAY, H)
    assert result.reached == [2, 1]


def test_estimate_is_exact_without_sampling_and_has_a_margin_with_it():
    assert estimate(7, 1) == Estimate(7, 0)
    e = estimate(100, 16)
    assert e.value == 1600
    assert e.margin == round(1.96 * 16 * (100 * (1 - 1 / 16)) ** 0.5)


def test_sample_membership_is_nested_when_the_rate_doubles():
    ids = range(1, 5000)
    for rate in (2, 4, 8):
        half = {i for i in ids if in_sample(i, rate * 2)}
        assert half <= {i for i in ids if in_sample(i, rate)}
        assert (
            abs(len({i for i in ids if in_sample(i, rate)}) - len(ids) / rate)
            < 5 * (len(ids) / rate) ** 0.5
        )
    assert sample_hash(2**31 - 1) < 2**63


# --- Figures and tables --------------------------------------------------------------------------

DAYS = buckets(date(2025, 1, 1), date(2025, 1, 3), Grouping.DAY)


def test_time_panel_draws_exactly_the_table_numbers():
    panel = time_panel(
        "x", "Things", DAYS, Grouping.DAY, [("A", [1, 0, 2]), ("B", [0, 5, 0])], unit="things"
    )
    _valid(panel.figure)
    assert [t["y"] for t in panel.figure["data"]] == [[1, 0, 2], [0, 5, 0]]
    assert panel.table.columns == ("Day", "From", "To", "A", "B")
    assert panel.table.rows[1] == ("2025-01-02", "2025-01-02", "2025-01-02", 0, 5)
    csv_lines = panel_csv(panel.table).splitlines()
    assert csv_lines[0] == "Day,From,To,A,B"
    assert csv_lines[3] == "2025-01-03,2025-01-03,2025-01-03,2,0"


def test_time_panel_without_numbers_has_no_figure():
    panel = time_panel("x", "Things", DAYS, Grouping.DAY, [("A", [0, 0, 0])], unit="things")
    assert panel.empty
    assert len(panel.table.rows) == 3


def test_activity_panel_sums_types_per_bucket_and_escapes_names():
    counts = {(date(2025, 1, 1), 1): 3, (date(2025, 1, 3), 1): 1, (date(2025, 1, 2), 2): 4}
    panel = activity_panel(DAYS, Grouping.DAY, [(1, "Page visit"), (2, XSS), (3, "Unused")], counts)
    _valid(panel.figure)
    names = [t["name"] for t in panel.figure["data"]]
    assert names == ["Page visit", escape(XSS)]
    assert [t["y"] for t in panel.figure["data"]] == [[3, 0, 1], [0, 4, 0]]
    assert panel.table.columns[-1] == XSS  # the table shows the raw text; Jinja escapes it


def test_consent_panel_runs_current_agreements_from_the_base():
    days = {date(2025, 1, 1): ConsentDay(2, 0, 2), date(2025, 1, 3): ConsentDay(1, 2, -1)}
    panel = consent_panel(DAYS, Grouping.DAY, 5, days, "Tracking")
    _valid(panel.figure)
    assert [t["y"] for t in panel.figure["data"]] == [[2, 0, 1], [0, 0, 2], [7, 7, 6]]
    assert panel.table.rows[2][-3:] == (1, 2, 6)


def test_coverage_panels_split_hits_by_category_and_share():
    rows = [
        HitRow(date(2025, 1, 1), 1, ALL, True, False, True, 30),
        HitRow(date(2025, 1, 1), 1, NO_CLAIM, False, False, False, 60),
        HitRow(date(2025, 1, 2), 1, ESSENTIAL, False, False, False, 10),
        HitRow(date(2025, 1, 2), 2, NO_CLAIM, False, False, True, 5),
    ]
    by_channel, share = coverage_panels(rows, {1: "Site", 2: XSS}, DAYS, Grouping.DAY)
    _valid(by_channel.figure)
    _valid(share.figure)
    site = next(r for r in by_channel.table.rows if r[0] == "Site")
    assert site[1:] == (30, 0, 10, 0, 0, 60, 100, 30.0)
    assert share.table.columns[3:] == (XSS, "Site")  # channels by name
    assert share.table.rows[0][3:] == (None, 33.3)
    assert share.table.rows[1][3:] == (100.0, 0.0)
    assert XSS not in "".join(_walk_strings(by_channel.figure))


def test_ranking_panels_escape_visitor_text_and_show_margins():
    ranking = Ranking(
        [
            PageTotal("1", XSS, "https://ex.com/" + XSS, 1, 10, Estimate(800, 120)),
            PageTotal("2", "Pricing", "https://ex.com/pricing", 1, 4, Estimate(4)),
        ],
        {(date(2025, 1, 2), "1"): 10, (date(2025, 1, 3), "2"): 4},
        14,
    )
    top, over_time = ranking_panels(
        "pages",
        "Top pages",
        ranking,
        DAYS,
        Grouping.DAY,
        item="page",
        measure="views",
        channel_names={1: "Site"},
        show_detail=True,
        uniques=True,
    )
    _valid(top.figure)
    _valid(over_time.figure)
    strings = list(_walk_strings(top.figure)) + list(_walk_strings(over_time.figure))
    assert not any("<img" in s for s in strings)
    assert any("&lt;img src=x onerror=alert(1)&gt;" in s for s in strings)
    assert top.figure["data"][1]["error_x"]["array"] == [120, 0]
    assert top.table.rows[0] == (1, XSS, "https://ex.com/" + XSS, "Site", 10, 800, 120)
    assert [t["y"] for t in over_time.figure["data"]] == [[0, 10, 0], [0, 0, 4]]


def test_overlap_and_funnel_panels_scale_the_sample():
    counts = OverlapCounts(
        {frozenset({1, 2}): 1, frozenset({1}): 1},
        {date(2025, 1, 1): (0, 1, 0), date(2025, 1, 2): (1, 0, 0)},
        4,
    )
    combos, per_period = overlap_panels(counts, {1: "Web", 2: "Shop"}, DAYS, Grouping.DAY)
    _valid(combos.figure)
    _valid(per_period.figure)
    margin = round(1.96 * 4 * (0.75**0.5))
    assert combos.table.rows == (("Shop + Web", 2, 4, margin), ("Web", 1, 4, margin))
    assert [t["y"] for t in per_period.figure["data"]] == [[0, 4, 0], [4, 0, 0], [0, 0, 0]]
    weeks = buckets(date(2024, 12, 31), date(2025, 1, 7), Grouping.WEEK)
    weekly = OverlapCounts({}, {date(2024, 12, 30): (2, 0, 0), date(2025, 1, 6): (0, 0, 3)}, 1)
    _, by_week = overlap_panels(weekly, {}, weeks, Grouping.WEEK)
    assert [row[3:] for row in by_week.table.rows] == [(2, 0, 0), (0, 0, 3)]
    steps = funnel({1: [(T, PV), (T, CLICK)], 2: [(T, PV)]}, (PV, CLICK), T, T + DAY, DAY)
    chart, by_period = funnel_panels(steps, ["Visit", XSS], 1, "1 day", DAYS, Grouping.DAY)
    _valid(chart.figure)
    _valid(by_period.figure)
    assert chart.table.rows == (("1. Visit", 2, 0, None, 100.0), (f"2. {XSS}", 1, 0, 50.0, 50.0))
    assert not any("<img" in s for s in _walk_strings(chart.figure))


def test_csv_cells_are_formula_safe():
    panel = time_panel("x", "T", DAYS[:1], Grouping.DAY, [("=HYPERLINK(1)", [1])], unit="x")
    assert panel_csv(panel.table).splitlines()[0].endswith(",'=HYPERLINK(1)")
