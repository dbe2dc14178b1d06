"""Pure computations over query results: buckets, R1 outcome categories, overlap and funnels."""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta

from ..domain.cookie_levels import CookieLevel
from ..models.hits import NO_CLAIM
from .periods import Bucket, bucket_index

VISITOR = int(CookieLevel.VISITOR)


def per_bucket(
    by_day: Mapping[date, int], buckets: list[Bucket], index: dict[date, int] | None = None
) -> list[int]:
    """Sum day values into the buckets (days outside the range are ignored)."""
    index = index if index is not None else bucket_index(buckets)
    totals = [0] * len(buckets)
    for day, value in by_day.items():
        i = index.get(day)
        if i is not None:
            totals[i] += value
    return totals


# --- Consent coverage (R1 inputs kept by the hit counters) ---------------------------------------

TRACKED_AGREED = "Tracked: agreed to tracking"
TRACKED_DEFAULT = "Tracked: channel default allows it"
UNTRACKED_LOWER = "Not tracked: chose a level below Visitor"
UNTRACKED_GPC = "Not tracked: Global Privacy Control"
UNTRACKED_REFUSED = "Not tracked: higher level without agreement"
UNTRACKED_DEFAULT = "Not tracked: no choice, default below Visitor"
COVERAGE_CATEGORIES = (
    TRACKED_AGREED,
    TRACKED_DEFAULT,
    UNTRACKED_LOWER,
    UNTRACKED_GPC,
    UNTRACKED_REFUSED,
    UNTRACKED_DEFAULT,
)
TRACKED_CATEGORIES = frozenset({TRACKED_AGREED, TRACKED_DEFAULT})


def coverage_category(claimed_level: int, has_agreement: bool, gpc: bool, tracked: bool) -> str:
    """Name the R1 input that decided a hit's outcome.

    Tracked hits were tracked by an agreement or by the channel's default. An untracked hit is put
    under the first reason that applies: the visitor chose a level below Visitor; Global Privacy
    Control lowered it (only without an agreement, R1); the browser asked for more than the
    default without an agreement (the raise is ignored); or no level was sent and the default is
    below Visitor.
    """
    if tracked:
        return TRACKED_AGREED if has_agreement else TRACKED_DEFAULT
    claimed = claimed_level != NO_CLAIM
    if claimed and claimed_level < VISITOR:
        return UNTRACKED_LOWER
    if gpc and not has_agreement:
        return UNTRACKED_GPC
    if claimed and not has_agreement:
        return UNTRACKED_REFUSED
    return UNTRACKED_DEFAULT


# --- Funnels -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FunnelResult:
    """Contacts reaching each step, and per entry day: (entered, completed every step)."""

    reached: list[int]
    by_day: dict[date, tuple[int, int]]


EPOCH = date(1970, 1, 1)


def funnel(
    events: Mapping[int, list[tuple[int, int]]],
    steps: tuple[int, ...],
    start: int,
    end: int,
    window: int,
) -> FunnelResult:
    """Walk each contact's time-ordered activities through the steps.

    Times are whole seconds since the epoch (UTC). A contact enters with its first step-1
    activity in ``start <= t < end``; it then reaches each following step with the earliest later
    activity of that step's type no more than ``window`` seconds after entering. Taking the
    earliest match at every step finds a completion whenever one exists.
    """
    reached = [0] * len(steps)
    by_day: dict[date, list[int]] = {}
    for rows in events.values():
        entry = next(
            (i for i, (t, kind) in enumerate(rows) if kind == steps[0] and start <= t < end),
            None,
        )
        if entry is None:
            continue
        entered_at = rows[entry][0]
        deadline = entered_at + window
        depth, position = 1, entry + 1
        for step in steps[1:]:
            found = _next(rows, position, step, deadline)
            if found is None:
                break
            depth, position = depth + 1, found + 1
        for k in range(depth):
            reached[k] += 1
        day = by_day.setdefault(EPOCH + timedelta(days=entered_at // 86400), [0, 0])
        day[0] += 1
        day[1] += depth == len(steps)
    return FunnelResult(reached, {d: (a, b) for d, (a, b) in by_day.items()})


def _next(rows: list[tuple[int, int]], position: int, kind: int, deadline: int) -> int | None:
    for i in range(position, len(rows)):
        t, k = rows[i]
        if t > deadline:
            return None
        if k == kind:
            return i
    return None
