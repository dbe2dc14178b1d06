"""Who may send to a channel: origins (CORS), headless bearer keys, bots."""

from dataclasses import dataclass, fields
from functools import cache

from crawlerdetect import CrawlerDetect
from sqlalchemy import bindparam, exists, select

from ..domain.apikeys import hash_api_key
from ..extensions import db
from ..models import Channel, ChannelApiKey, ChannelOrigin, ChannelType


@dataclass(frozen=True)
class ChannelInfo:
    """The settings of a channel the tracking API applies: plain values read fresh on every
    request (a level changed by a channel manager applies at once), no ORM object to track."""

    id: int
    code_name: str
    type: ChannelType
    default_cookie_level: int
    tracking_consent_id: int | None
    honour_gpc: bool
    count_untracked: bool
    erase_on_revoke: bool


# Statements the tracking API runs on every request, built once: neither built nor keyed for
# SQLAlchemy's compiled cache again.
# On the tables, not the classes, so the ORM's statement layer stays out of it.
_channel, _origin = Channel.__table__.c, ChannelOrigin.__table__.c
_ENABLED = select(*(_channel[f.name] for f in fields(ChannelInfo))).where(
    _channel.code_name == bindparam("code_name"), _channel.enabled.is_(True)
)
# With whether an origin is one of the channel's (no origin compares NULL: never allowed).
_ENABLED_FOR_ORIGIN = _ENABLED.add_columns(
    exists()
    .where(_origin.channel_id == _channel.id, _origin.origin == bindparam("origin"))
    .correlate(Channel.__table__)
)


def find_channel(code_name: str) -> ChannelInfo | None:
    """The enabled channel with this code name."""
    if not code_name or "\x00" in code_name:
        return None
    row = db.session.connection().execute(_ENABLED, {"code_name": code_name}).first()
    return ChannelInfo(*row) if row else None


def _origin_key(origin: str | None) -> str | None:
    """The ``Origin`` header as stored origins are written, or None when it cannot be one (a NUL
    would also make PostgreSQL refuse the query)."""
    if not origin or "\x00" in origin:
        return None
    return origin.lower().rstrip("/")


def find_channel_for_origin(code_name: str, origin: str | None) -> tuple[ChannelInfo | None, bool]:
    """The enabled channel with this code name and whether ``origin`` is one of its allowed
    origins, in one statement (the tracking API asks both on every request)."""
    if not code_name or "\x00" in code_name:
        return None, False
    params = {"code_name": code_name, "origin": _origin_key(origin)}
    row = db.session.connection().execute(_ENABLED_FOR_ORIGIN, params).first()
    return (ChannelInfo(*row[:-1]), bool(row[-1])) if row else (None, False)


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


def bearer_allowed(channel: ChannelInfo, authorization: str | None) -> bool:
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


def sender_allowed(channel: ChannelInfo, origin_ok: bool, authorization: str | None) -> bool:
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
