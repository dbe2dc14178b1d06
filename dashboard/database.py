"""Engine set-up per dialect and the write-intent switch that makes SQLite take its lock up front.

SQLite: foreign keys on, a busy timeout, the configured journal mode, and write transactions that
start with ``BEGIN IMMEDIATE`` so two writers never deadlock on a lock upgrade (they queue on the
busy timeout instead). Read transactions stay ``BEGIN`` (deferred) so pages can read concurrently.
"""

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path

from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url

_write_intent: ContextVar[bool] = ContextVar("write_intent", default=False)

# First SQLite version without the WAL-reset corruption bug.
WAL_SAFE_SQLITE = (3, 51, 3)


def database_uri(configured: str, instance_path: str) -> str:
    """Return the SQLAlchemy URL for DATABASE_URL, defaulting to SQLite in the instance folder."""
    if not configured:
        return "sqlite:///" + str(Path(instance_path) / "dashboard.sqlite")
    url = make_url(configured)
    if url.drivername in ("postgres", "postgresql"):
        url = url.set(drivername="postgresql+psycopg")
    return url.render_as_string(hide_password=False)


def set_write_intent(value: bool) -> None:
    """Mark whether transactions begun from now on in this context will write."""
    _write_intent.set(value)


@contextmanager
def write_intent(value: bool = True) -> Iterator[None]:
    """Begin every transaction in the block as a write transaction (SQLite: BEGIN IMMEDIATE),
    or, with ``value=False``, as a read transaction (a shared lock that never queues behind
    writers for the writer's slot), e.g. a lookup made by a POST request after its commit."""
    token = _write_intent.set(value)
    try:
        yield
    finally:
        _write_intent.reset(token)


def check_journal_mode(mode: str, version: tuple[int, ...] = sqlite3.sqlite_version_info) -> str:
    """Validate the SQLite journal mode; refuse WAL on versions with the WAL-reset bug."""
    mode = mode.lower()
    if mode not in ("delete", "truncate", "persist", "wal"):
        raise ValueError(f"unsupported SQLITE_JOURNAL_MODE {mode!r}")
    if mode == "wal" and tuple(version) < WAL_SAFE_SQLITE:
        raise ValueError(
            "SQLITE_JOURNAL_MODE='wal' needs SQLite >= 3.51.3 when several processes write; "
            f"this Python links SQLite {'.'.join(map(str, version))}"
        )
    return mode


def configure_engine(engine: Engine, *, journal_mode: str, busy_timeout_ms: int) -> None:
    """Attach the per-dialect connection set-up to ``engine``."""
    if engine.dialect.name != "sqlite":
        return
    mode = check_journal_mode(journal_mode)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
        # Hand transaction control to SQLAlchemy so the "begin" hook below decides the BEGIN form.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute(f"PRAGMA journal_mode = {mode}")
        cursor.execute("PRAGMA synchronous = FULL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection) -> None:  # type: ignore[no-untyped-def]
        connection.exec_driver_sql("BEGIN IMMEDIATE" if _write_intent.get() else "BEGIN")
