"""Anonymous per-day hit counters: no identifier, only counts (R3)."""

from datetime import date

from sqlalchemy import Date, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db


class HitCounter(db.Model):
    """Hits of one channel, day (UTC), activity type and tracked/untracked outcome."""

    channel_id: Mapped[int] = mapped_column(
        ForeignKey("channel.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    activity_type: Mapped[str] = mapped_column(String(100), primary_key=True)
    tracked: Mapped[bool] = mapped_column(primary_key=True)
    hits: Mapped[int] = mapped_column(default=0)
