"""Benchmark of the contact pages on a small and a large seeded store (SQLite).

    python bench/contacts.py [--contacts 1000000] [--baseline 10000] [--days 90] [--runs 7]
                             [--keep FOLDER | --reuse FOLDER]

Seeds a baseline store and a large one with ``dashboard.demo_data.seed_demo`` (each in its own
SQLite file), then times, through the Flask test client logged in as a marketer, the median of
``--runs`` requests (after one warm-up) of:

* the first list page (default sort: latest activity first);
* a deep keyset page (the page after the contact halfway down the list);
* an email search (the start of an email up to its ``@``);
* a name search (the first four letters of a last name);
* a filtered count (the most common country, with "count matching contacts");
* a profile page (details, first timeline page, groups and consents).

Then it streams the CSV export of the whole large store and records its peak memory growth
(the process's resident set size, sampled per chunk, and Python's tracemalloc peak).

Goal: every median <= 100 ms on the large store and <= 3x its baseline median; export growth
< 100 MB. The ratios large/baseline are printed last. ``--keep FOLDER`` keeps the seeded stores
there and ``--reuse FOLDER`` times stores kept by an earlier run (seeding 1M contacts takes
minutes).
"""

import argparse
import secrets
import shutil
import statistics
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import flask_migrate
from flask import Flask
from sqlalchemy import func, select

from dashboard import create_app
from dashboard.contacts.keyset import encode_cursor
from dashboard.database import write_intent
from dashboard.demo_data import seed_demo
from dashboard.extensions import db
from dashboard.models import Activity, Contact, Role, User

GOAL_MS = 100
GOAL_RATIO = 3.0
GOAL_EXPORT_MB = 100


@dataclass(frozen=True)
class Probe:
    """One timed request."""

    name: str
    url: str
    expect: str  # text the page must contain, so a broken page cannot look fast


def _app(folder: Path) -> Flask:
    folder.mkdir(parents=True, exist_ok=True)
    return create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "bench",
            "DATABASE_URL": f"sqlite:///{folder / 'dashboard.sqlite'}",
        },
        instance_path=str(folder),
    )


def seed(folder: Path, contacts: int, days: int) -> None:
    """Migrate and seed a fresh store in ``folder``."""
    app = _app(folder)
    with app.app_context():
        with write_intent():
            flask_migrate.upgrade()
        started = time.perf_counter()
        counts = seed_demo(contacts=contacts, days=days, seed=42)
        print(
            f"  seeded {counts['contacts']:,} contacts, {counts['activities']:,} activities "
            f"in {time.perf_counter() - started:.0f}s",
            flush=True,
        )
        db.engine.dispose()


def _rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * 4096


def _probes(app: Flask) -> tuple[list[Probe], str]:
    """Pick the inputs from the store; return the probes and the marketer's session id."""
    with app.app_context():
        marketer = db.session.scalar(select(User).where(User.email == "bench@example.com"))
        if marketer is None:
            # No usable password: the bench logs in by putting the session id in the cookie.
            unusable = secrets.token_hex(16)
            marketer = User(email="bench@example.com", role=Role.MARKETER, password_hash=unusable)
            db.session.add(marketer)
            with write_intent():
                db.session.commit()
        total = db.session.scalar(select(func.count(Contact.id)))
        halfway = db.session.execute(
            select(Contact.last_activity_at, Contact.id)
            .where(Contact.last_activity_at.is_not(None))
            .order_by(Contact.last_activity_at.desc(), Contact.id.desc())
            .offset(total // 2)
            .limit(1)
        ).one()
        middle = db.session.get(
            Contact,
            db.session.scalar(
                select(Contact.id)
                .where(Contact.email.is_not(None), Contact.last_name.is_not(None))
                .where(Contact.id >= total // 2)
                .order_by(Contact.id)
                .limit(1)
            ),
        )
        busiest = db.session.execute(
            select(Contact.country, func.count())
            .where(Contact.country.is_not(None))
            .group_by(Contact.country)
            .order_by(func.count().desc())
            .limit(1)
        ).one()
        profile = db.session.scalar(
            select(Activity.contact_id).where(Activity.contact_id >= total // 3).limit(1)
        )
        session_id = marketer.get_id()
        email_prefix = middle.email.split("@")[0] + "@"
        name_prefix = middle.last_name[:4]
    probes = [
        Probe("first list page", "/contacts/", "Next page"),
        Probe(
            "deep keyset page",
            f"/contacts/?after={encode_cursor(*halfway)}",
            "Next page",
        ),
        Probe("email search", f"/contacts/?q={email_prefix}", middle.email),
        Probe("name search", f"/contacts/?q={name_prefix}", "contact-table"),
        Probe(
            "filtered count",
            f"/contacts/?country={busiest[0]}&count=y",
            f"<strong>{busiest[1]:,}</strong> contacts match",
        ),
        Probe("profile page", f"/contacts/{profile}", "Activity timeline"),
    ]
    return probes, session_id


def _client(app: Flask, session_id: str):  # type: ignore[no-untyped-def]
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = session_id
        session["_fresh"] = True
    return client


def time_pages(app: Flask, runs: int) -> dict[str, float]:
    """Median milliseconds of each probe."""
    probes, session_id = _probes(app)
    client = _client(app, session_id)
    medians = {}
    for probe in probes:
        samples = []
        for attempt in range(runs + 1):
            started = time.perf_counter()
            response = client.get(probe.url)
            elapsed = (time.perf_counter() - started) * 1000
            if response.status_code != 200 or probe.expect not in response.text:
                raise SystemExit(f"{probe.name}: {response.status_code} {probe.url}")
            if attempt:  # the first run warms the caches
                samples.append(elapsed)
        medians[probe.name] = statistics.median(samples)
        print(f"  {probe.name:<18} {medians[probe.name]:8.1f} ms  ({probe.url})", flush=True)
    return medians


def measure_export(app: Flask) -> tuple[float, float, int, float]:
    """Stream the whole export; return RSS growth (MB), tracemalloc peak (MB), rows, seconds."""
    _, session_id = _probes(app)
    client = _client(app, session_id)
    tracemalloc.start()
    before = _rss_bytes()
    peak = before
    rows = 0
    started = time.perf_counter()
    response = client.get("/contacts/export.csv", buffered=False)
    for chunk in response.response:
        rows += chunk.count(b"\n") if isinstance(chunk, bytes) else chunk.count("\n")
        peak = max(peak, _rss_bytes())
    response.close()
    elapsed = time.perf_counter() - started
    traced_peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return (peak - before) / 1e6, traced_peak / 1e6, rows - 1, elapsed


def main() -> None:
    """Seed (or reuse) both stores, time them, print the ratios last."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--baseline", type=int, default=10_000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--runs", type=int, default=7)
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--keep", type=Path, help="seed into this folder and keep the stores")
    where.add_argument("--reuse", type=Path, help="time the stores an earlier --keep left here")
    args = parser.parse_args()

    root = args.reuse or args.keep or Path(tempfile.mkdtemp(prefix="dashboard-bench-contacts-"))
    stores = {"baseline": args.baseline, "large": args.contacts}
    if not args.reuse:
        for label, contacts in stores.items():
            print(
                f"seeding {label} ({contacts:,} contacts, {args.days} days) in {root}", flush=True
            )
            seed(root / label, contacts, args.days)

    results: dict[str, dict[str, float]] = {}
    apps = {label: _app(root / label) for label in stores}
    for label, app in apps.items():
        print(f"{label}: median of {args.runs} requests", flush=True)
        results[label] = time_pages(app, args.runs)

    growth, traced, rows, seconds = measure_export(apps["large"])
    print(
        f"export of the large store: {rows:,} rows in {seconds:.1f}s "
        f"({rows / seconds:,.0f} rows/s); peak RSS growth {growth:.1f} MB, "
        f"tracemalloc peak {traced:.1f} MB (goal < {GOAL_EXPORT_MB} MB)",
        flush=True,
    )
    for app in apps.values():
        with app.app_context():
            db.engine.dispose()
    if not (args.keep or args.reuse):
        shutil.rmtree(root)  # a 1M-contact store is a few GB

    verdict: Callable[[bool], str] = lambda ok: "ok" if ok else "MISSED"  # noqa: E731
    print(f"ratios large/baseline (goal: large <= {GOAL_MS} ms and ratio <= {GOAL_RATIO:g}):")
    for name, large in results["large"].items():
        ratio = large / results["baseline"][name]
        ok = large <= GOAL_MS and ratio <= GOAL_RATIO
        print(
            f"  {name:<18} {ratio:5.2f}  ({large:.1f} / {results['baseline'][name]:.1f} ms) "
            f"{verdict(ok)}"
        )


if __name__ == "__main__":
    main()
