"""Formula-safe CSV cells: no spreadsheet may run a formula a visitor typed."""

from datetime import UTC, date, datetime

import pytest

from dashboard.domain.csv_safety import safe_cell, safe_row, unquote_cell


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+1+2", "'+1+2"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("plain", "plain"),
        ("a=b", "a=b"),
        (" =1", " =1"),  # spreadsheets do not evaluate a cell starting with a space
        ("", ""),
        (None, ""),
        (42, "42"),
        (-5, "'-5"),
        (date(2024, 1, 2), "2024-01-02"),
        (datetime(2024, 1, 2, 3, 4, 5, 678, tzinfo=UTC), "2024-01-02 03:04:05+00:00"),
    ],
)
def test_safe_cell(value, expected):
    assert safe_cell(value) == expected


def test_safe_row_makes_every_cell_safe():
    assert safe_row(["=1", "ok", None, "@x"]) == ["'=1", "ok", "", "'@x"]


@pytest.mark.parametrize("text", ["=1", "+1", "-1", "@x", "\tx", "\rx", "plain", "", "'quoted"])
def test_unquote_cell_reverses_safe_cell(text):
    assert unquote_cell(safe_cell(text)) == text


def test_unquote_cell_keeps_other_leading_quotes():
    assert unquote_cell("'tis") == "'tis"
    assert unquote_cell("'") == "'"
