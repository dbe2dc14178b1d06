"""The chart filter form, read from the query string so every view is a shareable URL."""

from datetime import date, timedelta

from flask_wtf import FlaskForm
from wtforms import DateField, SelectChoice, SelectField

from .filters import (
    DEFAULT_DAYS,
    DEFAULT_WINDOW_HOURS,
    FUNNEL_WINDOWS,
    MAX_CUSTOM_DAYS,
    MAX_STEPS,
    PRESET_DAYS,
    TOP_SIZES,
    ChartFilter,
)
from .payloads import Option
from .periods import Grouping

EARLIEST = date(2000, 1, 1)
RANGE_CHOICES = [
    *(SelectChoice(str(n), f"Last {n} days") for n in PRESET_DAYS),
    SelectChoice("custom", "Custom range"),
]
GROUPING_CHOICES = [
    SelectChoice(Grouping.DAY.value, "Day"),
    SelectChoice(Grouping.WEEK.value, "Week (ISO, Monday)"),
    SelectChoice(Grouping.MONTH.value, "Month"),
]
DIMENSION_CHOICES = [
    SelectChoice("landing", "Landing pages"),
    SelectChoice("referrer", "Referrers"),
    SelectChoice("utm_source", "UTM source"),
    SelectChoice("utm_medium", "UTM medium"),
    SelectChoice("utm_campaign", "UTM campaign"),
]
STEP_FIELDS = tuple(f"step{i}" for i in range(1, MAX_STEPS + 1))
FILTER_FIELDS = (
    *("range", "start", "end", "by", "channel", "group"),
    *("consent", "dimension", "top", "window", *STEP_FIELDS),
)


def _options(options: list[Option], empty: str) -> list[SelectChoice]:
    return [SelectChoice("", empty), *(SelectChoice(str(o.id), o.name) for o in options)]


class ChartFilterForm(FlaskForm):
    """Date range, grouping, channel, contact group and the chart's own options."""

    class Meta:
        csrf = False

    range = SelectField("Date range", choices=RANGE_CHOICES, default=str(DEFAULT_DAYS))
    start = DateField("From (UTC)")
    end = DateField("To (UTC)")
    by = SelectField("Group by", choices=GROUPING_CHOICES, default=Grouping.DAY.value)
    channel = SelectField("Channel", default="")
    group = SelectField("Contact group", default="")
    consent = SelectField("Consent", default="")
    dimension = SelectField("Show", choices=DIMENSION_CHOICES, default="landing")
    top = SelectField(
        "Rows", choices=[SelectChoice(str(n), f"Top {n}") for n in TOP_SIZES], default="10"
    )
    window = SelectField(
        "Within",
        choices=[SelectChoice(str(h), label) for h, label in FUNNEL_WINDOWS.items()],
        default=str(DEFAULT_WINDOW_HOURS),
    )
    step1 = SelectField("Step 1", default="")
    step2 = SelectField("Step 2", default="")
    step3 = SelectField("Step 3", default="")
    step4 = SelectField("Step 4", default="")
    step5 = SelectField("Step 5", default="")

    def set_options(
        self,
        channels: list[Option],
        groups: list[Option],
        consents: list[Option],
        types: list[Option],
    ) -> None:
        """Fill the selects whose options live in the database."""
        self.channel.choices = _options(channels, "All channels")
        self.group.choices = _options(groups, "All contacts")
        self.consent.choices = _options(consents, "All consents")
        for name in STEP_FIELDS:
            self[name].choices = _options(types, "—")

    def resolve(
        self, today: date, default_steps: tuple[int, ...] = ()
    ) -> tuple[ChartFilter, list[str]]:
        """The filter to draw and messages for the values that fell back to their defaults.

        A bookmarked or hand-edited URL never fails: what cannot be used is named and replaced
        by its default.
        """
        self.validate()
        messages: list[str] = []

        def valid(field_name: str, message: str) -> bool:
            if self[field_name].errors:
                messages.append(message)
                return False
            return True

        start, end = self._dates(today, messages, valid("range", "Unknown date range"))
        grouping = Grouping(self.by.data) if valid("by", "Unknown grouping") else Grouping.DAY
        channel = _id(self.channel.data) if valid("channel", "Unknown channel") else None
        group = _id(self.group.data) if valid("group", "Unknown contact group") else None
        consent = _id(self.consent.data) if valid("consent", "Unknown consent") else None
        dimension = self.dimension.data if valid("dimension", "Unknown source") else "landing"
        top = int(self.top.data) if valid("top", "Unknown number of rows") else TOP_SIZES[0]
        window = (
            int(self.window.data)
            if valid("window", "Unknown funnel window")
            else DEFAULT_WINDOW_HOURS
        )
        steps = self._steps(messages) or default_steps
        if messages:
            messages[:] = [f"{m}: showing the default instead." for m in messages]
        return (
            ChartFilter(
                start=start,
                end=end,
                grouping=grouping,
                channel_id=channel,
                group_id=group,
                consent_id=consent,
                dimension=dimension,
                top=top,
                steps=steps,
                window_hours=window,
            ),
            messages,
        )

    def _dates(self, today: date, messages: list[str], range_ok: bool) -> tuple[date, date]:
        default = (today - timedelta(days=DEFAULT_DAYS - 1), today)
        if not range_ok:
            return default
        if self.range.data != "custom":
            return today - timedelta(days=int(self.range.data) - 1), today
        start, end = self.start.data, self.end.data
        problem = None
        if self.start.errors or self.end.errors or start is None or end is None:
            problem = "A custom range needs a valid start and end date (YYYY-MM-DD)"
        elif start > end:
            problem = "The custom range starts after it ends"
        elif start < EARLIEST or end > today:
            problem = f"A custom range must lie between {EARLIEST} and today ({today})"
        elif (end - start).days + 1 > MAX_CUSTOM_DAYS:
            problem = f"A custom range may span at most {MAX_CUSTOM_DAYS} days"
        if problem:
            messages.append(problem)
            return default
        return start, end

    def _steps(self, messages: list[str]) -> tuple[int, ...]:
        chosen = [self[name] for name in STEP_FIELDS if self[name].data]
        if not chosen:
            return ()
        if any(f.errors for f in chosen):
            messages.append("Unknown activity type in the funnel steps")
            return ()
        if len(chosen) < 2:
            messages.append("A funnel needs at least two steps")
            return ()
        return tuple(int(f.data) for f in chosen)


def _id(value: str | None) -> int | None:
    return int(value) if value else None
