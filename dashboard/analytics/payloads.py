"""Typed results of the analytics queries: what the chart builders draw."""

import math
from dataclasses import dataclass
from datetime import date

Z95 = 1.96


@dataclass(frozen=True)
class Estimate:
    """A count, exact (``margin`` 0) or scaled up from the sample with its 95% margin."""

    value: int
    margin: int = 0

    @property
    def exact(self) -> bool:
        """Whether the value is a full count."""
        return self.margin == 0


def estimate(sampled: int, rate: int) -> Estimate:
    """Scale a count of sampled contacts to the store; the margin of a 1-in-``rate`` sample."""
    if rate <= 1:
        return Estimate(sampled)
    margin = Z95 * rate * math.sqrt(sampled * (1 - 1 / rate)) if sampled else Z95 * rate
    return Estimate(sampled * rate, round(margin))


@dataclass(frozen=True)
class Option:
    """An id and a display name for a filter's choices."""

    id: int
    name: str


@dataclass(frozen=True)
class HitRow:
    """Hits of one day and channel with the R1 inputs that decided them."""

    day: date
    channel_id: int
    claimed_level: int
    has_agreement: bool
    gpc: bool
    tracked: bool
    hits: int


@dataclass(frozen=True)
class ConsentDay:
    """Agree and revoke rows of a day and the change in current agreements they caused."""

    agrees: int
    revokes: int
    net: int


@dataclass(frozen=True)
class PageTotal:
    """A page (or source value) and its count over the range; ``uniques`` for pages."""

    key: str
    label: str
    detail: str
    channel_id: int
    count: int
    uniques: Estimate | None = None


@dataclass(frozen=True)
class Ranking:
    """The top rows over the range and per-day counts of the first few."""

    rows: list[PageTotal]
    daily: dict[tuple[date, str], int]
    total: int
    rate: int = 1  # the sample's rate behind the rows' unique contacts (1: exact)


@dataclass(frozen=True)
class OverlapCounts:
    """Contacts by the set of channel ids they used over the range, and per bucket (by its
    first day) how many used 1, 2, and 3 or more channels; ``rate`` 1 means every contact."""

    combinations: dict[frozenset[int], int]
    per_bucket: dict[date, tuple[int, int, int]]
    rate: int


@dataclass(frozen=True)
class StepEvents:
    """Per contact, its activities of the funnel's types in time order."""

    rows: dict[int, list[tuple[int, int]]]  # (seconds since the epoch, type id)
    rate: int
