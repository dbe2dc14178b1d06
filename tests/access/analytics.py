"""Analytics (every role: aggregates only)."""

from . import ALL_ROLES

RULES = {
    "analytics.index": (("GET",), ALL_ROLES),
}
URL_VALUES: dict = {}
