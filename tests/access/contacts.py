"""Contacts, activities, groups and data protection (marketers; admins for data protection)."""

from . import ADMINS, MARKETERS

RULES = {
    "contacts.index": (("GET",), MARKETERS),
    "groups.index": (("GET",), MARKETERS),
    "privacy.index": (("GET",), ADMINS),
}
URL_VALUES: dict = {}
