"""An analyst in Chromium reads every chart over the demo data, narrows one down with the
filters (the URL follows, so the view can be shared), opens its table and downloads the CSV,
which holds exactly the numbers of the table."""

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import expect

from dashboard.analytics.services import CHARTS
from dashboard.models import Role
from tests.browser.helpers import (
    calculated_group,
    channel_id,
    csv_rows,
    go_to,
    log_in,
    same_cell,
    saved_download,
    table_header,
    table_rows,
    user,
)

pytestmark = pytest.mark.browser

RECENT = {
    "op": "all",
    "groups": [{"op": "all", "rules": [{"type": "any_activity", "params": {"days": 30}}]}],
}


@pytest.fixture
def recent_visitors(demo_server) -> dict[str, int]:
    """A contact group a marketer made earlier; the ids of it and of the shop channel."""
    return {
        "group": calculated_group("recent", "Recent visitors", RECENT),
        "channel": channel_id("shop-site"),
    }


def _wait_for_charts(page) -> None:  # type: ignore[no-untyped-def]
    """Every figure of the page drawn by plotly.js."""
    figures = page.locator("[data-figure]")
    expect(figures.first).to_have_attribute("data-drawn", "true")
    expect(page.locator("[data-figure]:not([data-drawn=true])")).to_have_count(0)


def _numbers(rows: list[list[str]]) -> float:
    return sum(
        float(cell.replace(",", ""))
        for row in rows
        for cell in row[1:]
        if re.fullmatch(r"-?[\d,]*\.?\d+", cell)
    )


def test_analyst_reads_filters_and_exports_charts(page, demo_server, recent_visitors, tmp_path):
    log_in(page, demo_server, user(Role.ANALYST))
    # An analyst sees aggregates only: no contacts, groups or channels in the navigation.
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link")).to_have_text(["Overview", "Analytics"])

    # Every chart opens from the index and draws the demo data.
    go_to(page, "Analytics")
    cards = page.locator("ul.chart-cards h2 a")
    expect(cards).to_have_text([spec.title for spec in CHARTS.values()])
    for spec in CHARTS.values():
        page.locator("ul.chart-cards").get_by_role("link", name=spec.title).click()
        expect(page.get_by_role("heading", level=1)).to_have_text(spec.title)
        _wait_for_charts(page)
        first_table = page.locator("details.data-table table").first
        assert table_rows(first_table), f"{spec.title}: the demo data should fill the table"
        expect(page.locator(".no-data")).to_have_count(0)
        page.get_by_role("link", name="All charts").click()

    # Activity over time, last 7 days by day: one row per day.
    page.locator("ul.chart-cards").get_by_role("link", name="Activity over time").click()
    filters = page.get_by_role("form", name="Filters")
    filters.get_by_label("Date range").select_option(label="Last 7 days")
    filters.get_by_role("button", name="Apply").click()
    expect(page).to_have_url(re.compile(r"[?&]range=7(&|$)"))
    _wait_for_charts(page)
    table = page.locator("#panel-activity-table")
    daily = table_rows(table)
    assert len(daily) == 7
    everything = _numbers(daily)

    # ... then by week, on the shop only, for the group of recent visitors.
    filters.get_by_label("Group by").select_option(label="Week (ISO, Monday)")
    filters.get_by_label("Channel").select_option(label="Shop")
    filters.get_by_label("Contact group").select_option(label="Recent visitors")
    filters.get_by_role("button", name="Apply").click()
    expect(page).to_have_url(re.compile(r"[?&]by=week(&|$)"))
    query = parse_qs(urlsplit(page.url).query)
    assert query["range"] == ["7"] and query["by"] == ["week"]
    assert query["channel"] == [str(recent_visitors["channel"])]
    assert query["group"] == [str(recent_visitors["group"])]
    expect(page.locator(".freshness")).to_contain_text(", by week.")
    expect(filters.get_by_label("Channel")).to_have_value(str(recent_visitors["channel"]))
    _wait_for_charts(page)

    # The table view: collapsed under the drawn chart, one click away.
    expect(table).to_be_hidden()
    panel = page.locator("section", has=page.locator("#panel-activity-title"))
    panel.get_by_text("Table of the numbers drawn").click()
    expect(table).to_be_visible()
    weekly = table_rows(table)
    assert 1 <= len(weekly) <= 2  # seven days touch one or two ISO weeks
    assert 0 < _numbers(weekly) < everything  # the shop and one group: fewer than all

    # The CSV holds exactly what the table shows.
    with page.expect_download() as download:
        panel.get_by_role("link", name=re.compile(r"^Download CSV")).click()
    header, *rows = csv_rows(saved_download(download.value, tmp_path))
    assert header == table_header(table)
    assert len(rows) == len(weekly)
    for shown, exported in zip(weekly, rows, strict=True):
        assert len(shown) == len(exported)
        assert all(same_cell(s, e) for s, e in zip(shown, exported, strict=True)), (
            shown,
            exported,
        )

    # Moving to another chart keeps the filters.
    page.get_by_role("navigation", name="Charts").get_by_role("link", name="Top pages").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Top pages")
    kept = parse_qs(urlsplit(page.url).query)
    assert {k: kept[k] for k in ("range", "by", "channel", "group")} == {
        k: query[k] for k in ("range", "by", "channel", "group")
    }
