"""Channels pages: not built yet, so the area says so honestly."""

from ..blueprints import add_placeholder_index
from ..permissions import Permission
from . import bp

add_placeholder_index(
    bp,
    Permission.MANAGE_CHANNELS,
    "Channels",
    (
        "Create website, email and headless channels, set each website's default cookie "
        "level with an impact preview, install the snippet."
    ),
)
