"""Keyset pagination over (sort key, id) that stays on an index on SQLite and PostgreSQL.

A page continues after the last row shown, never at an OFFSET, so page 10,000 costs what page 1
costs. The order is the sort key, then the id as a tie-breaker, both in the same direction, with
rows whose key is NULL always last.

A page is read in up to three *segments*, each a plain index range: rows that tie with the
cursor's key and come after its id; rows whose key comes after the cursor's key; then (for a
nullable key) the NULL rows. Row-value comparisons like ``(key, id) < (:k, :id)`` would be one
query, but SQLite cannot use an index's implicit rowid for them, and the NULL rows would need an
``OR`` that no index serves.
"""

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, func, literal, select
from sqlalchemy.sql import ColumnElement
from sqlalchemy.sql.elements import UnaryExpression
from sqlalchemy.sql.operators import custom_op

from ..extensions import db

T = TypeVar("T")

# Rows read in sort order to test filters on before trusting a filter index (see below).
PROBE_WINDOW = 2000


class InvalidCursor(ValueError):
    """A page cursor that was not made by ``encode_cursor`` for this kind of key."""


@dataclass(frozen=True)
class Cursor:
    """The sort key and id of the last row of the previous page."""

    value: datetime | str | None
    id: int


def encode_cursor(value: datetime | str | None, row_id: int) -> str:
    """Return an opaque URL-safe token for the row with this sort key and id."""
    shown = value.isoformat() if isinstance(value, datetime) else value
    raw = json.dumps([shown, row_id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(token: str, kind: type) -> Cursor:
    """Read a token of ``encode_cursor`` whose key is of ``kind`` (``datetime`` or ``str``)."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        value, row_id = json.loads(raw)
    except (binascii.Error, ValueError, TypeError) as exc:
        raise InvalidCursor("not a page cursor") from exc
    if type(row_id) is not int or not 0 <= row_id < 2**63:
        raise InvalidCursor("not a page cursor")
    if not (value is None or (isinstance(value, str) and "\x00" not in value)):
        raise InvalidCursor("not a page cursor")
    if kind is datetime and value is not None:
        try:
            value = datetime.fromisoformat(value)
        except ValueError as exc:
            raise InvalidCursor("not a page cursor") from exc
        if value.tzinfo is None:
            raise InvalidCursor("not a page cursor")
    return Cursor(value, row_id)


def _unindexed(column: Any) -> Any:
    return UnaryExpression(column, operator=custom_op("+"), type_=column.type)


@dataclass(frozen=True)
class KeysetOrder:
    """An order over ``key`` then ``id``, descending or ascending, NULL keys last."""

    key: Any  # a mapped column
    id: Any
    descending: bool
    nullable: bool = False

    def _after(self, column: Any, value: object) -> ColumnElement[bool]:
        bound = literal(value, column.type)
        return column < bound if self.descending else column > bound

    def _order(self, *columns: Any) -> list[Any]:
        return [c.desc() if self.descending else c.asc() for c in columns]

    def without_indexes(self) -> "KeysetOrder":
        """The same order written so SQLite cannot serve it from the sort key's index (unary
        ``+``), leaving the filters' indexes as the only way in; PostgreSQL plans by statistics
        and gets the plain columns."""
        if db.session.get_bind().dialect.name != "sqlite":
            return self
        return replace(self, key=_unindexed(self.key), id=_unindexed(self.id))

    def segments(self, cursor: Cursor | None) -> list[tuple[list[ColumnElement[bool]], list]]:
        """The (conditions, ORDER BY) of each index range a page reads, in order."""
        nulls = [([self.key.is_(None)], self._order(self.id))] if self.nullable else []
        if cursor is None:
            not_null = [self.key.is_not(None)] if self.nullable else []
            return [(not_null, self._order(self.key, self.id)), *nulls]
        if cursor.value is None:
            return [([self.key.is_(None), self._after(self.id, cursor.id)], self._order(self.id))]
        tie = [self.key == literal(cursor.value, self.key.type), self._after(self.id, cursor.id)]
        return [
            (tie, self._order(self.id)),
            ([self._after(self.key, cursor.value)], self._order(self.key, self.id)),
            *nulls,
        ]


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of rows and the cursor of the next page (None on the last page)."""

    items: list[T]
    next_cursor: str | None


@dataclass(frozen=True)
class Filters:
    """The same WHERE clauses in two forms: ``per_row`` is cheap to test on rows read in another
    index's order (correlated EXISTS); ``driving`` lets the planner start from the filters' own
    indexes (plain comparisons, IN subqueries)."""

    per_row: Sequence
    driving: Sequence


def _rows(query: Select, scalars: bool) -> Sequence:
    return db.session.scalars(query).all() if scalars else db.session.execute(query).all()


def _filtered_segment(
    stmt: Select,
    filters: Filters,
    order: KeysetOrder,
    segment: tuple[list, list],
    driven: tuple[list, list],
    wanted: int,
    scalars: bool,
) -> Sequence:
    """One segment's rows when filters apply, without trusting the planner to guess how many
    rows they match (SQLite keeps no statistics unless ANALYZE runs).

    Read the next PROBE_WINDOW rows in sort order and test the filters on them: a filter that
    matches many contacts fills the page from there. When the window holds too few matches the
    filter is rare, and a query that starts from the filters' indexes (``driven``: the segment
    written so the sort key's index cannot serve it) reads the few matches and sorts them.
    """
    conditions, order_by = segment
    window = (
        select(order.id.label("probe_id"))
        .where(*conditions)
        .order_by(*order_by)
        .limit(PROBE_WINDOW)
        .subquery()
    )
    probed = _rows(
        stmt.join(window, order.id == window.c.probe_id)
        .where(*filters.per_row)
        .order_by(*order_by)
        .limit(wanted),
        scalars,
    )
    if len(probed) == wanted:
        return probed
    if (db.session.scalar(select(func.count()).select_from(window)) or 0) < PROBE_WINDOW:
        return probed  # the window held the whole segment
    conditions, order_by = driven
    return _rows(
        stmt.where(*conditions, *filters.driving).order_by(*order_by).limit(wanted), scalars
    )


def fetch_page(
    stmt: Select,
    order: KeysetOrder,
    cursor: Cursor | None,
    limit: int,
    key_of: Callable[[Any], tuple[datetime | str | None, int]],
    *,
    scalars: bool = False,
    filters: Filters | None = None,
) -> Page:
    """Read ``limit`` rows of ``stmt`` (and ``filters``) after ``cursor``; one extra row tells
    whether there are more."""
    rows: list = []
    segments = order.segments(cursor)
    driven = order.without_indexes().segments(cursor) if filters else segments
    for segment, driven_segment in zip(segments, driven, strict=True):
        wanted = limit + 1 - len(rows)
        if wanted <= 0:
            break
        if filters is None:
            conditions, order_by = segment
            rows.extend(_rows(stmt.where(*conditions).order_by(*order_by).limit(wanted), scalars))
        else:
            rows.extend(
                _filtered_segment(stmt, filters, order, segment, driven_segment, wanted, scalars)
            )
    items = rows[:limit]
    more = len(rows) > limit
    return Page(items, encode_cursor(*key_of(items[-1])) if more else None)
