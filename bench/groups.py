"""Benchmark of contact groups (R16, R17): preview, full recalculation, incremental refresh.

    python bench/groups.py --contacts 1000000 --days 90
    python bench/groups.py --database-url sqlite:////tmp/store.sqlite   # reuse a seeded store

Seeds a store with ``dashboard.demo_data.seed_demo`` (SQLite in a temporary folder unless
``--database-url`` names a store; an already seeded store is reused as it is) and measures, for a
3-rule condition (email ends with ".com", page visit at least 3 times in the last 30 days, agreed
with the tracking consent):

* preview: the member count (and the sample the builder shows);
* full recalculation, first (an empty group) and again (nothing changed);
* incremental refresh of one contact after a new activity (median and worst of several), with
  the time of its SQL statements and of an empty durable commit, the floor every write pays
  (SQLite's rollback journal with ``synchronous = FULL`` syncs the disk several times).

Each figure is printed with its ratio to a plain ``SELECT count(*) FROM activity`` measured in
the same run, because shared machines are noisy: compare ratios between runs, not raw times.
Wall time and CPU time of this process are both shown. ``--index`` first creates the extra index
named in the output, to measure with it.
"""

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import flask_migrate
from sqlalchemy import Index, delete, event, func, select, text, update

from dashboard import create_app
from dashboard.database import write_intent
from dashboard.demo_data import seed_demo
from dashboard.domain import segments as s
from dashboard.extensions import db
from dashboard.groups.compiler import ACTIVITY_OF_TYPE_BY_CONTACT
from dashboard.groups.freshness import queue_membership_refresh
from dashboard.groups.membership import recalculate_group
from dashboard.groups.refresher import drain_membership_refresh
from dashboard.groups.services import load_catalogue, preview
from dashboard.models import (
    Activity,
    ActivityType,
    Channel,
    Consent,
    Contact,
    ContactGroup,
    ContactGroupMember,
    GroupStatus,
    utcnow,
)

GOALS = {"preview": 1.0, "recalculation": 5.0, "refresh": 0.020}
BENCH_GROUP = "bench-3-rules"
# The index --index adds (and declares on the model, as a migration would): rules that name an
# activity type then read only the index, never the table.
EXTRA_INDEX = ACTIVITY_OF_TYPE_BY_CONTACT
EXTRA_COLUMNS = ("contact_id", "type_id", "created_at")


@dataclass
class Timing:
    """Wall and CPU seconds of one measurement."""

    wall: float
    cpu: float


def timed(action: Callable[[], object]) -> tuple[Timing, object]:
    """Run ``action`` once and return its timing and result."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = action()
    return Timing(time.perf_counter() - wall, time.process_time() - cpu), result


def _log(message: str) -> None:
    print(message, flush=True)


def _ensure_store(contacts: int, days: int, seed: int) -> None:
    with write_intent():
        flask_migrate.upgrade()
    existing = db.session.scalar(select(func.count()).select_from(Contact))
    db.session.rollback()
    if existing:
        _log(f"Reusing the seeded store: {existing:,} contacts.")
        return
    _log(f"Seeding {contacts:,} contacts over {days} days (this takes a while) ...")
    t, counts = timed(lambda: seed_demo(contacts=contacts, days=days, seed=seed))
    _log(f"Seeded {counts} in {t.wall:.0f}s.")


def _condition() -> s.Condition:
    ids = {
        "visit": db.session.scalar(
            select(ActivityType.id).where(ActivityType.code_name == "pagevisit")
        ),
        "consent": db.session.scalar(
            select(Consent.id).where(Consent.code_name == "tracking-consent")
        ),
    }
    raw = {
        "op": "all",
        "groups": [
            {
                "op": "all",
                "rules": [
                    {
                        "type": "contact_field",
                        "params": {"field": "email", "operator": "ends_with", "value": ".com"},
                    },
                    {
                        "type": "activity_count",
                        "params": {"type_id": ids["visit"], "times": 3, "days": 30},
                    },
                    {"type": "consent_agreed", "params": {"consent_id": ids["consent"]}},
                ],
            }
        ],
    }
    checked = s.validate_condition(raw, load_catalogue())
    assert checked.condition is not None, checked.errors
    return checked.condition


def _fresh_group(condition: s.Condition) -> int:
    with write_intent():
        old = db.session.scalar(
            select(ContactGroup.id).where(ContactGroup.code_name == BENCH_GROUP)
        )
        if old is not None:
            db.session.execute(delete(ContactGroupMember).where(ContactGroupMember.group_id == old))
            db.session.execute(delete(ContactGroup).where(ContactGroup.id == old))
        group = ContactGroup(
            code_name=BENCH_GROUP,
            display_name="Bench: .com, 3 visits in 30 days, agreed",
            condition=condition.to_json(),
            status=GroupStatus.CONDITION_CHANGED,
        )
        db.session.add(group)
        db.session.commit()
        return group.id


def _count_activities() -> Timing:
    best: Timing | None = None
    for _ in range(3):
        t, _ = timed(lambda: db.session.scalar(text("SELECT count(*) FROM activity")))
        db.session.rollback()
        best = t if best is None or t.wall < best.wall else best
    assert best is not None
    return best


class StatementClock:
    """Seconds spent executing SQL statements (commits excluded) on an engine."""

    def __init__(self, engine) -> None:  # type: ignore[no-untyped-def]
        self.seconds = 0.0
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)

    def _before(self, conn, *_args) -> None:  # type: ignore[no-untyped-def]
        conn.info["bench_started"] = time.perf_counter()

    def _after(self, conn, *_args) -> None:  # type: ignore[no-untyped-def]
        self.seconds += time.perf_counter() - conn.info.pop("bench_started")


def _refresh_one(contact_id: int, visit: int, channel: int | None, clock: StatementClock):
    """A new page visit of the contact, queued as the tracking API does; time the refresh.

    Returns (wall seconds, CPU seconds, seconds of SQL statements without the commit).
    """
    with write_intent():
        db.session.add(
            Activity(
                contact_id=contact_id,
                type_id=visit,
                channel_id=channel,
                url="http://localhost:5000/demo/pricing",
                created_at=utcnow(),
            )
        )
        queue_membership_refresh([contact_id])
        db.session.commit()
    clock.seconds = 0.0
    t, refreshed = timed(drain_membership_refresh)
    assert refreshed == 1
    return t.wall, t.cpu, clock.seconds


def _empty_commit(group_id: int) -> float:
    """Wall seconds of a durable one-row write transaction: the floor of any refresh."""
    started = time.perf_counter()
    with write_intent():
        db.session.execute(
            update(ContactGroup)
            .where(ContactGroup.id == group_id)
            .values(updated_at=ContactGroup.updated_at)
        )
        db.session.commit()
    return time.perf_counter() - started


def run(args: argparse.Namespace) -> None:
    """Seed (or reuse) the store and print the measurements."""
    folder = tempfile.mkdtemp(prefix="dashboard-bench-groups-")
    url = args.database_url or "sqlite:///" + str(Path(folder) / "store.sqlite")
    app = create_app(
        {"TESTING": True, "SECRET_KEY": "bench", "DATABASE_URL": url}, instance_path=folder
    )
    with app.app_context():
        _ensure_store(args.contacts, args.days, args.seed)
        engine = db.engine.dialect.name
        if args.index:
            index = Index(EXTRA_INDEX, *(getattr(Activity, c) for c in EXTRA_COLUMNS))
            with write_intent():
                t, _ = timed(lambda: index.create(db.session.connection(), checkfirst=True))
                db.session.commit()
            _log(f"Index {EXTRA_INDEX} {EXTRA_COLUMNS} ready in {t.wall:.1f}s.")
        contacts = db.session.scalar(select(func.count()).select_from(Contact))
        activities = db.session.scalar(select(func.count()).select_from(Activity))
        db.session.rollback()
        condition = _condition()
        baseline = _count_activities()
        _log(f"\n{engine}: {contacts:,} contacts, {activities:,} activities")
        _log(f"baseline count(*) over activity: {baseline.wall * 1000:.0f} ms wall")

        t_preview, result = timed(lambda: preview(condition))
        db.session.rollback()
        t_preview_again, _ = timed(lambda: preview(condition))
        db.session.rollback()
        group_id = _fresh_group(condition)
        t_first, first = timed(lambda: recalculate_group(group_id))
        t_again, _ = timed(lambda: recalculate_group(group_id))

        visit = db.session.scalar(
            select(ActivityType.id).where(ActivityType.code_name == "pagevisit")
        )
        channel = db.session.scalar(select(Channel.id).order_by(Channel.id).limit(1))
        step = max(contacts // args.refreshes, 1)
        sample = db.session.scalars(
            select(Contact.id).where(Contact.id % step == 0).limit(args.refreshes)
        ).all()
        db.session.rollback()
        clock = StatementClock(db.engine)
        refreshes = [_refresh_one(cid, visit, channel, clock) for cid in sample]
        commit = statistics.median(_empty_commit(group_id) for _ in sample)
        median = statistics.median(wall for wall, _, _ in refreshes)
        worst = max(wall for wall, _, _ in refreshes)
        cpu = statistics.median(cpu for _, cpu, _ in refreshes)
        sql = statistics.median(sql for _, _, sql in refreshes)

        rows = [
            ("preview (count + sample)", t_preview, GOALS["preview"]),
            ("preview, warm", t_preview_again, GOALS["preview"]),
            ("recalculation, empty group", t_first, GOALS["recalculation"]),
            ("recalculation, unchanged", t_again, GOALS["recalculation"]),
        ]
        _log(f"members: {result.count:,} (preview) / {first.members:,} (recalculation)")  # type: ignore[attr-defined]
        _log(f"{'measure':34} {'wall':>10} {'cpu':>10} {'x count(*)':>11}  goal")
        for label, t, goal in rows:
            verdict = "ok" if t.wall <= goal else "MISSED"
            _log(
                f"{label:34} {t.wall:9.3f}s {t.cpu:9.3f}s {t.wall / baseline.wall:10.1f}x  "
                f"<= {goal:g}s {verdict}"
            )
        for label, value in (
            ("refresh of one contact, median", median),
            ("refresh of one contact, worst", worst),
            ("  CPU time of this process", cpu),
            ("  SQL statements (no commit)", sql),
            ("  a durable empty commit", commit),
        ):
            verdict = "ok" if value <= GOALS["refresh"] else "MISSED"
            _log(
                f"{label:34} {value * 1000:8.1f}ms {'':>10} {value / baseline.wall:10.2f}x  "
                f"<= {GOALS['refresh'] * 1000:g}ms {verdict}"
            )
        db.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--database-url", default="", help="Reuse (or seed) this store.")
    parser.add_argument("--refreshes", type=int, default=20, help="Single-contact refreshes.")
    parser.add_argument("--index", action="store_true", help=f"Create and use {EXTRA_INDEX}.")
    run(parser.parse_args())


if __name__ == "__main__":
    main()
