"""Small SQL helpers that differ by dialect."""

from sqlalchemy.dialects import postgresql, sqlite

from .extensions import db


def upsert_insert(table):  # type: ignore[no-untyped-def]
    """Return an INSERT for ``table`` that supports ``on_conflict_do_*`` on the current engine.

    SQLite (3.24+) and PostgreSQL share the ``ON CONFLICT`` syntax; SQLAlchemy exposes it per
    dialect, so pick the dialect's insert construct.
    """
    name = db.session.get_bind().dialect.name
    if name == "postgresql":
        return postgresql.insert(table)
    if name == "sqlite":
        return sqlite.insert(table)
    raise NotImplementedError(f"no upsert for dialect {name}")
