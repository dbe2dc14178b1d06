"""The filters every chart takes, as a validated value (built by the filter form)."""

from dataclasses import dataclass, field
from datetime import date

from .periods import Bucket, Grouping, buckets

PRESET_DAYS = (7, 30, 90)
DEFAULT_DAYS = 30
MAX_CUSTOM_DAYS = 731
FUNNEL_WINDOWS = {1: "1 hour", 24: "1 day", 168: "7 days", 720: "30 days"}
DEFAULT_WINDOW_HOURS = 168
TOP_SIZES = (10, 25, 50)
MAX_STEPS = 5


@dataclass(frozen=True)
class ChartFilter:
    """Date range (inclusive UTC days), grouping, channel, contact group and chart options."""

    start: date
    end: date
    grouping: Grouping = Grouping.DAY
    channel_id: int | None = None
    group_id: int | None = None
    consent_id: int | None = None
    dimension: str = "landing"
    top: int = TOP_SIZES[0]
    steps: tuple[int, ...] = field(default_factory=tuple)
    window_hours: int = DEFAULT_WINDOW_HOURS

    @property
    def days(self) -> int:
        """Days in the range."""
        return (self.end - self.start).days + 1

    def buckets(self) -> list[Bucket]:
        """The time axis of the range."""
        return buckets(self.start, self.end, self.grouping)

    def as_args(self) -> dict[str, str]:
        """The query string that gives this filter back.

        Download links are built from it rather than from the page's own query string: a
        hand-edited URL whose values fell back to their defaults still draws a chart, and its
        CSV must hold the numbers drawn rather than answer 400 for the values that were replaced.
        """
        args = {
            "range": "custom",
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "by": self.grouping.value,
            "dimension": self.dimension,
            "top": str(self.top),
            "window": str(self.window_hours),
        }
        chosen = {"channel": self.channel_id, "group": self.group_id, "consent": self.consent_id}
        args.update({k: str(v) for k, v in chosen.items() if v is not None})
        args.update({f"step{i}": str(t) for i, t in enumerate(self.steps, 1)})
        return args
