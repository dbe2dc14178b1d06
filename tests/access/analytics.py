"""Analytics (every role: aggregates only). Every chart page and every chart's CSV download."""

from . import ALL_ROLES

CHARTS = ("activity", "contacts", "coverage", "consent", "pages", "sources", "overlap", "funnel")

RULES = {
    "analytics.index": (("GET",), ALL_ROLES),
    **{f"analytics.{slug}": (("GET",), ALL_ROLES) for slug in CHARTS},
    **{f"analytics.{slug}_csv": (("GET",), ALL_ROLES) for slug in CHARTS},
}
URL_VALUES: dict = {}
