"""Benchmark of the SQLite backup (``flask --app dashboard backup``) under a steady writer.

    python bench/backup.py --database instance/dashboard.sqlite [--seconds 3]

Works on a *copy* of ``--database`` in a temporary folder (the named file is only read). A
writer thread commits one small row at a time into a table of its own (``BEGIN IMMEDIATE``,
busy timeout 15 s, like the app's writers). It runs alone for ``--seconds`` (the baseline), then
while ``dashboard.backup.backup_sqlite`` copies the database, then alone again.

Prints: the database size, the backup's time and MB/s, how long it held the source snapshot
and the row counts of that snapshot; the writer's commits per second and its longest commit in
the baseline and during the backup, and the ratio of the two longest commits. In
rollback-journal mode the backup's read lock holds commits back while the pages are copied, so
the longest wait is about the time the snapshot is held, which grows with the database size;
the copy's verification runs after the lock is released. A writer waiting longer than its busy
timeout fails (the tracking API then answers 503 with Retry-After, and clients retry).
"""

import argparse
import shutil
import sqlite3
import tempfile
import threading
import time
from pathlib import Path

from dashboard.backup import backup_sqlite


class Writer(threading.Thread):
    """Commits tiny transactions until stopped; records each commit's duration per phase."""

    def __init__(self, database: Path) -> None:
        super().__init__(daemon=True)
        self.database = database
        self.phase = "baseline"
        self.waits: dict[str, list[float]] = {}
        self.errors: list[str] = []
        self.stop = threading.Event()

    def run(self) -> None:
        conn = sqlite3.connect(self.database, isolation_level=None, timeout=15)
        conn.execute("CREATE TABLE IF NOT EXISTS bench_backup_write (id INTEGER PRIMARY KEY)")
        while not self.stop.is_set():
            phase, started = self.phase, time.perf_counter()
            try:
                conn.execute("BEGIN IMMEDIATE")
                conn.execute("INSERT INTO bench_backup_write DEFAULT VALUES")
                conn.execute("COMMIT")
            except sqlite3.OperationalError as exc:
                self.errors.append(str(exc))
                conn.execute("ROLLBACK") if conn.in_transaction else None
            self.waits.setdefault(phase, []).append(time.perf_counter() - started)
            time.sleep(0.005)
        conn.close()


def _summary(waits: list[float], seconds: float) -> str:
    return f"{len(waits) / seconds:,.0f} commits/s, longest commit {max(waits) * 1000:,.0f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", type=Path, required=True)
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder) / "live.sqlite"
        shutil.copyfile(args.database, work)
        size = work.stat().st_size / 1e6
        writer = Writer(work)
        writer.start()
        time.sleep(args.seconds)
        writer.phase = "backup"
        done = backup_sqlite(work, Path(folder) / "copy.sqlite", 15.0)
        writer.phase = "after"
        time.sleep(args.seconds / 3)
        writer.stop.set()
        writer.join()
    base, during = writer.waits["baseline"], writer.waits.get("backup", [0.0])
    print(f"database: {size:,.0f} MB ({args.database})")
    print(
        f"backup: {done.seconds:.2f}s in all, {size / done.seconds:,.0f} MB/s; source snapshot "
        f"held {done.snapshot_seconds:.2f}s (the copy is verified after it is released); "
        + ", ".join(f"{n:,} {name}" for name, n in done.counts.items())
    )
    print(f"writer alone:       {_summary(base, args.seconds)}")
    print(f"writer during backup: {len(during)} commits, longest {max(during) * 1000:,.0f} ms")
    print(f"writer errors: {len(writer.errors)} {sorted(set(writer.errors))}")
    print(f"ratio longest commit during backup / alone: {max(during) / max(base):,.1f}")


if __name__ == "__main__":
    main()
