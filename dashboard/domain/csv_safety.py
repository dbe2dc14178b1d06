"""Formula-safe CSV cells: spreadsheets must never run a formula a visitor typed into a field.

Excel, LibreOffice and Google Sheets treat a cell that starts with ``=``, ``+``, ``-`` or ``@`` as a
formula, and a leading tab or carriage return can hide such a start from a simple check. The
OWASP recommendation is to prefix these cells with a single quote, which spreadsheets show as text.
"""

from collections.abc import Iterable
from datetime import date, datetime

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> str:
    """Return ``value`` as CSV cell text that no spreadsheet evaluates as a formula."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        text = value.isoformat(sep=" ", timespec="seconds")
    elif isinstance(value, date):
        text = value.isoformat()
    else:
        text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def safe_row(values: Iterable[object]) -> list[str]:
    """Return every value of a row made safe with ``safe_cell``."""
    return [safe_cell(v) for v in values]


def unquote_cell(text: str) -> str:
    """Undo ``safe_cell``'s quote on a cell read back from an exported file."""
    if text.startswith("'") and text[1:].startswith(FORMULA_STARTS):
        return text[1:]
    return text
