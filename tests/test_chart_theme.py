"""Charts look like the page around them: the Plotly theme in dashboard/analytics/charts.py uses
the colours and the font that static/css/app.css declares, and every categorical colour stands
out from the white plot (WCAG 1.4.11: 3:1 for graphical objects)."""

import re
from datetime import date
from pathlib import Path

import plotly.graph_objects as go
import pytest

from dashboard.analytics.charts import COLORS, THEME, activity_panel, compact
from dashboard.analytics.periods import Grouping, buckets

CSS = Path(__file__).resolve().parent.parent / "static" / "css" / "app.css"


def css_variables() -> dict[str, str]:
    """The custom properties of app.css's :root block."""
    root = re.search(r":root\s*\{(.*?)\}", CSS.read_text(), re.S)
    assert root is not None
    return dict(re.findall(r"--([\w-]+):\s*([^;]+);", root.group(1)))


def contrast(a: str, b: str) -> float:
    """WCAG contrast ratio of two #rrggbb colours."""

    def luminance(colour: str) -> float:
        channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
        linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


@pytest.mark.parametrize("name", ["font", "text", "muted", "border", "grid", "surface", "accent"])
def test_chart_theme_matches_the_stylesheet(name):
    assert css_variables()[name].strip() == THEME[name]


def test_categorical_colours_start_with_the_accent_and_stand_out():
    assert COLORS[0] == THEME["accent"]
    assert len(set(COLORS)) == len(COLORS)
    low = {c: round(contrast(c, THEME["surface"]), 2) for c in COLORS}
    assert all(ratio >= 3 for ratio in low.values()), low


def test_figures_carry_the_theme_and_plotly_accepts_them():
    days = buckets(date(2025, 1, 1), date(2025, 1, 3), Grouping.DAY)
    panel = activity_panel(days, Grouping.DAY, [(1, "Page visit")], {(date(2025, 1, 2), 1): 4})
    for figure in (panel.figure, compact(panel).figure):
        layout = figure["layout"]
        assert layout["font"]["family"] == THEME["font"]
        assert layout["font"]["color"] == THEME["text"]
        assert layout["colorway"][0] == THEME["accent"]
        assert layout["template"]["layout"]["yaxis"]["gridcolor"] == THEME["grid"]
        go.Figure(figure)  # Plotly's validator: no unknown properties
