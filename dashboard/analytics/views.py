"""Analytics pages: not built yet, so the area says so honestly."""

from ..blueprints import add_placeholder_index
from ..permissions import Permission
from . import bp

add_placeholder_index(
    bp,
    Permission.VIEW_ANALYTICS,
    "Analytics",
    (
        "Plotly charts of behaviour and consent coverage, filterable by date, channel and"
        " contact group."
    ),
)
