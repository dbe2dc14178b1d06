"""Channel use cases and queries: settings, the level history, impact figures, API keys."""

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import exists, func, select
from sqlalchemy.exc import IntegrityError

from ..audit.services import record_audit
from ..domain.apikeys import hash_api_key, new_api_key
from ..domain.cookie_levels import CookieLevel
from ..domain.signing import click_query
from ..extensions import db
from ..models import (
    Activity,
    AuditEntry,
    Channel,
    ChannelApiKey,
    ChannelOrigin,
    ChannelType,
    Consent,
    HitCounter,
    User,
    utcnow,
)
from .impact import CountedHits, ImpactPreview, estimate_impact

# The impact preview and the list read the last 30 days of hit counters, today included.
WINDOW_DAYS = 30
HISTORY_LIMIT = 100
LATEST_HITS_LIMIT = 20
API_KEY_PREFIX_LENGTH = 8
CONCURRENT_CHANGE = "Someone changed the data at the same time; try again."


class ChannelError(ValueError):
    """A channel change that breaks a rule; ``field`` names the form field it concerns."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class ChannelSettings:
    """What a channel manager may change; None where a setting does not apply to the type."""

    display_name: str
    default_cookie_level: CookieLevel | None
    origins: list[str] | None
    tracking_consent_id: int | None
    honour_gpc: bool
    count_untracked: bool
    erase_on_revoke: bool
    enabled: bool


@dataclass(frozen=True)
class ChannelSummary:
    """A channel with its counted and tracked hits of the last 30 days."""

    channel: Channel
    hits: int
    tracked_hits: int

    @property
    def tracked_share(self) -> float | None:
        """Tracked hits as a fraction of counted hits, or None without hits."""
        return self.tracked_hits / self.hits if self.hits else None


@dataclass(frozen=True)
class HitRow:
    """Counted hits of one day, activity type and outcome."""

    day: date
    activity_type: str
    tracked: bool
    hits: int


def window_start(today: date) -> date:
    """First day of the 30-day window that ends with ``today``."""
    return today - timedelta(days=WINDOW_DAYS - 1)


def _today() -> date:
    return utcnow().date()


def get_channel(channel_id: int, *, lock: bool = False) -> Channel | None:
    """Return the channel, locking its row for the transaction when ``lock`` (PostgreSQL)."""
    return db.session.get(Channel, channel_id, with_for_update=lock)


def list_channels(today: date | None = None) -> list[ChannelSummary]:
    """All channels by display name, with their 30-day hit totals (one grouped query)."""
    start = window_start(today or _today())
    totals = {
        channel_id: (int(hits), int(tracked))
        for channel_id, hits, tracked in db.session.execute(
            select(
                HitCounter.channel_id,
                func.sum(HitCounter.hits),
                func.coalesce(func.sum(HitCounter.hits).filter(HitCounter.tracked.is_(True)), 0),
            )
            .where(HitCounter.day >= start)
            .group_by(HitCounter.channel_id)
        )
    }
    channels = db.session.scalars(select(Channel).order_by(Channel.display_name, Channel.id))
    return [ChannelSummary(c, *totals.get(c.id, (0, 0))) for c in channels]


def list_consents() -> list[Consent]:
    """Consents a channel may use as its tracking consent, by display name."""
    return list(db.session.scalars(select(Consent).order_by(Consent.display_name, Consent.id)))


def _consent_code(consent_id: int | None) -> str | None:
    """The consent's code name; a ChannelError when it no longer exists."""
    if consent_id is None:
        return None
    consent = db.session.get(Consent, consent_id)
    if consent is None:
        raise ChannelError("This consent no longer exists; choose again.", "tracking_consent_id")
    return consent.code_name


def create_channel(
    code_name: str, channel_type: ChannelType, settings: ChannelSettings, *, actor: User
) -> Channel:
    """Create a channel (new ones start at Essential unless told otherwise) and audit it."""
    _consent_code(settings.tracking_consent_id)
    channel = Channel(code_name=code_name, type=channel_type)
    _apply_settings(channel, settings)
    db.session.add(channel)
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        taken = db.session.scalar(select(exists().where(Channel.code_name == code_name)))
        if taken:
            raise ChannelError(
                "A channel with this code name already exists.", "code_name"
            ) from None
        raise ChannelError(CONCURRENT_CHANGE) from None
    record_audit(
        "channel.create",
        actor,
        target=channel,
        details={
            "code_name": code_name,
            "type": channel_type.value,
            "default_cookie_level": channel.default_cookie_level,
        },
    )
    db.session.commit()
    return channel


def _apply_settings(channel: Channel, settings: ChannelSettings) -> None:
    channel.display_name = settings.display_name
    if settings.default_cookie_level is not None:
        channel.default_cookie_level = int(settings.default_cookie_level)
    if settings.origins is not None:
        # Reuse the rows that stay so the (channel, origin) key never sees a delete-and-insert.
        existing = {row.origin: row for row in channel.origins}
        channel.origins = [existing.get(o) or ChannelOrigin(origin=o) for o in settings.origins]
    channel.tracking_consent_id = settings.tracking_consent_id
    channel.honour_gpc = settings.honour_gpc
    channel.count_untracked = settings.count_untracked
    channel.erase_on_revoke = settings.erase_on_revoke
    channel.enabled = settings.enabled


def _snapshot(channel: Channel) -> dict[str, object]:
    return {
        "display_name": channel.display_name,
        "origins": [o.origin for o in channel.origins],
        "tracking_consent": channel.tracking_consent.code_name
        if channel.tracking_consent
        else None,
        "honour_gpc": channel.honour_gpc,
        "count_untracked": channel.count_untracked,
        "erase_on_revoke": channel.erase_on_revoke,
        "enabled": channel.enabled,
    }


def update_channel(channel: Channel, settings: ChannelSettings, *, actor: User) -> None:
    """Change a channel's settings; audit the level change (from, to) and the other changes."""
    consent_code = _consent_code(settings.tracking_consent_id)
    before = _snapshot(channel)
    old_level = channel.default_cookie_level
    _apply_settings(channel, settings)
    after = {**_snapshot(channel), "tracking_consent": consent_code}
    if settings.origins is None:
        after["origins"] = before["origins"]
    changes = {k: [before[k], after[k]] for k in before if before[k] != after[k]}
    if changes:
        record_audit("channel.update", actor, target=channel, details=changes)
    if channel.default_cookie_level != old_level:
        record_audit(
            "channel.cookie_level",
            actor,
            target=channel,
            details={"from": old_level, "to": channel.default_cookie_level},
        )
    try:
        db.session.commit()
    except IntegrityError:  # e.g. the chosen consent was deleted meanwhile
        db.session.rollback()
        raise ChannelError(CONCURRENT_CHANGE) from None


def channel_history(channel: Channel) -> list[AuditEntry]:
    """The channel's audited changes, newest first."""
    return list(
        db.session.scalars(
            select(AuditEntry)
            .where(AuditEntry.target_type == "channel", AuditEntry.target_id == str(channel.id))
            .order_by(AuditEntry.id.desc())
            .limit(HISTORY_LIMIT)
        )
    )


def counted_hits(channel: Channel, today: date | None = None) -> list[CountedHits]:
    """The channel's last 30 days of hit counters, summed per R1 inputs and outcome."""
    start = window_start(today or _today())
    keys = (HitCounter.claimed_level, HitCounter.has_agreement, HitCounter.gpc, HitCounter.tracked)
    rows = db.session.execute(
        select(*keys, func.sum(HitCounter.hits))
        .where(HitCounter.channel_id == channel.id, HitCounter.day >= start)
        .group_by(*keys)
    )
    return [CountedHits(r[0], r[1], r[2], r[3], int(r[4])) for r in rows]


def impact_preview(
    channel: Channel, *, honours_gpc: bool, today: date | None = None
) -> ImpactPreview | None:
    """What every default level would have done to the channel's last 30 days of hits.

    None for email channels: their clicks follow the consent, not a cookie level.
    """
    if channel.type == ChannelType.EMAIL:
        return None
    return estimate_impact(counted_hits(channel, today), honours_gpc=honours_gpc)


def latest_hits(channel: Channel) -> list[HitRow]:
    """The newest hit counters of the channel, per day, activity type and outcome."""
    hits = func.sum(HitCounter.hits)
    rows = db.session.execute(
        select(HitCounter.day, HitCounter.activity_type, HitCounter.tracked, hits)
        .where(HitCounter.channel_id == channel.id)
        .group_by(HitCounter.day, HitCounter.activity_type, HitCounter.tracked)
        .order_by(HitCounter.day.desc(), hits.desc(), HitCounter.activity_type)
        .limit(LATEST_HITS_LIMIT)
    )
    return [HitRow(r[0], r[1], r[2], int(r[3])) for r in rows]


def last_activity_at(channel: Channel) -> datetime | None:
    """When the channel's newest stored activity arrived."""
    return db.session.scalar(
        select(func.max(Activity.created_at)).where(Activity.channel_id == channel.id)
    )


def tracking_url(url_root: str, path: str) -> str:
    """The public tracking API address of ``path`` (e.g. ``tracker.js``) on this server."""
    return f"{url_root.rstrip('/')}/t/v1/{path}"


def click_link(url_root: str, channel: Channel, url: str, contact_guid: str, secret: str) -> str:
    """A signed, tracked email link that redirects to ``url`` for ``contact_guid``."""
    return tracking_url(
        url_root, "click?" + click_query(url, contact_guid, channel.code_name, secret)
    )


def list_api_keys(channel: Channel) -> list[ChannelApiKey]:
    """The channel's API keys, active ones first, newest first."""
    return list(
        db.session.scalars(
            select(ChannelApiKey)
            .where(ChannelApiKey.channel_id == channel.id)
            .order_by(ChannelApiKey.revoked_at.is_not(None), ChannelApiKey.id.desc())
        )
    )


def get_api_key(channel: Channel, key_id: int) -> ChannelApiKey | None:
    """The channel's key with ``key_id``, or None (also when it belongs to another channel)."""
    key = db.session.get(ChannelApiKey, key_id)
    return key if key is not None and key.channel_id == channel.id else None


def create_api_key(channel: Channel, name: str, *, actor: User) -> tuple[ChannelApiKey, str]:
    """Issue a bearer key; return the row and the plain key, which is never stored."""
    plain = new_api_key()
    key = ChannelApiKey(
        channel_id=channel.id,
        name=name,
        prefix=plain[:API_KEY_PREFIX_LENGTH],
        key_hash=hash_api_key(plain),
    )
    db.session.add(key)
    db.session.flush()
    record_audit(
        "channel.api_key_create",
        actor,
        target=channel,
        details={"key_id": key.id, "name": name, "prefix": key.prefix},
    )
    db.session.commit()
    return key, plain


def revoke_api_key(key: ChannelApiKey, *, actor: User) -> None:
    """Revoke a key at once; revoking twice changes nothing."""
    if key.revoked_at is not None:
        return
    key.revoked_at = utcnow()
    record_audit(
        "channel.api_key_revoke",
        actor,
        target_type="channel",
        target_id=str(key.channel_id),
        details={"key_id": key.id, "name": key.name, "prefix": key.prefix},
    )
    db.session.commit()
