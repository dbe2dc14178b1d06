"""``flask --app dashboard backup PATH``: a consistent copy of the store while the app writes.

**SQLite**: SQLite's online backup API (``sqlite3.Connection.backup``) copies the database page
by page from a read-only connection. The row counts printed and the copy are taken inside *one*
read transaction, so they describe the same snapshot: in rollback-journal mode the read lock
holds every commit back until the copy is done (writers wait on their busy timeout, the tracking
API answers 503 + Retry-After past it), in WAL mode the reader keeps its snapshot while writers
go on. The copy is written to a private temporary file beside PATH, checked (``integrity_check``,
``foreign_key_check`` and the same counts), made durable and only then renamed to PATH, so PATH
is never a half-written backup. Restore: stop the app and put the file in place of the
database (or point ``DATABASE_URL`` at it).

**PostgreSQL**: the same guarantee with ``pg_dump``: a read-only REPEATABLE READ transaction
exports its snapshot, counts the rows in it, and ``pg_dump --snapshot`` dumps exactly that
snapshot (custom format). Restore with ``pg_restore --no-owner --dbname URL PATH`` into an empty
database. Without a ``pg_dump`` on PATH the command says how to run it and exits non-zero.
"""

import os
import shutil
import sqlite3
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from glob import glob
from pathlib import Path

import click
from flask import current_app
from sqlalchemy.engine import URL, Engine

from .extensions import db
from .models import Activity, ConsentAgreement, Contact, ContactGroup, ContactGroupMember

# What a restore is checked against: the store's personal data and its groups.
COUNTED = {
    "contacts": Contact,
    "activities": Activity,
    "agreements": ConsentAgreement,
    "groups": ContactGroup,
    "members": ContactGroupMember,
}

PG_DUMP_MISSING = """pg_dump was not found on PATH.
Install the PostgreSQL client of the server's major version (Debian: apt-get install
postgresql-client), or take the dump yourself; pg_dump reads one consistent snapshot while the
app keeps writing:
    pg_dump --format=custom --no-owner --file {path} '{url}'
Restore into an empty database:
    pg_restore --no-owner --dbname 'postgresql://USER@HOST/NEWDB' {path}"""


class BackupError(Exception):
    """The backup could not be taken or did not verify; nothing was left at PATH."""


@dataclass(frozen=True)
class Backup:
    """A finished backup: where, how big, how long, and the rows of its snapshot."""

    path: Path
    engine: str
    size: int
    seconds: float
    counts: dict[str, int]
    snapshot_seconds: float  # how long the source snapshot was held (SQLite: commits wait)


def count_rows(scalar: Callable[[str], int]) -> dict[str, int]:
    """The COUNTED tables' row counts, each read with ``scalar(sql)``."""
    return {
        name: int(scalar(f'SELECT count(*) FROM "{model.__table__.name}"'))  # noqa: S608 - model names
        for name, model in COUNTED.items()
    }


def _private_file(path: Path) -> None:
    """Create ``path`` empty and readable by its owner only: a backup holds personal data."""
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def _publish(partial: Path, target: Path) -> None:
    """Flush ``partial`` to disk and rename it to ``target`` atomically."""
    with open(partial, "rb") as handle:
        os.fsync(handle.fileno())
    os.replace(partial, target)
    directory = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


@contextmanager
def _written_atomically(target: Path) -> Iterator[Path]:
    """Yield a private temporary file beside ``target``; rename it to ``target`` when the block
    succeeds, delete it when it fails. PATH is never a half-written backup."""
    partial = target.with_name(f".{target.name}.partial-{os.getpid()}")
    _private_file(partial)
    try:
        yield partial
        _publish(partial, target)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


def _verify_sqlite_copy(copy: sqlite3.Connection, expected: dict[str, int]) -> None:
    integrity = [row[0] for row in copy.execute("PRAGMA integrity_check")]
    if integrity != ["ok"]:
        raise BackupError(f"the copy failed integrity_check: {integrity[:5]}")
    orphans = copy.execute("PRAGMA foreign_key_check").fetchmany(5)
    if orphans:
        raise BackupError(f"the copy has rows without their parent row: {orphans}")
    copied = count_rows(lambda sql: copy.execute(sql).fetchone()[0])
    if copied != expected:
        raise BackupError(f"the copy holds {copied}, its snapshot held {expected}")


def backup_sqlite(database: Path, target: Path, busy_timeout_s: float) -> Backup:
    """Copy the SQLite database at ``database`` to ``target`` (see the module docstring)."""
    started = time.perf_counter()
    try:
        source = sqlite3.connect(
            f"{database.resolve().as_uri()}?mode=ro",
            uri=True,
            isolation_level=None,
            timeout=busy_timeout_s,
        )
        # Exits in reverse: the copy is closed before it is renamed into place.
        with (
            closing(source),
            _written_atomically(target) as partial,
            closing(sqlite3.connect(partial, isolation_level=None)) as copy,
        ):
            source.execute("BEGIN")  # the counts and the pages come from this one snapshot
            held = time.perf_counter()
            counts = count_rows(lambda sql: source.execute(sql).fetchone()[0])
            source.backup(copy)
            source.execute("COMMIT")
            held = time.perf_counter() - held
            _verify_sqlite_copy(copy, counts)  # on the copy: writers go on meanwhile
    except (sqlite3.Error, OSError) as exc:
        raise BackupError(f"SQLite backup failed: {exc}") from exc
    size, seconds = target.stat().st_size, time.perf_counter() - started
    return Backup(target, "sqlite", size, seconds, counts, held)


def find_pg_dump() -> str | None:
    """``pg_dump`` on PATH, else the newest one of Debian's versioned client folders."""
    found = shutil.which("pg_dump")
    if found:
        return found
    versioned = sorted(glob("/usr/lib/postgresql/*/bin/pg_dump"), key=_major_version)
    return versioned[-1] if versioned else None


def _major_version(path: str) -> int:
    part = Path(path).parent.parent.name
    return int(part) if part.isdigit() else 0


def libpq_url(engine: Engine) -> tuple[str, dict[str, str]]:
    """The engine's URL for libpq tools, without the password, and the environment that holds
    it (a password on a command line is visible to every user of the machine)."""
    url = engine.url
    env = {"PGPASSWORD": url.password} if url.password else {}
    plain = URL.create(
        "postgresql",
        username=url.username,
        host=url.host,
        port=url.port,
        database=url.database,
        query=url.query,
    )
    return plain.render_as_string(hide_password=False), env


def backup_postgresql(engine: Engine, target: Path, pg_dump: str) -> Backup:
    """Dump the PostgreSQL database to ``target`` from one exported snapshot."""
    started = time.perf_counter()
    url, password = libpq_url(engine)
    try:
        with _written_atomically(target) as partial, engine.connect() as conn:
            conn = conn.execution_options(
                isolation_level="REPEATABLE READ", postgresql_readonly=True
            )
            with conn.begin():
                held = time.perf_counter()
                snapshot = conn.exec_driver_sql("SELECT pg_export_snapshot()").scalar_one()
                counts = count_rows(lambda sql: conn.exec_driver_sql(sql).scalar_one())
                # The exporting transaction stays open until pg_dump is done with its snapshot.
                result = subprocess.run(  # noqa: S603 - fixed arguments, no shell
                    [
                        pg_dump,
                        "--format=custom",
                        "--no-owner",
                        "--no-password",
                        f"--snapshot={snapshot}",
                        f"--file={partial}",
                        f"--dbname={url}",
                    ],
                    env={**os.environ, **password},
                    capture_output=True,
                    text=True,
                    check=False,
                )
            held = time.perf_counter() - held
            if result.returncode != 0:
                raise BackupError(f"pg_dump failed ({result.returncode}): {result.stderr.strip()}")
    except OSError as exc:
        raise BackupError(f"PostgreSQL backup failed: {exc}") from exc
    size, seconds = target.stat().st_size, time.perf_counter() - started
    return Backup(target, "postgresql", size, seconds, counts, held)


def take_backup(target: Path, *, overwrite: bool = False) -> Backup:
    """Back the app's database up to ``target`` with the engine's own tool."""
    engine = db.engine
    target = target.absolute()
    if target.exists() and (not overwrite or target.is_dir()):
        raise BackupError(f"{target} exists; choose a new file (or --overwrite a file)")
    if not target.parent.is_dir():
        raise BackupError(f"{target.parent} is not a folder")
    db.session.remove()  # no open transaction of ours may hold the copy back
    if engine.dialect.name == "sqlite":
        database = Path(engine.url.database or "")
        if not engine.url.database or not database.exists():
            raise BackupError("the SQLite database is in memory or missing; nothing to copy")
        if database.resolve() == target.resolve():
            raise BackupError("the backup cannot replace the database it copies")
        timeout = current_app.config["SQLITE_BUSY_TIMEOUT_MS"] / 1000
        return backup_sqlite(database, target, timeout)
    if engine.dialect.name == "postgresql":
        pg_dump = find_pg_dump()
        if pg_dump is None:
            url, _ = libpq_url(engine)
            raise BackupError(PG_DUMP_MISSING.format(path=target, url=url))
        return backup_postgresql(engine, target, pg_dump)
    raise BackupError(f"no backup method for {engine.dialect.name}")


@click.command("backup")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--overwrite", is_flag=True, help="Replace PATH if it is an existing file.")
def backup_command(path: Path, overwrite: bool) -> None:
    """Write a consistent copy of the database to PATH while the app keeps running (SQLite: a
    database file; PostgreSQL: a pg_dump custom-format archive for pg_restore)."""
    try:
        done = take_backup(path, overwrite=overwrite)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from None
    counts = ", ".join(f"{n:,} {name}" for name, n in done.counts.items())
    click.echo(
        f"Backed up {done.engine} to {done.path} ({done.size / 1e6:,.1f} MB, "
        f"{done.seconds:.1f}s, snapshot held {done.snapshot_seconds:.1f}s): {counts}."
    )


COMMANDS = [backup_command]
