"""The demo website's server side: recording its contact form like a real site would."""

import uuid
from urllib.parse import urlsplit

from sqlalchemy import select

from ..channels.origins import InvalidOrigin, normalise_origin
from ..demo_data import CHANNELS
from ..domain.cookie_levels import CookieLevel, InvalidCookieLevel, parse_cookie_level
from ..domain.events import CollectRequest, parse_guid
from ..extensions import db
from ..models import Channel, ChannelOrigin, ChannelType
from ..tracking.collect import CollectResult, Sender, record_events
from ..tracking.guards import find_channel


def _claimed_level(raw: str | None) -> int | None:
    try:
        return parse_cookie_level(int(raw)) if raw not in (None, "") else None
    except (ValueError, InvalidCookieLevel):
        return None


# A server on one of these answers on loopback under both names; a browser may use either.
LOOPBACK = ("127.0.0.1", "localhost")
EVERY_INTERFACE = ("0.0.0.0", "::")  # noqa: S104 - names, nothing is bound here


def site_origins(url: str) -> list[str]:
    """The origins a browser sends from the demo pages when the app is served at ``url``.

    Served on loopback or on every interface, the pages are reached as ``127.0.0.1`` or as
    ``localhost`` (other names the machine has must be added by hand). Raises InvalidOrigin.
    """
    parts = urlsplit(url.strip())
    try:
        host, port = parts.hostname or "", parts.port
    except ValueError as exc:
        raise InvalidOrigin(url) from exc
    hosts = LOOPBACK if host in LOOPBACK or host in EVERY_INTERFACE else (host,)
    suffix = f":{port}" if port else ""
    return [
        normalise_origin(f"{parts.scheme}://{f'[{h}]' if ':' in h else h}{suffix}") for h in hosts
    ]


def allow_demo_site(url: str) -> list[str]:
    """Let the demo website channels accept requests from the app's own address ``url`` (the
    demo data allows port 5000 only); return the origins added. Existing channels only."""
    origins = site_origins(url)
    codes = [c.code_name for c in CHANNELS if c.type == ChannelType.WEBSITE]
    added = []
    for channel in db.session.scalars(select(Channel).where(Channel.code_name.in_(codes))):
        have = {o.origin for o in channel.origins}
        for origin in origins:
            if origin not in have:
                channel.origins.append(ChannelOrigin(origin=origin))
                added.append(origin)
    db.session.commit()
    return sorted(set(added))


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
