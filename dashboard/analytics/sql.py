"""SQL expressions the analytics queries share: UTC days and the contact sample's membership."""

from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import BigInteger, Date, Integer, String, cast, extract, func, literal, type_coerce
from sqlalchemy.sql import ColumnElement

from ..extensions import db
from ..sql import upsert_insert
from .periods import Grouping

# Sample membership: a contact is sampled at rate R (a power of two) when
# (id * MULTIPLIER) mod PRIME is divisible by R. The product stays below 2**63 for every 31-bit
# id, so SQLite, PostgreSQL and Python compute the same value; halving the sample (R -> 2R)
# keeps a subset of it.
MULTIPLIER = 2654435761
PRIME = 4294967291


def dialect_name() -> str:
    """The current engine's dialect name."""
    return db.session.get_bind().dialect.name


def utc_day(column: ColumnElement) -> ColumnElement[date]:
    """The UTC calendar day of a UTC timestamp column, as a DATE on every engine."""
    if dialect_name() == "postgresql":
        return cast(func.timezone("UTC", column), Date)
    # SQLite stores naive UTC text; date() reads its first ten characters' worth.
    return type_coerce(func.date(column), Date)


def day_start(day: date) -> datetime:
    """Midnight UTC at the start of ``day``."""
    return datetime.combine(day, time.min, tzinfo=UTC)


def day_end(day: date) -> datetime:
    """Midnight UTC after ``day`` (exclusive bound)."""
    return day_start(day + timedelta(days=1))


def day_runs(days: list[date]) -> list[tuple[date, date]]:
    """Sorted days merged into (first, last) runs of consecutive days."""
    runs: list[tuple[date, date]] = []
    for d in days:
        if runs and d == runs[-1][1] + timedelta(days=1):
            runs[-1] = (runs[-1][0], d)
        else:
            runs.append((d, d))
    return runs


def sample_hash(contact_id: int) -> int:
    """The value whose divisibility by the rate decides sample membership."""
    return (contact_id * MULTIPLIER) % PRIME


def in_sample(contact_id: int, rate: int) -> bool:
    """Whether the contact is in the sample at ``rate``."""
    return sample_hash(contact_id) % rate == 0


def sampled(column: ColumnElement[int], rate: int) -> ColumnElement[bool]:
    """SQL condition: the contact id in ``column`` is in the sample at ``rate``."""
    big = cast(column, BigInteger)
    return big * literal(MULTIPLIER, BigInteger) % literal(PRIME, BigInteger) % rate == 0


def bucket_day(column: ColumnElement, grouping: Grouping) -> ColumnElement[date]:
    """The first day of the UTC day, ISO week (Monday) or month holding a UTC timestamp."""
    if dialect_name() == "postgresql":
        utc = func.timezone("UTC", column)
        if grouping is Grouping.DAY:
            return cast(utc, Date)
        return cast(func.date_trunc(grouping.value, utc), Date)
    if grouping is Grouping.WEEK:
        weekday = (cast(func.strftime("%w", column), Integer) + 6) % 7  # Monday = 0
        return type_coerce(func.date(column, "-" + cast(weekday, String) + " days"), Date)
    if grouping is Grouping.MONTH:
        return type_coerce(func.strftime("%Y-%m-01", column), Date)
    return utc_day(column)


def epoch_seconds(column: ColumnElement) -> ColumnElement[int]:
    """Whole seconds since 1970-01-01 UTC of a UTC timestamp column."""
    if dialect_name() == "postgresql":
        return cast(extract("epoch", column), BigInteger)
    return cast(func.strftime("%s", column), Integer)


def epoch(moment: datetime) -> int:
    """Whole seconds since 1970-01-01 UTC."""
    return int(moment.timestamp())


def add_counts(model: type, keys: list[str], values: list[str], rows: list[dict]) -> None:
    """Insert ``rows`` into a rollup or add their ``values`` to the existing rows with the same
    keys."""
    if not rows:
        return
    table = model.__table__  # type: ignore[attr-defined]
    stmt = upsert_insert(table)
    stmt = stmt.on_conflict_do_update(
        index_elements=keys, set_={v: table.c[v] + stmt.excluded[v] for v in values}
    )
    db.session.execute(stmt, rows)
