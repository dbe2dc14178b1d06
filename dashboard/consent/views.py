"""Consent pages: not built yet, so the area says so honestly."""

from ..blueprints import add_placeholder_index
from ..permissions import Permission
from . import bp

add_placeholder_index(
    bp,
    Permission.MANAGE_CONSENTS,
    "Consent",
    ("Consent definitions with language variants, archived text versions and the agreement log."),
)
