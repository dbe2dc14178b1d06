"""Fixed-window rate limits counted in the database, so they hold across worker processes."""

import hashlib
import hmac
import time
from collections import Counter
from dataclasses import dataclass
from functools import cache

from sqlalchemy import delete
from sqlalchemy.sql.dml import Insert

from ..extensions import db
from ..models import RateLimitWindow
from ..sql import dialect_name, upsert_insert


class RateLimited(Exception):
    """A limit was exceeded; retry after ``retry_after`` seconds."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"rate limited, retry after {retry_after}s")
        self.retry_after = retry_after


@dataclass(frozen=True)
class Limit:
    """At most ``per_minute`` requests for ``key`` in a one-minute window."""

    key: str
    per_minute: int


@dataclass(frozen=True)
class RatePolicy:
    """Requests per minute allowed per channel and per client address."""

    per_channel: int
    per_address: int

    def limits(self, channel_code: str, address_key: str) -> list[Limit]:
        """The two limits a request to ``channel_code`` from that address counts against."""
        return [
            Limit("channel:" + channel_code, self.per_channel),
            Limit(address_key, self.per_address),
        ]


def address_key(address: str, secret: str) -> str:
    """A keyed hash of a client address: limits work without storing the address."""
    digest = hmac.new(secret.encode(), address.encode(), hashlib.sha256).hexdigest()
    return "addr:" + digest[:40]


def hit(limits: list[Limit], now: float | None = None) -> None:
    """Count one request against every limit in the current transaction; raise RateLimited
    when any is exceeded. On PostgreSQL the counter rows stay locked until the transaction
    ends."""
    retry_after = hit_many([limits], now)[0]
    if retry_after is not None:
        raise RateLimited(retry_after)


def hit_many(requests: list[list[Limit]], now: float | None = None) -> list[int | None]:
    """Count requests, in order, against their limits with one statement; for each, None when
    it is within its limits, else the seconds to wait (a refused request is not counted).

    The upsert adds every request and returns each key's new total, so the count a request saw
    is the total before this call plus the requests ahead of it; the refused ones are taken off
    again afterwards (rare: only under a limit).
    """
    now = time.time() if now is None else now
    window = int(now // 60)
    retry_after = 60 - int(now % 60)
    wanted = Counter(key for limits in requests for key in {x.key for x in limits})
    if not wanted:
        return [None] * len(requests)
    # Rows in key order, so concurrent transactions lock PostgreSQL's counter rows in the same
    # order (no deadlock).
    rows = [{"key": k, "window": window, "hits": n} for k, n in sorted(wanted.items())]
    connection = db.session.connection()
    totals = {key: hits for key, hits in connection.execute(_count(dialect_name()), rows)}
    seen = {key: totals[key] - n for key, n in wanted.items()}  # counted before this call
    if any(seen[key] == 0 and key.startswith("channel:") for key in wanted):
        # Once a minute per channel: drop windows that can no longer matter.
        db.session.execute(delete(RateLimitWindow).where(RateLimitWindow.window < window - 1))
    refused: Counter[str] = Counter()
    answers: list[int | None] = []
    for limits in requests:
        if any(seen[x.key] + 1 > x.per_minute for x in limits):
            refused.update({x.key for x in limits})
            answers.append(retry_after)
            continue
        for key in {x.key for x in limits}:
            seen[key] += 1
        answers.append(None)
    if refused:
        rows = [{"key": k, "window": window, "hits": -n} for k, n in sorted(refused.items())]
        connection.execute(_count(dialect_name()), rows)
    return answers


@cache
def _count(dialect: str) -> Insert:
    """The counting upsert, built once per dialect: the tracking API runs it on every request,
    and a statement kept is neither built nor keyed for SQLAlchemy's compiled cache again."""
    table = RateLimitWindow.__table__  # the table, not the class: no ORM bulk-insert machinery
    insert = upsert_insert(table, dialect)
    return insert.on_conflict_do_update(
        index_elements=["key", "window"], set_={"hits": table.c.hits + insert.excluded.hits}
    ).returning(table.c.key, table.c.hits)
