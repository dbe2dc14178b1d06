"""The impact preview of a default cookie level: the same counted hits replayed under R1.

Every hit counter keeps the inputs R1 decided on (the level the browser claimed, whether the
visitor had a current agreement, whether the request carried Global Privacy Control). Running
``effective_level`` again on those inputs with another default level says exactly which of the
same hits would have been tracked. Pure functions: no Flask, no database.
"""

from collections.abc import Iterable
from dataclasses import dataclass

from ..domain.cookie_levels import CookieLevel, effective_level, may_track
from ..models.hits import NO_CLAIM


@dataclass(frozen=True)
class CountedHits:
    """Hits sharing the same R1 inputs and outcome (summed over days and activity types)."""

    claimed_level: int  # NO_CLAIM when the browser sent no level
    has_agreement: bool
    gpc: bool
    tracked: bool
    hits: int


@dataclass(frozen=True)
class LevelEstimate:
    """How many of the counted hits a default level would have tracked."""

    level: CookieLevel
    tracked_hits: int
    total_hits: int

    @property
    def share(self) -> float | None:
        """Tracked hits as a fraction of all counted hits, or None without hits."""
        return self.tracked_hits / self.total_hits if self.total_hits else None


@dataclass(frozen=True)
class ImpactPreview:
    """What happened to the counted hits, and what each default level would have done."""

    total_hits: int
    tracked_hits: int  # as recorded when the hits arrived
    honours_gpc: bool
    estimates: dict[CookieLevel, LevelEstimate]

    @property
    def share(self) -> float | None:
        """The recorded tracked share, or None without hits."""
        return self.tracked_hits / self.total_hits if self.total_hits else None


def _claimed(value: int) -> CookieLevel | None:
    return None if value == NO_CLAIM else CookieLevel(value)


def would_track(row: CountedHits, default: CookieLevel, *, honours_gpc: bool) -> bool:
    """Return whether ``row``'s hits would be tracked with ``default`` as the channel's level."""
    try:
        claimed = _claimed(row.claimed_level)
    except ValueError:
        # Not one of the six levels: cannot be replayed, so the recorded outcome stands.
        return row.tracked
    level = effective_level(
        claimed, default, has_agreement=row.has_agreement, gpc=row.gpc, honours_gpc=honours_gpc
    )
    return may_track(level)


def estimate_impact(rows: Iterable[CountedHits], *, honours_gpc: bool) -> ImpactPreview:
    """Replay ``rows`` under every default level (R1, R2) and sum the hits each would track."""
    rows = list(rows)
    total = sum(r.hits for r in rows)
    estimates = {
        level: LevelEstimate(
            level,
            sum(r.hits for r in rows if would_track(r, level, honours_gpc=honours_gpc)),
            total,
        )
        for level in CookieLevel
    }
    return ImpactPreview(
        total_hits=total,
        tracked_hits=sum(r.hits for r in rows if r.tracked),
        honours_gpc=honours_gpc,
        estimates=estimates,
    )
