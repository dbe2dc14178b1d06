"""Channels and consents (channel managers)."""

from . import CHANNEL_MANAGERS

RULES = {
    "channels.index": (("GET",), CHANNEL_MANAGERS),
    "consent.index": (("GET",), CHANNEL_MANAGERS),
}
URL_VALUES: dict = {}
