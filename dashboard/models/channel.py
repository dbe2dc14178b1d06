"""Channels: websites, email and headless apps, with origins and API keys."""

import enum
from datetime import datetime

from sqlalchemy import CheckConstraint, Enum, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..domain.cookie_levels import CookieLevel
from ..extensions import db
from .types import UTCDateTime, utcnow

LEVEL_VALUES = ", ".join(str(int(v)) for v in CookieLevel)


class ChannelType(enum.StrEnum):
    """Kinds of channel (domain.md section 2)."""

    WEBSITE = "website"
    EMAIL = "email"
    HEADLESS = "headless"


class Channel(db.Model):
    """A place where people meet content; activities record the channel they happened on."""

    id: Mapped[int] = mapped_column(primary_key=True)
    code_name: Mapped[str] = mapped_column(String(100), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    type: Mapped[ChannelType] = mapped_column(
        Enum(
            ChannelType,
            native_enum=False,
            length=20,
            values_callable=lambda e: [m.value for m in e],
        )
    )
    # Privacy by default: new channels start at Essential (opt-in tracking).
    default_cookie_level: Mapped[int] = mapped_column(default=int(CookieLevel.ESSENTIAL))
    tracking_consent_id: Mapped[int | None] = mapped_column(
        ForeignKey("consent.id", ondelete="RESTRICT")
    )
    honour_gpc: Mapped[bool] = mapped_column(default=True)
    count_untracked: Mapped[bool] = mapped_column(default=True)
    erase_on_revoke: Mapped[bool] = mapped_column(default=False)
    enabled: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    origins: Mapped[list["ChannelOrigin"]] = relationship(
        back_populates="channel", cascade="all, delete-orphan", order_by="ChannelOrigin.origin"
    )
    tracking_consent: Mapped["Consent | None"] = relationship()  # noqa: F821

    __table_args__ = (
        CheckConstraint(f"default_cookie_level IN ({LEVEL_VALUES})", name="cookie_level"),
    )

    @property
    def cookie_level(self) -> CookieLevel:
        """The default cookie level as the enum."""
        return CookieLevel(self.default_cookie_level)


class ChannelOrigin(db.Model):
    """An origin (``scheme://host[:port]``) allowed to send tracking requests to a website."""

    id: Mapped[int] = mapped_column(primary_key=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channel.id", ondelete="CASCADE"))
    origin: Mapped[str] = mapped_column(String(300))

    channel: Mapped[Channel] = relationship(back_populates="origins")

    __table_args__ = (UniqueConstraint("channel_id", "origin"),)


class ChannelApiKey(db.Model):
    """A bearer key of a headless channel; only its SHA-256 hash is stored."""

    id: Mapped[int] = mapped_column(primary_key=True)
    channel_id: Mapped[int] = mapped_column(
        ForeignKey("channel.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(16))  # shown in lists to tell keys apart
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
