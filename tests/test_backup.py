"""``flask --app dashboard backup PATH``: the copy restores with identical counts, also when it is
taken while tracking events keep arriving (SQLite online backup API; pg_dump on PostgreSQL)."""

import os
import shutil
import stat
import subprocess
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from dashboard import backup
from dashboard.extensions import db
from dashboard.models import (
    Activity,
    ActivityType,
    Contact,
    ContactGroup,
    ContactGroupMember,
)
from tests import factories
from tests.tracking_helpers import collect, event


def _counts(session: Session) -> dict[str, int]:
    """Row counts through the ORM (independent of the command's own counting)."""
    return {
        name: session.scalar(select(func.count()).select_from(model))
        for name, model in backup.COUNTED.items()
    }


def _orphan_activities(session: Session) -> int:
    return session.scalar(
        select(func.count())
        .select_from(Activity)
        .outerjoin(Contact, Contact.id == Activity.contact_id)
        .where(Activity.contact_id.is_not(None), Contact.id.is_(None))
    )


@contextmanager
def restored(archive: Path, live_url: str) -> Iterator[Session]:
    """Open what a backup restores to: the SQLite file itself, or a scratch PostgreSQL database
    filled by pg_restore (which re-creates every foreign key, so orphans would fail it)."""
    live = make_url(live_url)
    if live.get_backend_name() == "sqlite":
        engine = create_engine(f"sqlite:///{archive}")
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
            assert conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall() == []
        try:
            with Session(engine) as session:
                yield session
        finally:
            engine.dispose()
        return
    scratch = f"{live.database}_restore_{uuid.uuid4().hex[:8]}"
    admin = create_engine(live, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{scratch}"')
    engine = create_engine(live.set(database=scratch))
    try:
        url, password = backup.libpq_url(engine)
        restore = subprocess.run(  # noqa: S603 - fixed arguments
            [shutil.which("pg_restore") or "pg_restore", "--no-owner", f"--dbname={url}", archive],
            env={**os.environ, **password},
            capture_output=True,
            text=True,
            check=False,
        )
        assert restore.returncode == 0, restore.stderr
        with Session(engine) as session:
            yield session
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{scratch}"')
        admin.dispose()


@pytest.fixture
def store(app):
    """Contacts with activities, agreements, a channel and a group with members."""
    consent = factories.consent()
    factories.channel("shop-site", level=1000, consent=consent)
    people = [factories.contact(email=f"p{i}@example.com") for i in range(12)]
    for person in people[:5]:
        factories.agreement(person, consent)
    group = ContactGroup(code_name="vip", display_name="VIP", condition=None)
    db.session.add(group)
    db.session.flush()
    db.session.add_all(
        ContactGroupMember(group_id=group.id, contact_id=p.id, by_condition=False, manual=True)
        for p in people[:7]
    )
    visit = db.session.scalar(select(ActivityType.id).where(ActivityType.code_name == "pagevisit"))
    db.session.add_all(
        Activity(contact_id=p.id, type_id=visit, title=f"Visit {n}", url="https://example.com/")
        for p in people
        for n in range(3)
    )
    db.session.commit()
    return people


def test_backup_restores_with_identical_counts(app, runner, store, tmp_path):
    before = _counts(db.session)
    assert all(before.values()), before
    target = tmp_path / "copy.backup"
    result = runner.invoke(args=["backup", str(target)])
    assert result.exit_code == 0, result.output
    assert f"{before['activities']} activities" in result.output
    assert stat.S_IMODE(target.stat().st_mode) == 0o600  # personal data: owner only
    with restored(target, app.config["DATABASE_URL"]) as session:
        assert _counts(session) == before
        assert session.scalar(text("SELECT version_num FROM alembic_version")) == db.session.scalar(
            text("SELECT version_num FROM alembic_version")
        )
    assert [p.name for p in tmp_path.iterdir()] == ["copy.backup"]  # no partial file left


def test_backup_while_tracking_events_arrive_is_one_consistent_snapshot(
    app, other_app, store, tmp_path
):
    """Another worker keeps posting events (each a new contact with an activity) before, during
    and after the backup. The copy is consistent: it holds exactly the counts read inside the
    same read transaction (or exported snapshot), no activity without its contact, and it lies
    between what was stored before and after."""
    other_app.config["TRACKING_RATE_LIMIT_ADDRESS_PER_MINUTE"] = 10**9
    written = threading.Semaphore(0)
    stop = threading.Event()
    failures: list[str] = []

    def keep_writing() -> None:
        client = other_app.test_client()
        for _ in range(5000):  # bounded; stopped long before
            if stop.is_set():
                return
            response = collect(client, "shop-site", [event(), event("click", label="Buy")])
            if response.status_code != 200:
                failures.append(response.get_data(as_text=True))
                return
            written.release()

    writer = threading.Thread(target=keep_writing)
    writer.start()
    try:
        for _ in range(20):
            assert written.acquire(timeout=60), failures
        done = backup.take_backup(tmp_path / "live.backup")
        for _ in range(20):
            assert written.acquire(timeout=60), failures
    finally:
        stop.set()
        writer.join()
    assert failures == []
    db.session.rollback()
    after = _counts(db.session)
    with restored(done.path, app.config["DATABASE_URL"]) as session:
        copied = _counts(session)
        assert _orphan_activities(session) == 0
    assert copied == done.counts
    assert len(store) + 20 <= copied["contacts"] < after["contacts"]
    assert copied["activities"] < after["activities"]


def test_refuses_to_overwrite_or_to_write_into_a_missing_folder(runner, store, tmp_path):
    existing = tmp_path / "old.backup"
    existing.write_bytes(b"keep me")
    refused = runner.invoke(args=["backup", str(existing)])
    assert refused.exit_code != 0 and "exists" in refused.output
    assert existing.read_bytes() == b"keep me"
    missing = runner.invoke(args=["backup", str(tmp_path / "nope" / "x.backup")])
    assert missing.exit_code != 0 and "not a folder" in missing.output
    replaced = runner.invoke(args=["backup", "--overwrite", str(existing)])
    assert replaced.exit_code == 0, replaced.output
    assert existing.read_bytes() != b"keep me"


def _sqlite_only(app) -> None:
    if db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite backup path")


def test_sqlite_backup_never_replaces_the_database_itself(app, runner, store):
    _sqlite_only(app)
    live = db.engine.url.database
    result = runner.invoke(args=["backup", "--overwrite", live])
    assert result.exit_code != 0 and "cannot replace" in result.output


def test_a_copy_that_fails_verification_leaves_nothing(app, runner, store, tmp_path, monkeypatch):
    _sqlite_only(app)

    def broken(copy, expected):  # type: ignore[no-untyped-def]
        raise backup.BackupError("the copy failed integrity_check: ['page 2 is never used']")

    monkeypatch.setattr(backup, "_verify_sqlite_copy", broken)
    result = runner.invoke(args=["backup", str(tmp_path / "bad.backup")])
    assert result.exit_code != 0 and "integrity_check" in result.output
    assert list(tmp_path.iterdir()) == []


def test_postgresql_without_pg_dump_explains_and_fails(app, runner, store, tmp_path, monkeypatch):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL backup path")
    monkeypatch.setattr(backup, "find_pg_dump", lambda: None)
    result = runner.invoke(args=["backup", str(tmp_path / "db.dump")])
    assert result.exit_code != 0
    assert "pg_dump --format=custom" in result.output and "pg_restore" in result.output
    password = db.engine.url.password
    assert not password or password not in result.output
    assert list(tmp_path.iterdir()) == []
