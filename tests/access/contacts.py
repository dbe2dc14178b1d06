"""Contacts, activities and data protection (marketers; admins for data protection)."""

from . import ADMINS, MARKETERS

RULES = {
    "contacts.index": (("GET",), MARKETERS),
    "contacts.detail": (("GET",), MARKETERS),
    "contacts.edit": (("GET", "POST"), MARKETERS),
    "contacts.delete": (("GET", "POST"), MARKETERS),
    "contacts.bulk": (("GET", "POST"), MARKETERS),
    "contacts.export": (("GET",), MARKETERS),
    "contacts.import_csv": (("GET", "POST"), MARKETERS),
    "contacts.import_confirm": (("POST",), MARKETERS),
    "contacts.activities": (("GET",), MARKETERS),
    "contacts.activity_types": (("GET",), MARKETERS),
    "contacts.create_type": (("GET", "POST"), MARKETERS),
    "contacts.edit_type": (("GET", "POST"), MARKETERS),
    "contacts.toggle_type": (("POST",), MARKETERS),
    "privacy.index": (("GET",), ADMINS),
    "privacy.export": (("POST",), ADMINS),
    "privacy.erase": (("GET", "POST"), ADMINS),
    "privacy.retention": (("GET", "POST"), ADMINS),
}
URL_VALUES = {"contact_id": 1, "type_id": 1}
