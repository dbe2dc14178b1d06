"""Fixed-window request counters shared by every worker process (tracking API rate limits)."""

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db


class RateLimitWindow(db.Model):
    """Requests counted for one key (a channel, or a keyed hash of a client address) in one
    minute; the address itself is never stored."""

    key: Mapped[str] = mapped_column(String(80), primary_key=True)
    window: Mapped[int] = mapped_column(primary_key=True)  # minutes since the epoch
    hits: Mapped[int] = mapped_column(default=0)
