"""Channels and consents (channel managers)."""

from . import CHANNEL_MANAGERS

RULES = {
    "channels.index": (("GET",), CHANNEL_MANAGERS),
    "channels.create": (("GET", "POST"), CHANNEL_MANAGERS),
    "channels.detail": (("GET",), CHANNEL_MANAGERS),
    "channels.edit": (("GET", "POST"), CHANNEL_MANAGERS),
    "channels.install": (("GET",), CHANNEL_MANAGERS),
    "channels.create_key": (("POST",), CHANNEL_MANAGERS),
    "channels.revoke_key": (("POST",), CHANNEL_MANAGERS),
    "channels.link": (("POST",), CHANNEL_MANAGERS),
    "consent.index": (("GET",), CHANNEL_MANAGERS),
    "consent.create": (("GET", "POST"), CHANNEL_MANAGERS),
    "consent.edit": (("GET", "POST"), CHANNEL_MANAGERS),
    "consent.delete": (("POST",), CHANNEL_MANAGERS),
    "consent.archive": (("GET",), CHANNEL_MANAGERS),
    "consent.archived_version": (("GET",), CHANNEL_MANAGERS),
    "consent.agreements": (("GET",), CHANNEL_MANAGERS),
}
URL_VALUES = {
    "channel_type": "website",
    "channel_id": 1,
    "key_id": 1,
    "consent_id": 1,
    "archive_id": 1,
}
