"""Benchmark of the analytics pages on a small and a large store, in one run.

    python bench/analytics.py --contacts 100000 [--days 90] [--database-url URL] [--runs 7]

For each store (``--small-contacts``, default 1,000 contacts = about 10k activities, then
``--contacts``) it seeds a fresh database with ``dashboard.demo_data.seed_demo``, builds the
rollups (``backfill_rollups``, timed), creates a contact group (identified contacts in Germany,
about 5% of all) and times every chart page through the Flask test client: with its default
filters and with the group filter. Each figure is the median of ``--runs`` requests after one
warm-up request. The last lines are the ratios large / small; the goals are at most 150 ms per
page without the group filter, at most 1 s with it, and at most 2x the small store's time.

With ``--database-url`` (PostgreSQL) the database's ``public`` schema is dropped and recreated
before each store: use a database of your own.
"""

import argparse
import statistics
import tempfile
import time
from dataclasses import dataclass, field

import flask_migrate
from sqlalchemy import func, select, text

from dashboard import create_app
from dashboard.analytics.rollups import backfill_rollups, sample_rate
from dashboard.analytics.services import CHARTS
from dashboard.database import write_intent
from dashboard.demo_data import seed_demo
from dashboard.extensions import db
from dashboard.models import Activity, Contact, ContactGroup, Role, User

PAGES = ("/", *(f"/analytics/{slug}" for slug in CHARTS))
GOAL_MS, GROUP_GOAL_MS, RATIO_GOAL = 150.0, 1000.0, 2.0


@dataclass
class StoreResult:
    """Timings of one store."""

    label: str
    contacts: int
    activities: int
    group_members: int
    sample_rate: int
    seed_s: float
    backfill_s: float
    plain_ms: dict[str, float] = field(default_factory=dict)
    group_ms: dict[str, float] = field(default_factory=dict)


def _median_ms(client, path: str, runs: int, query: dict | None = None) -> float:
    response = client.get(path, query_string=query)
    assert response.status_code == 200, (path, response.status_code)
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        response = client.get(path, query_string=query)
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200
    return statistics.median(times)


def _make_group() -> tuple[int, int]:
    with write_intent():
        group = ContactGroup(code_name="bench-de-identified", display_name="Identified in DE")
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
    members = db.session.scalar(
        text("SELECT count(*) FROM contact_group_member WHERE group_id = :g"), {"g": group.id}
    )
    return group.id, members


def run_store(label: str, contacts: int, args: argparse.Namespace) -> StoreResult:
    """Seed, roll up and time one store."""
    folder = tempfile.mkdtemp(prefix=f"dashboard-bench-analytics-{label}-")
    url = args.database_url or f"sqlite:///{folder}/bench.sqlite"
    app = create_app(
        {"TESTING": True, "SECRET_KEY": "bench", "DATABASE_URL": url}, instance_path=folder
    )
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            with db.engine.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        with write_intent():
            flask_migrate.upgrade()
        started = time.perf_counter()
        seed_demo(contacts=contacts, days=args.days, seed=args.seed)
        seed_s = time.perf_counter() - started
        started = time.perf_counter()
        backfill_rollups()
        backfill_s = time.perf_counter() - started
        group_id, members = _make_group()
        if db.engine.dialect.name == "postgresql":
            with db.engine.connect() as conn:
                conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE"))
        else:
            db.session.execute(text("ANALYZE"))
            db.session.commit()
        result = StoreResult(
            label,
            db.session.scalar(select(func.count()).select_from(Contact)) or 0,
            db.session.scalar(select(func.count()).select_from(Activity)) or 0,
            members,
            sample_rate(),
            seed_s,
            backfill_s,
        )
        with write_intent():
            user = User(
                email=f"bench-{label}@example.com",
                role=Role.ANALYST,
                password_hash="x",  # noqa: S106 - never used to log in
            )
            db.session.add(user)
            db.session.commit()
        client = app.test_client()
        with client.session_transaction() as session:
            session["_user_id"] = user.get_id()
            session["_fresh"] = True
        db.session.remove()
        for path in PAGES:
            result.plain_ms[path] = _median_ms(client, path, args.runs)
            if path != "/":
                result.group_ms[path] = _median_ms(client, path, args.runs, {"group": group_id})
            print(
                f"  {label:>5} {path:<22} {result.plain_ms[path]:8.1f} ms"
                + (f"  group {result.group_ms[path]:8.1f} ms" if path in result.group_ms else ""),
                flush=True,
            )
        if db.engine.dialect.name == "postgresql":
            db.session.remove()
            db.engine.dispose()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--small-contacts", type=int, default=1_000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()

    results = []
    for label, contacts in (("small", args.small_contacts), ("large", args.contacts)):
        print(f"== {label}: seeding {contacts:,} contacts over {args.days} days", flush=True)
        r = run_store(label, contacts, args)
        print(
            f"== {label}: {r.contacts:,} contacts, {r.activities:,} activities, seeded in "
            f"{r.seed_s:.1f}s, rollups built in {r.backfill_s:.1f}s "
            f"({r.activities / r.backfill_s:,.0f} activities/s), sample 1 in {r.sample_rate}, "
            f"group of {r.group_members:,} contacts",
            flush=True,
        )
        results.append(r)
    small, large = results
    print("\npage                     small ms  large ms   ratio | group small  group large  ratio")
    failures = []
    for path in PAGES:
        ratio = large.plain_ms[path] / small.plain_ms[path]
        line = f"{path:<22} {small.plain_ms[path]:9.1f} {large.plain_ms[path]:9.1f} {ratio:7.2f}"
        if large.plain_ms[path] > GOAL_MS or ratio > RATIO_GOAL:
            failures.append(f"{path} without group: {large.plain_ms[path]:.0f} ms, x{ratio:.2f}")
        if path in large.group_ms:
            group_ratio = large.group_ms[path] / small.group_ms[path]
            line += (
                f" | {small.group_ms[path]:11.1f} {large.group_ms[path]:12.1f} {group_ratio:6.2f}"
            )
            if large.group_ms[path] > GROUP_GOAL_MS:
                failures.append(f"{path} with group: {large.group_ms[path]:.0f} ms")
        print(line)
    print("\nratios large/small (default filters):")
    for path in PAGES:
        print(f"  {path:<22} x{large.plain_ms[path] / small.plain_ms[path]:.2f}")
    print("goals missed: " + ("; ".join(failures) if failures else "none"))


if __name__ == "__main__":
    main()
