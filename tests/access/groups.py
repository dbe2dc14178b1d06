"""Contact groups (marketers and admins)."""

from . import MARKETERS

RULES = {
    "groups.index": (("GET",), MARKETERS),
    "groups.create": (("GET", "POST"), MARKETERS),
    "groups.detail": (("GET",), MARKETERS),
    "groups.edit": (("GET", "POST"), MARKETERS),
    "groups.preview_json": (("POST",), MARKETERS),
    "groups.recalculate_view": (("POST",), MARKETERS),
    "groups.add_members": (("POST",), MARKETERS),
    "groups.remove_member": (("POST",), MARKETERS),
    "groups.export": (("GET",), MARKETERS),
    "groups.delete": (("GET", "POST"), MARKETERS),
}
URL_VALUES = {"group_id": 1, "contact_id": 1}
