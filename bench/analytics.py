"""Benchmark of the analytics pages on a small and a large store, in one run.

    python bench/analytics.py --contacts 1000000 --days 90                 # SQLite, temporary
    python bench/analytics.py --contacts 1000000 --days 90 \
        --database-url sqlite:////var/tmp/analytics.sqlite                 # keep and reuse
    python bench/analytics.py --contacts 1000000 --days 90 \
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/bench  # PostgreSQL

Two stores: a small one (``--small-contacts``, default 1,000 contacts = about 10k activities) and
a large one (``--contacts``). Each is seeded with ``dashboard.demo_data.seed_demo`` unless it
already holds contacts (then it is reused as it is: seeding 1M contacts takes 10-40 minutes),
its rollups are built (``backfill_rollups``) unless they are current, and it gets a contact
group (identified contacts in Germany, about 5% of all) unless it has it. Without
``--database-url`` both stores are SQLite files in a temporary folder, deleted at the end. With
it, that URL is the large store and the small one lives next to it (``<file>-small.sqlite``, or
database ``<name>_small`` on the same PostgreSQL server, created when missing), unless
``--small-database-url`` names it. ``--reseed`` empties both first (PostgreSQL: drops and
recreates the ``public`` schema, so use databases of your own).

Every chart page is then requested through the Flask test client, logged in as an analyst, with
its default filters and with the group filter: one warm-up request per store, then ``--runs``
rounds in which the small and the large store take turns, so both see the same load of a shared
machine. Each figure is the median wall time; the mean CPU time of the requests (this process,
plus the PostgreSQL server processes of the store) is shown beside it, because on a loaded machine
the wall time mostly measures waiting for a core. The last lines are the ratios large / small and
the verdicts: at most 150 ms median per page without the group filter, at most 1 s with it, and at
most 2x the small store's time.
"""

import argparse
import os
import shutil
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import flask_migrate
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, func, make_url, select, text
from sqlalchemy.exc import OperationalError, ProgrammingError

from dashboard import create_app
from dashboard.analytics import group_rollups
from dashboard.analytics.rollups import (
    ACTIVITY,
    BACKFILL_BATCH,
    Settings,
    backfill_rollups,
    read_position,
    refresh_rollups,
    sample_rate,
)
from dashboard.analytics.services import CHARTS
from dashboard.database import write_intent
from dashboard.demo_data import seed_demo
from dashboard.extensions import db
from dashboard.groups.membership import member_count
from dashboard.models import Activity, Contact, ContactGroup, Role, User

PAGES = ("/", *(f"/analytics/{slug}" for slug in CHARTS))
GOAL_MS, GROUP_GOAL_MS, RATIO_GOAL = 150.0, 1000.0, 2.0
GROUP_CODE = "bench-de-identified"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
MACHINE_LOOP = 10_000_000


@dataclass
class StoreResult:
    """One store: what it holds, its app and logged-in client, and its timings."""

    label: str
    contacts: int
    activities: int
    group_id: int
    group_members: int
    sample_rate: int
    seed_s: float
    backfill_s: float
    groups_s: float
    app: Flask
    client: FlaskClient
    folder: str
    # Per (path, with the group filter): median wall time, mean CPU time.
    wall_ms: dict[tuple[str, bool], float] = field(default_factory=dict)
    cpu_ms: dict[tuple[str, bool], float] = field(default_factory=dict)


def _time_ms(client, path: str, query: dict | None) -> float:  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    response = client.get(path, query_string=query)
    elapsed = (time.perf_counter() - started) * 1000
    assert response.status_code == 200, (path, query, response.status_code)
    return elapsed


def _bench_group() -> int | None:
    return db.session.scalar(select(ContactGroup.id).where(ContactGroup.code_name == GROUP_CODE))


def _make_group() -> None:
    """Identified contacts in Germany (about 5% of all), inserted directly as members."""
    with write_intent():
        group = ContactGroup(code_name=GROUP_CODE, display_name="Identified in DE")
        db.session.add(group)
        db.session.flush()
        db.session.execute(
            text(
                "INSERT INTO contact_group_member (group_id, contact_id, by_condition, manual, "
                "added_at) SELECT :g, id, :t, :f, created_at FROM contact "
                "WHERE country = 'DE' AND email IS NOT NULL"
            ),
            {"g": group.id, "t": True, "f": False},
        )
        db.session.commit()


def small_store_url(large_url: str) -> str:
    """The small store next to the large one: ``<file>-small.sqlite`` beside a SQLite file, or
    database ``<name>_small`` on the same PostgreSQL server (created when missing)."""
    url = make_url(large_url)
    if url.get_backend_name() == "sqlite":
        path = Path(url.database or "")
        return str(url.set(database=str(path.with_name(f"{path.stem}-small{path.suffix}"))))
    name = f"{url.database}_small"
    engine = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        if not conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}):
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


def _revision() -> str | None:
    try:
        return db.session.scalar(text("SELECT version_num FROM alembic_version"))
    except (ProgrammingError, OperationalError):  # an empty database: no table yet
        return None
    finally:
        db.session.rollback()  # a SQLite read transaction left open would block the migration


def _prepare_store(
    label: str, contacts: int, args: argparse.Namespace
) -> tuple[float, float, float]:
    """Seed the store unless it already holds contacts, build the rollups unless built, make the
    bench group and bring the group rollups up to date; refresh the planner statistics when
    anything changed. Returns the seconds spent seeding, building rollups and applying
    membership changes to the group rollups (0 when reused)."""
    postgres = db.engine.dialect.name == "postgresql"
    if args.reseed and postgres:
        with db.engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    before = _revision()
    with write_intent():
        flask_migrate.upgrade()
    changed = before != _revision()
    seed_s = backfill_s = 0.0
    existing = db.session.scalar(select(func.count()).select_from(Contact))
    db.session.rollback()
    if existing:
        print(f"  {label}: reusing the seeded store ({existing:,} contacts)", flush=True)
    else:
        started = time.perf_counter()
        seed_demo(contacts=contacts, days=args.days, seed=args.seed)
        seed_s = time.perf_counter() - started
        changed = True
    if read_position(ACTIVITY) < (db.session.scalar(select(func.max(Activity.id))) or 0):
        db.session.rollback()
        started = time.perf_counter()
        backfill_rollups()
        backfill_s = time.perf_counter() - started
        changed = True
    db.session.rollback()
    if _bench_group() is None:
        _make_group()
        changed = True
    groups_s = 0.0
    if group_rollups.pending():  # a new group, or memberships logged by the migration
        db.session.rollback()
        started = time.perf_counter()
        refresh_rollups(Settings(batch=BACKFILL_BATCH), max_batches=None)
        groups_s = time.perf_counter() - started
        changed = True
    if changed:
        if postgres:
            with db.engine.connect() as conn:
                conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE"))
        else:
            with write_intent():
                db.session.execute(text("ANALYZE"))
                db.session.commit()
    return seed_s, backfill_s, groups_s


def _login(app: Flask, label: str):  # type: ignore[no-untyped-def]
    email = f"bench-{label}@example.com"
    user = db.session.scalars(select(User).where(User.email == email)).first()
    if user is None:
        with write_intent():
            user = User(email=email, role=Role.ANALYST, password_hash="x")  # noqa: S106 - never used to log in
            db.session.add(user)
            db.session.commit()
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = user.get_id()
        session["_fresh"] = True
    db.session.remove()
    return client


def open_store(label: str, contacts: int, url: str, args: argparse.Namespace) -> StoreResult:
    """Seed (or reuse) and roll up one store; log a client in as an analyst."""
    folder = tempfile.mkdtemp(prefix=f"dashboard-bench-analytics-{label}-")
    app = create_app(
        {"TESTING": True, "SECRET_KEY": "bench", "DATABASE_URL": url}, instance_path=folder
    )
    with app.app_context():
        seed_s, backfill_s, groups_s = _prepare_store(label, contacts, args)
        group_id = _bench_group()
        assert group_id is not None
        result = StoreResult(
            label,
            db.session.scalar(select(func.count()).select_from(Contact)) or 0,
            db.session.scalar(select(func.count()).select_from(Activity)) or 0,
            group_id,
            member_count(group_id),
            sample_rate(),
            seed_s,
            backfill_s,
            groups_s,
            app,
            _login(app, label),
            folder,
        )
    return result


def _backend_pids(store: StoreResult) -> list[int]:
    """PostgreSQL: the server processes serving the store's database (the bench's own)."""
    with store.app.app_context():
        if db.engine.dialect.name != "postgresql":
            return []
        pids = db.session.scalars(
            text("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
        ).all()
        db.session.rollback()
    return list(pids)


def _cpu_s(pids: list[int]) -> float:
    """CPU seconds of this process (SQLite runs inside it) plus those of ``pids``."""
    total = time.process_time()
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # another machine, or the backend ended
            continue
        total += (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime
    return total


def time_pages(stores: list[StoreResult], pages: list[str], runs: int) -> None:
    """Median wall time of ``runs`` requests per page and store, after a warm-up request each,
    and their mean CPU time (this process plus its PostgreSQL server processes). The stores take
    turns request by request, so both see the same load of a shared machine and their ratio
    stays meaningful when the load changes during the run."""
    for path in pages:
        for grouped in (False, True) if path != "/" else (False,):
            times: dict[str, list[float]] = {s.label: [] for s in stores}
            cpu: dict[str, float] = dict.fromkeys(times, 0.0)
            queries = {s.label: {"group": s.group_id} if grouped else None for s in stores}
            for store in stores:
                _time_ms(store.client, path, queries[store.label])
            pids = {s.label: _backend_pids(s) for s in stores}
            for _ in range(runs):
                for store in stores:
                    before = _cpu_s(pids[store.label])
                    times[store.label].append(_time_ms(store.client, path, queries[store.label]))
                    cpu[store.label] += _cpu_s(pids[store.label]) - before
            key = (path, grouped)
            for store in stores:
                store.wall_ms[key] = statistics.median(times[store.label])
                store.cpu_ms[key] = cpu[store.label] * 1000 / runs
            print(
                f"  {path + (' + group' if grouped else ''):<32}"
                + "".join(
                    f"{s.label} {s.wall_ms[key]:7.1f} ms (cpu {s.cpu_ms[key]:6.1f})  "
                    for s in stores
                ),
                flush=True,
            )


def close_store(store: StoreResult) -> None:
    """Release the store's connections and its temporary instance folder."""
    with store.app.app_context():
        db.session.remove()
        db.engine.dispose()
    shutil.rmtree(store.folder)


def machine_check() -> str:
    """Wall and CPU time of a fixed Python loop: how fast a core is, and how much of one this
    process gets (wall / CPU), to compare runs on different machines or loads."""
    wall, cpu = time.perf_counter(), time.process_time()
    total = 0
    for i in range(MACHINE_LOOP):
        total += i
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return f"machine check: {MACHINE_LOOP:,}-step loop {wall:.2f}s wall, {cpu:.2f}s CPU"


def _verdict(large_ms: float, ratio: float, goal_ms: float) -> list[str]:
    missed = [f"{large_ms:.0f} ms > {goal_ms:g} ms"] if large_ms > goal_ms else []
    return missed + ([f"ratio {ratio:.2f} > {RATIO_GOAL:g}"] if ratio > RATIO_GOAL else [])


def print_ratios(small: StoreResult, large: StoreResult, pages: list[str]) -> list[str]:
    """The closing table: per page and filter, the medians, large/small and the verdict."""
    print(
        f"\nratios large/small (goals: <= {GOAL_MS:g} ms median without the group filter, "
        f"<= {GROUP_GOAL_MS:g} ms with it, large/small <= {RATIO_GOAL:g}; cpu = mean CPU ms of "
        "the large store's requests)"
    )
    print(f"{'page':<32}{'small ms':>9}{'large ms':>9}{'ratio':>7}{'cpu':>7}  verdict")
    missed = []
    for path in pages:
        for grouped in (False, True) if path != "/" else (False,):
            key = (path, grouped)
            ratio = large.wall_ms[key] / small.wall_ms[key]
            misses = _verdict(large.wall_ms[key], ratio, GROUP_GOAL_MS if grouped else GOAL_MS)
            name = path + (" + group" if grouped else "")
            missed += [f"{name}: {m}" for m in misses]
            print(
                f"{name:<32}{small.wall_ms[key]:9.1f}{large.wall_ms[key]:9.1f}{ratio:7.2f}"
                f"{large.cpu_ms[key]:7.1f}  {'MISSED' if misses else 'ok'}"
            )
    print("goals missed: " + ("; ".join(missed) if missed else "none"))
    return missed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--small-contacts", type=int, default=1_000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument(
        "--database-url", default="", help="the large store: reused when seeded, seeded if empty"
    )
    parser.add_argument(
        "--small-database-url", default="", help="the small store (default: next to the large)"
    )
    parser.add_argument(
        "--reseed", action="store_true", help="empty both stores first and seed them again"
    )
    parser.add_argument(
        "--pages", nargs="*", default=[], help="only these chart slugs ('' = the overview)"
    )
    args = parser.parse_args()

    folder = None
    if args.database_url:
        large_url = args.database_url
        small_url = args.small_database_url or small_store_url(large_url)
    else:
        folder = Path(tempfile.mkdtemp(prefix="dashboard-bench-analytics-"))
        large_url = f"sqlite:///{folder}/large.sqlite"
        small_url = args.small_database_url or f"sqlite:///{folder}/small.sqlite"
    if args.reseed:
        for url in (small_url, large_url):
            if make_url(url).get_backend_name() == "sqlite":
                Path(make_url(url).database or "").unlink(missing_ok=True)
    print(f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}", flush=True)
    stores = []
    for label, contacts, url in (
        ("small", args.small_contacts, small_url),
        ("large", args.contacts, large_url),
    ):
        print(f"== {label}: {make_url(url).render_as_string()}", flush=True)
        r = open_store(label, contacts, url, args)
        rollups = (
            f"rollups built in {r.backfill_s:.1f}s ({r.activities / r.backfill_s:,.0f} "
            "activities/s)"
            if r.backfill_s
            else "rollups reused"
        )
        print(
            f"== {label}: {r.contacts:,} contacts, {r.activities:,} activities, "
            + (f"seeded in {r.seed_s:.1f}s, " if r.seed_s else "store reused, ")
            + f"{rollups}, sample 1 in {r.sample_rate}, group of {r.group_members:,} contacts"
            + (f" (group rollups built in {r.groups_s:.1f}s)" if r.groups_s else ""),
            flush=True,
        )
        stores.append(r)
    pages = [p for p in PAGES if not args.pages or p.rsplit("/", 1)[-1] in args.pages]
    print(f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}; {machine_check()}")
    print(f"median of {args.runs} requests per page and store (after one warm-up):", flush=True)
    time_pages(stores, pages, args.runs)
    for store in stores:
        close_store(store)
    if folder is not None:
        shutil.rmtree(folder)  # a 1M-contact store is a few GB
    print(f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}; {machine_check()}")
    print_ratios(*stores, pages)


if __name__ == "__main__":
    main()
