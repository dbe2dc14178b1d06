"""Contact groups pages: not built yet, so the area says so honestly."""

from ..blueprints import add_placeholder_index
from ..permissions import Permission
from . import bp

add_placeholder_index(
    bp,
    Permission.MANAGE_GROUPS,
    "Contact groups",
    (
        "Build segments from conditions with a live preview, recalculate them set-based "
        "and keep membership fresh."
    ),
)
