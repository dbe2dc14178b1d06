"""Anonymous per-day hit counters (R3): counts only, keyed by the inputs of R1."""

from collections import Counter
from dataclasses import dataclass
from datetime import date

from ..extensions import db
from ..models import HitCounter
from ..models.hits import NO_CLAIM
from ..sql import upsert_insert


@dataclass(frozen=True)
class HitKey:
    """What one counted hit is filed under; nothing in it identifies a visitor."""

    channel_id: int
    day: date
    activity_type: str
    claimed_level: int | None
    has_agreement: bool
    gpc: bool
    tracked: bool


def add_hits(hits: Counter[HitKey]) -> None:
    """Add the counted hits to the day's counters in the current transaction (upsert)."""
    if not hits:
        return
    rows = [
        {
            "channel_id": k.channel_id,
            "day": k.day,
            "activity_type": k.activity_type,
            "claimed_level": NO_CLAIM if k.claimed_level is None else k.claimed_level,
            "has_agreement": k.has_agreement,
            "gpc": k.gpc,
            "tracked": k.tracked,
            "hits": n,
        }
        # Sorted so concurrent transactions lock counter rows in the same order (no deadlock).
        for k, n in sorted(hits.items(), key=lambda item: repr(item[0]))
    ]
    stmt = upsert_insert(HitCounter)
    stmt = stmt.on_conflict_do_update(
        index_elements=[
            "channel_id",
            "day",
            "activity_type",
            "claimed_level",
            "has_agreement",
            "gpc",
            "tracked",
        ],
        set_={"hits": HitCounter.hits + stmt.excluded.hits},
    )
    db.session.execute(stmt, rows)
