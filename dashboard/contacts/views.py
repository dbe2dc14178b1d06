"""Contacts pages: not built yet, so the area says so honestly."""

from ..blueprints import add_placeholder_index
from ..permissions import Permission
from . import bp

add_placeholder_index(
    bp,
    Permission.VIEW_CONTACTS,
    "Contacts",
    (
        "Search, filter and edit contacts, their activity timelines and consents; import "
        "and export CSV; data-protection requests."
    ),
)
