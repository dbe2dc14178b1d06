"""Benchmark of the demo data generator (``dashboard.demo_data.seed_demo``).

    python bench/seed.py --contacts 1000000 --days 90 [--database-url URL] [--baseline 10000]

Runs a small baseline seed and then the requested one, each into a fresh database (SQLite in a
temporary instance folder by default), and prints for each: schema time, load time, index
rebuild time, total time, contacts/s and activities/s. The last line is the ratio of throughput
(large / baseline): machines are noisy, so compare ratios between runs rather than raw rates.

With ``--database-url`` (PostgreSQL), the database must be empty; it is emptied again (its
``public`` schema dropped and recreated) before the second run and after the last.
"""

import argparse
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import flask_migrate
from sqlalchemy import inspect, text

from dashboard import create_app
from dashboard.database import write_intent
from dashboard.demo_data import seed_demo
from dashboard.extensions import db


@dataclass
class Result:
    """Timings and counts of one seeded store."""

    label: str
    engine: str
    contacts: int
    activities: int
    rows: int
    schema_s: float
    load_s: float
    indexes_s: float
    total_s: float
    size_bytes: int | None

    @property
    def rows_per_s(self) -> float:
        """Contacts and activities written per second of the whole seed."""
        return (self.contacts + self.activities) / self.total_s


def _empty_postgres() -> None:
    with db.engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))


def run(label: str, contacts: int, days: int, seed: int, database_url: str, keep: bool) -> Result:
    """Seed a fresh store and return what it took."""
    folder = tempfile.mkdtemp(prefix=f"dashboard-bench-{label}-")
    app = create_app(
        {"TESTING": True, "SECRET_KEY": "bench", "DATABASE_URL": database_url},
        instance_path=folder,
    )
    marks: dict[str, float] = {}
    index_seconds = 0.0

    def progress(message: str) -> None:
        nonlocal index_seconds
        now = time.perf_counter()
        if message.startswith("contacts "):
            marks["loaded"] = now
            print(f"  {message}", flush=True)
        elif message.startswith("rebuilt "):
            index_seconds += float(message.rsplit(" ", 1)[1].rstrip("s"))

    with app.app_context():
        engine = db.engine.dialect.name
        if engine == "postgresql" and inspect(db.engine).get_table_names():
            raise SystemExit("The PostgreSQL database must be empty (it has tables).")
        started = time.perf_counter()
        with write_intent():
            flask_migrate.upgrade()
        migrated = time.perf_counter()
        counts = seed_demo(contacts=contacts, days=days, seed=seed, progress=progress)
        finished = time.perf_counter()
        size = None
        if engine == "sqlite":
            size = Path(db.engine.url.database or "").stat().st_size
        else:
            size = db.session.scalar(text("SELECT pg_database_size(current_database())"))
            db.session.remove()
            _empty_postgres()
        db.engine.dispose()
    if not keep:
        shutil.rmtree(folder)
    seed_s = finished - migrated
    return Result(
        label=label,
        engine=engine,
        contacts=counts["contacts"],
        activities=counts["activities"],
        rows=sum(counts.values()),
        schema_s=migrated - started,
        load_s=marks.get("loaded", finished) - migrated,
        indexes_s=index_seconds,
        total_s=seed_s,
        size_bytes=size,
    )


def report(result: Result) -> None:
    """Print one result."""
    size = f", {result.size_bytes / 1e6:,.0f} MB" if result.size_bytes else ""
    print(
        f"{result.label}: {result.contacts:,} contacts, {result.activities:,} activities "
        f"({result.rows:,} rows) on {result.engine}{size}\n"
        f"  schema {result.schema_s:.1f}s, load {result.load_s:.1f}s, "
        f"indexes {result.indexes_s:.1f}s, seed total {result.total_s:.1f}s\n"
        f"  {result.contacts / result.total_s:,.0f} contacts/s, "
        f"{result.activities / result.total_s:,.0f} activities/s, "
        f"{result.rows_per_s:,.0f} contacts+activities/s",
        flush=True,
    )


def main() -> None:
    """Parse the command line, run the baseline and the large seed, print the ratio last."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--baseline", type=int, default=10_000, help="contacts of the small run")
    parser.add_argument(
        "--database-url", default="", help="an empty database (default: temporary SQLite)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the SQLite files")
    args = parser.parse_args()

    baseline = run("baseline", args.baseline, args.days, args.seed, args.database_url, args.keep)
    report(baseline)
    large = run("large", args.contacts, args.days, args.seed, args.database_url, args.keep)
    report(large)
    print(
        f"ratio large/baseline: {large.rows_per_s / baseline.rows_per_s:.2f} "
        f"({large.rows_per_s:,.0f} / {baseline.rows_per_s:,.0f} contacts+activities/s)"
    )


if __name__ == "__main__":
    main()
