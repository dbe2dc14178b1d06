"""Who may send to a channel: origins (CORS), headless bearer keys, bots."""

from functools import cache

from crawlerdetect import CrawlerDetect
from sqlalchemy import Select, exists, false, select

from ..domain.apikeys import hash_api_key
from ..extensions import db
from ..models import Channel, ChannelApiKey, ChannelOrigin, ChannelType


def _enabled(code_name: str) -> Select:
    return select(Channel).where(Channel.code_name == code_name, Channel.enabled.is_(True))


def find_channel(code_name: str) -> Channel | None:
    """The enabled channel with this code name (read fresh: level changes apply at once)."""
    if not code_name or "\x00" in code_name:
        return None
    return db.session.scalar(_enabled(code_name))


def _origin_key(origin: str | None) -> str | None:
    """The ``Origin`` header as stored origins are written, or None when it cannot be one (a NUL
    would also make PostgreSQL refuse the query)."""
    if not origin or "\x00" in origin:
        return None
    return origin.lower().rstrip("/")


def find_channel_for_origin(code_name: str, origin: str | None) -> tuple[Channel | None, bool]:
    """The enabled channel with this code name and whether ``origin`` is one of its allowed
    origins, in one statement (the tracking API asks both on every request)."""
    if not code_name or "\x00" in code_name:
        return None, False
    key = _origin_key(origin)
    allowed = (
        exists()
        .where(ChannelOrigin.channel_id == Channel.id, ChannelOrigin.origin == key)
        .correlate(Channel)
        if key is not None
        else false()
    )
    row = db.session.execute(_enabled(code_name).add_columns(allowed)).first()
    return (row[0], bool(row[1])) if row else (None, False)


def origin_allowed_anywhere(origin: str | None) -> bool:
    """Whether ``origin`` is allowed by any enabled website channel (CORS preflight)."""
    key = _origin_key(origin)
    if key is None:
        return False
    return bool(
        db.session.scalar(
            select(
                exists()
                .where(ChannelOrigin.origin == key)
                .where(ChannelOrigin.channel_id == Channel.id, Channel.enabled.is_(True))
            )
        )
    )


def bearer_allowed(channel: Channel, authorization: str | None) -> bool:
    """Whether the ``Authorization: Bearer <key>`` header holds a live key of this channel."""
    if not authorization or not authorization.startswith("Bearer "):
        return False
    key = authorization[len("Bearer ") :].strip()
    if not key or len(key) > 200:
        return False
    return bool(
        db.session.scalar(
            select(
                exists().where(
                    ChannelApiKey.channel_id == channel.id,
                    ChannelApiKey.key_hash == hash_api_key(key),
                    ChannelApiKey.revoked_at.is_(None),
                )
            )
        )
    )


def sender_allowed(channel: Channel, origin_ok: bool, authorization: str | None) -> bool:
    """Website channels check the Origin (``origin_ok``: one of the channel's origins); headless
    channels the bearer key; email channels take no collect requests (their activities come from
    signed links)."""
    if channel.type == ChannelType.WEBSITE:
        return origin_ok
    if channel.type == ChannelType.HEADLESS:
        return bearer_allowed(channel, authorization)
    return False


@cache
def _detector() -> CrawlerDetect:
    return CrawlerDetect()


def is_bot(user_agent: str | None) -> bool:
    """Crawlers, spiders and headless browsers by user agent (a maintained pattern list);
    a browser always sends a user agent, so an empty one counts as a bot."""
    if not user_agent:
        return True
    return bool(_detector().isCrawler(user_agent[:1000]))
