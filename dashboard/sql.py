"""Small SQL helpers that differ by dialect."""

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.sqlite.base import SQLiteCompiler

from .extensions import db


def _sqlite_from_hint_text(self, table, text: str) -> str:  # type: ignore[no-untyped-def]
    return text


# SQLAlchemy's SQLite compiler drops table hints (it lacks ``get_from_hint_text``); render them,
# so ``with_hint(table, "INDEXED BY ...", "sqlite")`` does what it says (contact filters and
# segment rules name the per-contact activity index, which SQLite's planner misses without
# statistics). Only statements that ask for a SQLite hint are affected.
SQLiteCompiler.get_from_hint_text = _sqlite_from_hint_text  # type: ignore[method-assign]


def dialect_name() -> str:
    """The name of the current engine's dialect: "sqlite" or "postgresql"."""
    return db.session.get_bind().dialect.name


def upsert_insert(table, name: str | None = None):  # type: ignore[no-untyped-def]
    """Return an INSERT for ``table`` that supports ``on_conflict_do_*`` on the current engine
    (or on the dialect ``name``, for statements built once and kept).

    SQLite (3.24+) and PostgreSQL share the ``ON CONFLICT`` syntax; SQLAlchemy exposes it per
    dialect, so pick the dialect's insert construct.
    """
    name = name or dialect_name()
    if name == "postgresql":
        return postgresql.insert(table)
    if name == "sqlite":
        return sqlite.insert(table)
    raise NotImplementedError(f"no upsert for dialect {name}")
