"""Where the rollup job adds aggregated activities: the store-wide rollups or a group's."""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.sql import ColumnElement, Select

from ..models import Activity
from ..models.analytics import ActivityDaily, PageDaily, SourceDaily


@dataclass(frozen=True)
class Target:
    """Where aggregated activities are added: the store-wide rollups (no group), or the group
    rollups keyed by ``group`` (a column of the joined membership table), each count
    multiplied by ``sign`` (-1 takes activities out)."""

    activity: type = ActivityDaily
    page: type = PageDaily
    source: type = SourceDaily
    group: ColumnElement[int] | None = None
    join: tuple[Any, ColumnElement[bool]] | None = None
    sign: int = 1

    @property
    def keys(self) -> list[str]:
        """The key columns before the day's."""
        return [] if self.group is None else ["group_id"]

    def columns(self) -> list[ColumnElement[Any]]:
        """The key columns to select and group by."""
        return [] if self.group is None else [self.group.label("group_id")]

    def select(self, *columns: Any) -> Select:
        """SELECT the keys and ``columns`` from the activities (joined as the target says)."""
        query = select(*self.columns(), *columns).select_from(Activity)
        return query.join(*self.join) if self.join is not None else query

    def split(self, row: Sequence[Any]) -> tuple[tuple[Any, ...], Sequence[Any]]:
        """A result row's key values and the rest."""
        n = len(self.keys)
        return tuple(row[:n]), row[n:]


EVERYONE = Target()
