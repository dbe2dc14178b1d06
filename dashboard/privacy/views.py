"""Data-protection pages: not built yet, so the area says so honestly."""

from ..blueprints import add_placeholder_index
from ..permissions import Permission
from . import bp

add_placeholder_index(
    bp,
    Permission.DATA_PROTECTION,
    "Data protection",
    (
        "Find a person by email, export everything held about them as JSON or erase them; "
        "set the inactive-contact retention period."
    ),
)
