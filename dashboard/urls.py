"""Redirect targets that never leave the site."""

from urllib.parse import urlsplit

from werkzeug.routing import IntegerConverter


def safe_next(target: str | None, fallback: str) -> str:
    """Return ``target`` when it is a local path (``/x``), otherwise ``fallback``."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return fallback
    if "\\" in target or any(ord(c) < 32 for c in target):
        return fallback
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return fallback
    return target


class BoundedIntConverter(IntegerConverter):
    """``<int:…>`` that refuses values beyond a 64-bit signed id with a 404, so a huge number in
    a URL never reaches the database (SQLite raises OverflowError on them)."""

    def __init__(self, map, fixed_digits=0, min=None, max=2**63 - 1, signed=False):  # type: ignore[no-untyped-def]
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)
