"""Activity types and the activity log."""

import uuid
from datetime import datetime

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .types import UTCDateTime, utcnow

BigId = BigInteger().with_variant(Integer(), "sqlite")  # SQLite rowids are 64-bit already


class ActivityType(db.Model):
    """A built-in or custom kind of activity, each with an enabled switch."""

    id: Mapped[int] = mapped_column(primary_key=True)
    code_name: Mapped[str] = mapped_column(String(100), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(String(1000), default="")
    is_builtin: Mapped[bool] = mapped_column(default=False)
    enabled: Mapped[bool] = mapped_column(default=True)


class Activity(db.Model):
    """Something a contact did on a channel, at the server's receive time (UTC)."""

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    # Client-made UUID of the event: unique so a retried request stores nothing twice.
    event_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, unique=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contact.id", ondelete="CASCADE"))
    type_id: Mapped[int] = mapped_column(ForeignKey("activity_type.id", ondelete="RESTRICT"))
    # NULL for legitimate-interest form submissions below Visitor level (R9).
    channel_id: Mapped[int | None] = mapped_column(ForeignKey("channel.id", ondelete="SET NULL"))
    title: Mapped[str | None] = mapped_column(String(250))
    value: Mapped[str | None] = mapped_column(String(250))
    url: Mapped[str | None] = mapped_column(String(2000))
    referrer: Mapped[str | None] = mapped_column(String(2000))
    utm_source: Mapped[str | None] = mapped_column(String(250))
    utm_medium: Mapped[str | None] = mapped_column(String(250))
    utm_campaign: Mapped[str | None] = mapped_column(String(250))
    utm_content: Mapped[str | None] = mapped_column(String(250))
    # Submitted form fields (datainput / bizformsubmit).
    data: Mapped[dict | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    type: Mapped[ActivityType] = relationship()

    __table_args__ = (
        Index("ix_activity_contact_created", "contact_id", "created_at"),
        # Segment rules that name an activity type read only this index (dashboard/groups).
        Index("ix_activity_contact_type_created", "contact_id", "type_id", "created_at"),
        Index("ix_activity_type_created", "type_id", "created_at"),
        Index("ix_activity_channel_created", "channel_id", "created_at"),
        Index("ix_activity_created", "created_at"),
        # SQLite: ids never reused after a delete (the rollup job reads ids above its position).
        {"sqlite_autoincrement": True},
    )
