"""Anonymous per-day hit counters: no identifier, only counts (R3).

Besides the outcome (tracked or not) a counter keeps the inputs of R1 that decided it: the level
the browser claimed, whether the visitor had a current agreement and whether the request carried
Global Privacy Control. None of these identifies anyone, and together they let the channel page
recompute exactly what a different default level would have done to the same traffic.
"""

from datetime import date

from sqlalchemy import Date, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db

# ``claimed_level`` when the browser sent no level (not one of the six level values).
NO_CLAIM = -1


class HitCounter(db.Model):
    """Hits of one channel, UTC day, activity type, R1 inputs and tracked/untracked outcome."""

    channel_id: Mapped[int] = mapped_column(
        ForeignKey("channel.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    activity_type: Mapped[str] = mapped_column(String(100), primary_key=True)
    claimed_level: Mapped[int] = mapped_column(primary_key=True)  # NO_CLAIM when absent
    has_agreement: Mapped[bool] = mapped_column(primary_key=True)
    gpc: Mapped[bool] = mapped_column(primary_key=True)
    tracked: Mapped[bool] = mapped_column(primary_key=True)
    hits: Mapped[int] = mapped_column(default=0)
