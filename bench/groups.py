"""Benchmark of contact groups (R16, R17): preview, full recalculation, incremental refresh.

    python bench/groups.py --contacts 1000000 --days 90
    python bench/groups.py --database-url sqlite:////tmp/store.sqlite   # reuse a seeded store

Seeds a store with ``dashboard.demo_data.seed_demo`` (SQLite in a temporary folder unless
``--database-url`` names a store; an already seeded store is migrated and reused as it is) and
measures, for a 3-rule condition (email ends with ".com", page visit at least 3 times in the last
30 days, agreed with the tracking consent):

* preview: the member count and the sample the builder shows (the first call, and the median of
  ``--repeat`` calls);
* full recalculation, first (an empty group) and again (nothing changed);
* incremental refresh after a new page visit, queued by its own write transaction as the
  tracking API does:

  - of one contact alone (``--refreshes`` times: median and worst), with the time of its SQL
    statements and of its commit, and the floor of any write: a durable one-row transaction
    (SQLite's rollback journal with ``synchronous = FULL`` syncs the disk four times per commit,
    whatever the transaction wrote);
  - per contact when ``--refreshes`` contacts, each changed by its own transaction, are refreshed
    by one drain of the queue, as the refresher thread does every 2 seconds under traffic: one
    commit then serves them all.

Each figure is printed with its ratio to a plain ``SELECT count(*) FROM activity`` measured in
the same run (the median of samples taken between the measurements), because shared machines are
noisy: compare ratios between runs, not raw times.
Wall time and CPU time of this process are both shown; on a loaded machine wall time also counts
the waits for a CPU and for the disk.
"""

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import flask_migrate
from sqlalchemy import delete, event, func, select, text, update

from dashboard import create_app
from dashboard.database import write_intent
from dashboard.demo_data import seed_demo
from dashboard.domain import segments as s
from dashboard.extensions import db
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


class Baseline:
    """``SELECT count(*) FROM activity`` timed between the measurements; the median is the unit
    every figure is divided by, so load that comes and goes during the run weighs on both."""

    def __init__(self) -> None:
        self.samples: list[Timing] = []

    def sample(self) -> None:
        t, _ = timed(lambda: db.session.scalar(text("SELECT count(*) FROM activity")))
        db.session.rollback()
        self.samples.append(t)

    @property
    def wall(self) -> float:
        return statistics.median(t.wall for t in self.samples)

    @property
    def cpu(self) -> float:
        return statistics.median(t.cpu for t in self.samples)


class Clock:
    """Seconds an engine spends executing SQL statements and committing (a bench instrument)."""

    def __init__(self, engine) -> None:  # type: ignore[no-untyped-def]
        self.statements = 0.0
        self.commits = 0.0
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)
        commit = engine.dialect.do_commit

        def timed_commit(dbapi_connection) -> None:  # type: ignore[no-untyped-def]
            started = time.perf_counter()
            try:
                commit(dbapi_connection)
            finally:
                self.commits += time.perf_counter() - started

        engine.dialect.do_commit = timed_commit

    def reset(self) -> None:
        self.statements = self.commits = 0.0

    def _before(self, conn, *_args) -> None:  # type: ignore[no-untyped-def]
        conn.info["bench_started"] = time.perf_counter()

    def _after(self, conn, *_args) -> None:  # type: ignore[no-untyped-def]
        self.statements += time.perf_counter() - conn.info.pop("bench_started")


@dataclass
class Refresh:
    """One drain of the refresh queue: wall and CPU seconds, and where the wall time went."""

    contacts: int
    wall: float
    cpu: float
    statements: float
    commits: float


def _visit(contact_id: int, visit: int, channel: int | None) -> None:
    """A new page visit of the contact in its own durable transaction, queued for a refresh as
    the tracking API does."""
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


def _drain(clock: Clock, expected: int) -> Refresh:
    """Time one drain of the queue, as the refresher thread runs it."""
    clock.reset()
    t, refreshed = timed(drain_membership_refresh)
    assert refreshed == expected, (refreshed, expected)
    return Refresh(expected, t.wall, t.cpu, clock.statements, clock.commits)


def _durable_commit(group_id: int) -> float:
    """Wall seconds of a one-row write transaction that really changes the row: the floor of
    any refresh transaction. (Writing a value equal to the stored one changes no page, and
    SQLite then commits without touching the disk.)"""
    started = time.perf_counter()
    with write_intent():
        db.session.execute(
            update(ContactGroup).where(ContactGroup.id == group_id).values(updated_at=utcnow())
        )
        db.session.commit()
    return time.perf_counter() - started


def _line(label: str, wall: float, cpu: float | None, baseline: float, goal: float | None) -> str:
    """One row of the table: seconds (milliseconds below one), ratio to the baseline, verdict."""

    def shown(seconds: float) -> str:
        return f"{seconds:9.3f}s" if seconds >= 1 else f"{seconds * 1000:8.1f}ms"

    verdict = ""
    if goal is not None:
        limit = f"{goal:g}s" if goal >= 1 else f"{goal * 1000:g}ms"
        verdict = f"<= {limit} {'ok' if wall <= goal else 'MISSED'}"
    cpu_text = shown(cpu) if cpu is not None else ""
    return f"{label:44} {shown(wall):>10} {cpu_text:>10} {wall / baseline:10.2f}x  {verdict}"


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
        contacts = db.session.scalar(select(func.count()).select_from(Contact))
        activities = db.session.scalar(select(func.count()).select_from(Activity))
        db.session.rollback()
        condition = _condition()
        baseline = Baseline()
        baseline.sample()  # warms the cache; counted like the others

        previews = []
        for _ in range(max(args.repeat, 1)):
            baseline.sample()
            t, result = timed(lambda: preview(condition))
            db.session.rollback()
            previews.append(t)
        group_id = _fresh_group(condition)
        baseline.sample()
        t_first, first = timed(lambda: recalculate_group(group_id))
        baseline.sample()
        t_again, _ = timed(lambda: recalculate_group(group_id))
        baseline.sample()

        visit = db.session.scalar(
            select(ActivityType.id).where(ActivityType.code_name == "pagevisit")
        )
        channel = db.session.scalar(select(Channel.id).order_by(Channel.id).limit(1))
        step = max(contacts // (2 * args.refreshes), 1)
        sample = db.session.scalars(
            select(Contact.id).where(Contact.id % step == 0).limit(2 * args.refreshes)
        ).all()
        db.session.rollback()
        alone_ids, together_ids = sample[: args.refreshes], sample[args.refreshes :]
        clock = Clock(db.engine)
        alone = []
        for contact_id in alone_ids:
            _visit(contact_id, visit, channel)
            alone.append(_drain(clock, 1))
        for contact_id in together_ids:
            _visit(contact_id, visit, channel)
        together = _drain(clock, len(together_ids))
        floor = statistics.median(_durable_commit(group_id) for _ in alone_ids)
        baseline.sample()

        median = statistics.median
        preview_goal, refresh_goal = GOALS["preview"], GOALS["refresh"]
        rows: list[tuple[str, float, float | None, float | None]] = [
            ("preview (count + sample), first", previews[0].wall, previews[0].cpu, preview_goal),
            (
                f"preview, median of {len(previews)}",
                median(p.wall for p in previews),
                median(p.cpu for p in previews),
                preview_goal,
            ),
            ("recalculation, empty group", t_first.wall, t_first.cpu, GOALS["recalculation"]),
            ("recalculation, unchanged", t_again.wall, t_again.cpu, GOALS["recalculation"]),
            (
                f"refresh of one contact alone, median of {len(alone)}",
                median(r.wall for r in alone),
                median(r.cpu for r in alone),
                refresh_goal,
            ),
            ("refresh of one contact alone, worst", max(r.wall for r in alone), None, refresh_goal),
            ("  of which SQL statements (median)", median(r.statements for r in alone), None, None),
            ("  of which its commit (median)", median(r.commits for r in alone), None, None),
            ("  floor: a durable one-row write (median)", floor, None, None),
            (
                f"refresh per contact, {together.contacts} in one drain",
                together.wall / together.contacts,
                together.cpu / together.contacts,
                refresh_goal,
            ),
            (f"  the whole drain of {together.contacts}", together.wall, together.cpu, None),
        ]
        _log(f"\n{engine}: {contacts:,} contacts, {activities:,} activities")
        _log(
            f"baseline count(*) over activity: {baseline.wall * 1000:.0f} ms wall, "
            f"{baseline.cpu * 1000:.0f} ms CPU (median of {len(baseline.samples)} taken between "
            "the measurements)"
        )
        _log(f"members: {result.count:,} (preview) / {first.members:,} (recalculation)")  # type: ignore[attr-defined]
        _log(f"{'measure':44} {'wall':>10} {'cpu':>10} {'x count(*)':>11}  goal")
        for label, wall, cpu, goal in rows:
            _log(_line(label, wall, cpu, baseline.wall, goal))
        db.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--database-url", default="", help="Reuse (or seed) this store.")
    parser.add_argument(
        "--refreshes", type=int, default=20, help="Contacts refreshed alone, and in one drain."
    )
    parser.add_argument("--repeat", type=int, default=5, help="Previews measured (>= 1).")
    run(parser.parse_args())


if __name__ == "__main__":
    main()
