"""Anonymous per-day hit counters (R3): counts only, keyed by the inputs of R1."""

from collections import Counter
from dataclasses import dataclass
from datetime import date
from functools import cache

from sqlalchemy.sql.dml import Insert

from ..extensions import db
from ..models import HitCounter
from ..models.hits import NO_CLAIM
from ..sql import dialect_name, upsert_insert


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
    db.session.connection().execute(_add(dialect_name()), rows)


@cache
def _add(dialect: str) -> Insert:
    """The counting upsert, built once per dialect (the tracking API runs it on every request);
    on the table, not the class: no ORM bulk-insert machinery."""
    table = HitCounter.__table__
    insert = upsert_insert(table, dialect)
    return insert.on_conflict_do_update(
        index_elements=[
            "channel_id",
            "day",
            "activity_type",
            "claimed_level",
            "has_agreement",
            "gpc",
            "tracked",
        ],
        set_={"hits": table.c.hits + insert.excluded.hits},
    )
