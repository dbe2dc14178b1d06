"""The demo website's server side: recording its contact form like a real site would."""

import uuid

from ..domain.cookie_levels import CookieLevel, InvalidCookieLevel, parse_cookie_level
from ..domain.events import CollectRequest, parse_guid
from ..extensions import db
from ..tracking.collect import CollectResult, Sender, record_events
from ..tracking.guards import find_channel


def _claimed_level(raw: str | None) -> int | None:
    try:
        return parse_cookie_level(int(raw)) if raw not in (None, "") else None
    except (ValueError, InvalidCookieLevel):
        return None


def default_level_label(channel_code: str) -> str | None:
    """The channel's current default cookie level, e.g. ``Essential``; None when the channel
    is missing or disabled. Read on every page: a channel manager may have just changed it."""
    channel = find_channel(channel_code)
    return CookieLevel(channel.default_cookie_level).label if channel else None


def record_contact_form(
    channel_code: str,
    fields: dict[str, str],
    cookies: dict[str, str],
    *,
    user_agent: str | None,
    gpc: bool,
) -> CollectResult | None:
    """Record the form as a ``bizformsubmit`` on the demo channel with the visitor's cookies."""
    channel = find_channel(channel_code)
    if channel is None:
        return None
    try:
        contact = parse_guid(cookies.get("CurrentContact"))
    except ValueError:
        contact = None
    event = {
        "id": str(uuid.uuid4()),
        "type": "bizformsubmit",
        "form": "contact-us",
        "fields": {k: v for k, v in fields.items() if v},
    }
    request = CollectRequest(
        channel_code, contact, _claimed_level(cookies.get("CMSCookieLevel")), [event]
    )
    sender = Sender(origin=None, authorization=None, user_agent=user_agent, gpc=gpc, address_key="")
    result = record_events(request, channel, sender)
    db.session.commit()
    return result
