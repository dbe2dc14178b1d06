"""Date ranges and their buckets (day, ISO week, calendar month), all in UTC days."""

import enum
from dataclasses import dataclass
from datetime import date, timedelta


class Grouping(enum.StrEnum):
    """How days are grouped on a time axis."""

    DAY = "day"
    WEEK = "week"
    MONTH = "month"


@dataclass(frozen=True)
class Bucket:
    """One point of a time axis: the days ``start``..``end`` (inclusive) of the range.

    ``days`` counts the bucket's days inside the range; a bucket cut by the range's start or end
    has fewer than its full length and is ``partial``.
    """

    start: date
    end: date
    label: str
    days: int
    full_days: int

    @property
    def partial(self) -> bool:
        """Whether the range cuts this week or month short."""
        return self.days < self.full_days

    @property
    def description(self) -> str:
        """The bucket's days for people, e.g. ``30 Dec 2024 - 5 Jan 2025`` (en dash)."""
        if self.start == self.end:
            return _day(self.start)
        return f"{_day(self.start)} \N{EN DASH} {_day(self.end)}"


def _day(d: date) -> str:
    return f"{d.day} {d:%b %Y}"


def bucket_start(day: date, grouping: Grouping) -> date:
    """The first day of the bucket holding ``day``: itself, its ISO week's Monday, or the 1st."""
    if grouping is Grouping.WEEK:
        return day - timedelta(days=day.weekday())
    if grouping is Grouping.MONTH:
        return day.replace(day=1)
    return day


def _bucket_end(start: date, grouping: Grouping) -> date:
    if grouping is Grouping.WEEK:
        return start + timedelta(days=6)
    if grouping is Grouping.MONTH:
        following = (start.replace(day=28) + timedelta(days=4)).replace(day=1)
        return following - timedelta(days=1)
    return start


def _label(start: date, grouping: Grouping) -> str:
    if grouping is Grouping.WEEK:
        year, week, _ = start.isocalendar()
        return f"{year}-W{week:02d}"
    if grouping is Grouping.MONTH:
        return f"{start:%Y-%m}"
    return start.isoformat()


def buckets(start: date, end: date, grouping: Grouping) -> list[Bucket]:
    """The buckets covering ``start``..``end`` (inclusive), first to last."""
    result = []
    current = bucket_start(start, grouping)
    while current <= end:
        last = _bucket_end(current, grouping)
        first_in, last_in = max(current, start), min(last, end)
        result.append(
            Bucket(
                start=first_in,
                end=last_in,
                label=_label(current, grouping),
                days=(last_in - first_in).days + 1,
                full_days=(last - current).days + 1,
            )
        )
        current = last + timedelta(days=1)
    return result


def bucket_index(buckets_: list[Bucket]) -> dict[date, int]:
    """Map every day of the range to the index of its bucket."""
    index: dict[date, int] = {}
    for i, b in enumerate(buckets_):
        day = b.start
        while day <= b.end:
            index[day] = i
            day += timedelta(days=1)
    return index
