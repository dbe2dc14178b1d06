"""Fixtures: one migrated database per test session, emptied after every test.

The database is SQLite in a temporary folder, or PostgreSQL when DASHBOARD_TEST_DATABASE_URL is
set (``.ci/run`` runs the suite both ways).
"""

import contextvars
import os
from collections.abc import Callable, Iterator

import pytest
from flask import Flask, has_app_context
from flask.testing import FlaskClient
from flask_migrate import upgrade
from sqlalchemy import MetaData, Table, insert, text

from dashboard import create_app
from dashboard.database import write_intent
from dashboard.extensions import db
from dashboard.models import Role, User
from tests import factories

# Tables whose rows the migration seeds; they are restored rather than emptied.
REFERENCE_TABLES = ("activity_type", "contact_status")


class IsolatedClient(FlaskClient):
    """Runs each request in an empty context, like a real server does.

    The test keeps an app context open for its own queries; without this, requests would reuse
    it and share ``g`` (Flask-Login's cached user) and the database session between requests.
    """

    def open(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        # End the test's own read transaction first: a SQLite writer cannot commit while another
        # connection holds a read lock (tests commit what they want the request to see).
        if has_app_context():
            db.session.rollback()
        return contextvars.Context().run(super().open, *args, **kwargs)


def _test_config(database_url: str) -> dict:
    return {
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "DATABASE_URL": database_url,
        "WTF_CSRF_ENABLED": False,
        # Requests commit in their own transaction here; tests/test_tracking_writer.py and the
        # live-server tests cover the group-commit writer.
        "TRACKING_GROUP_COMMIT": False,
        # Background threads off: tests drain the group queue and roll up explicitly.
        "GROUP_REFRESH_INTERVAL_SECONDS": 0,
        "ANALYTICS_ROLLUP_INTERVAL": 0,
        "SERVER_NAME": None,
    }


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """Migrate a fresh database once per session and return its URL."""
    url = os.environ.get("DASHBOARD_TEST_DATABASE_URL") or (
        "sqlite:///" + str(tmp_path_factory.mktemp("db") / "test.sqlite")
    )
    app = create_app(_test_config(url), instance_path=str(tmp_path_factory.mktemp("instance")))
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            with db.engine.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        with write_intent():
            upgrade()
        db.engine.dispose()
    return url


@pytest.fixture(scope="session")
def reference_rows(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The rows the migration seeded, to restore after every test."""
    app = create_app(_test_config(database_url), instance_path=str(tmp_path_factory.mktemp("i")))
    with app.app_context():
        with db.engine.connect() as conn:
            rows = {
                name: [dict(r._mapping) for r in conn.execute(text(f"SELECT * FROM {name}"))]  # noqa: S608
                for name in REFERENCE_TABLES
            }
        db.engine.dispose()
    return rows


@pytest.fixture(scope="session")
def migrated_tables(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> list[Table]:
    """The migrated tables, children before parents, reflected once."""
    app = create_app(_test_config(database_url), instance_path=str(tmp_path_factory.mktemp("i")))
    with app.app_context():
        metadata = MetaData()
        metadata.reflect(db.engine)
        db.engine.dispose()
    return [t for t in reversed(metadata.sorted_tables) if t.name != "alembic_version"]


TRIGGER_LOGS = ("group_member_change", "group_dirty_day", "group_consent_dirty")


def _empty_database(tables: list[Table], reference_rows: dict) -> None:
    engine = db.engine
    names = [t.name for t in tables]
    with write_intent(), engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            quoted = ", ".join(f'"{n}"' for n in names)
            conn.execute(text(f"TRUNCATE {quoted} RESTART IDENTITY CASCADE"))
        else:
            # Trigger-filled logs last: deleting members and activities appends to them.
            for table in sorted(tables, key=lambda t: t.name in TRIGGER_LOGS):
                conn.execute(table.delete())
            # AUTOINCREMENT tables (migration 0008) count on from their highest id ever: start
            # every test from 1, as PostgreSQL's RESTART IDENTITY does.
            conn.execute(text("DELETE FROM sqlite_sequence"))
        by_name = {t.name: t for t in tables}
        for name in REFERENCE_TABLES:
            if reference_rows[name]:
                conn.execute(insert(by_name[name]), reference_rows[name])
        if engine.dialect.name == "postgresql":
            for name in REFERENCE_TABLES:
                conn.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "  # noqa: S608
                        f"(SELECT max(id) FROM {name}))"
                    )
                )


@pytest.fixture
def app(
    database_url: str, reference_rows: dict, migrated_tables: list[Table], tmp_path
) -> Iterator[Flask]:
    """A fresh app over the session's database; the database is emptied afterwards."""
    app = create_app(_test_config(database_url), instance_path=str(tmp_path))
    app.test_client_class = IsolatedClient
    with app.app_context():
        yield app
        db.session.remove()
        _empty_database(migrated_tables, reference_rows)
        db.engine.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask):
    return app.test_cli_runner()


@pytest.fixture
def login_as(client: FlaskClient) -> Callable[[Role | str], User]:
    """Create a user of ``role`` and put its session into ``client``."""

    def _login(role: Role | str) -> User:
        user = factories.user(role=Role(role))
        with client.session_transaction() as session:
            session["_user_id"] = user.get_id()
            session["_fresh"] = True
        return user

    return _login


@pytest.fixture
def other_app(app: Flask, tmp_path) -> Iterator[Flask]:
    """A second app over the same database, as another worker process would be."""
    other = create_app(_test_config(app.config["DATABASE_URL"]), instance_path=str(tmp_path))
    other.test_client_class = IsolatedClient
    yield other
    with other.app_context():
        db.engine.dispose()
