"""Tracking API throughput under its production server, against a bare Flask endpoint.

Runs, in one process tree on loopback:
  * the app under gunicorn (WORKERS gthread workers) over a fresh database (SQLite by default, or
    --database-url for an empty PostgreSQL database), one website channel at level All;
  * a bare Flask app under the same gunicorn settings whose endpoint parses the same JSON and
    answers the same status (the baseline: HTTP + WSGI + JSON cost without any tracking);
and drives each with the same load generator (CLIENTS processes, new connection per request as
a browser beacon would). Prints requests/s, events/s and p50/p99 latency, checks that every
accepted event is stored exactly once, and prints the ratios last:
  single-event throughput / bare throughput      (goal >= 0.8)
  10-event events/s / single-event events/s      (goal >= 5)
Each line also gives the CPU time per request of the app workers (with SQLite this includes the
database engine) and, for PostgreSQL on this machine, of its backends: unlike throughput, CPU per
request hardly depends on what else the machine is doing, so it gives capacity per core.

    python bench/tracking.py [--seconds 10] [--workers 4] [--clients 8] [--database-url URL]
                             [--ceiling]

--ceiling adds two diagnostic runs of the app itself, to show what the goal can reach on this
machine: "no storage" answers every request with a fixed result without touching the database
(the app's web layer: gunicorn, Flask, its hooks and headers, parsing and validating the body,
CORS), and "empty commit" also hands each request to the group-commit writer, which takes the
write lock and commits an empty transaction (the durable 200 without any rows).
"""

import argparse
import json
import multiprocessing as mp
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.live_server import children, cpu_seconds, free_port  # noqa: E402

UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0"
ORIGIN = "http://localhost:5000"

BARE_APP = """
import json
from flask import Flask, request, jsonify
app = Flask(__name__)

@app.post("/t/v1/collect")
def collect():
    data = json.loads(request.get_data())
    results = [{"id": e.get("id"), "status": "accepted"} for e in data.get("events", [])]
    return jsonify(tracked=True, cookie_level=1000, contact=None, clear=[], results=results)
"""

# The app with recording replaced by a fixed answer (``--ceiling``): STUB=nodb answers in the
# request thread, STUB=commit goes through the group-commit writer's shared, empty transaction.
CEILING_APP = """
import os
import uuid

from dashboard import create_app
from dashboard.tracking import views


def answer(submission):
    results = [{"id": str(e.id), "status": "accepted"} for e in submission.parsed]
    body = {"tracked": True, "cookie_level": 1000, "contact": str(uuid.uuid4()), "clear": []}
    return {**body, "results": results}, True


views.record_one = answer
views.record_together = lambda submissions: [answer(s) for s in submissions]
if os.environ["STUB"] == "nodb":
    views.run_write = lambda unit, together=None, item=None: unit()
app = create_app()
"""


_CEILING_NAMES = {"nodb": "no storage", "commit": "empty commit"}


def _start(args: list[str], env: dict, cwd: Path, port: int) -> subprocess.Popen:
    proc = subprocess.Popen(
        args,
        cwd=cwd,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1)
        except urllib.error.HTTPError:
            return proc  # 404 means it is up
        except OSError:
            time.sleep(0.2)
            continue
        return proc
    proc.kill()
    raise RuntimeError("server did not start")


def _body(events: int) -> bytes:
    batch = [
        {
            "id": str(uuid.uuid4()),
            "type": "pagevisit",
            "url": "http://localhost:5000/demo/pricing",
            "title": "Pricing",
        }
        for _ in range(events)
    ]
    return json.dumps(
        {"channel": "bench-site", "contact": None, "cookie_level": None, "events": batch}
    ).encode()


def _client(url: str, events: int, seconds: float, out: mp.Queue) -> None:
    latencies, accepted, errors = [], [], 0
    stop = time.monotonic() + seconds
    while time.monotonic() < stop:
        request = urllib.request.Request(
            url,
            data=_body(events),
            method="POST",
            headers={
                "Content-Type": "text/plain",
                "Origin": ORIGIN,
                "User-Agent": UA,
            },
        )
        started = time.perf_counter()
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                payload = json.loads(response.read())
        except OSError:
            errors += 1
            continue
        latencies.append(time.perf_counter() - started)
        accepted.extend(r["id"] for r in payload["results"] if r["status"] == "accepted")
    out.put((latencies, accepted, errors))


def _load(
    url: str, events: int, seconds: float, clients: int, cpu: Callable[[], dict[str, float]]
) -> dict:
    """Drive ``url``; ``cpu()`` gives CPU seconds used so far per process group, read before
    and after, so the CPU cost of a request can be reported independently of machine load."""
    out: mp.Queue = mp.Queue()
    cpu_before = cpu()
    procs = [mp.Process(target=_client, args=(url, events, seconds, out)) for _ in range(clients)]
    for p in procs:
        p.start()
    results = [out.get() for _ in procs]
    for p in procs:
        p.join()
    cpu_after = cpu()
    latencies = sorted(x for r in results for x in r[0])
    accepted = [x for r in results for x in r[1]]
    requests = len(latencies)
    return {
        "requests_per_s": requests / seconds,
        "events_per_s": requests * events / seconds,
        "p50_ms": 1000 * statistics.median(latencies) if latencies else float("nan"),
        "p99_ms": 1000 * latencies[int(0.99 * (len(latencies) - 1))] if latencies else float("nan"),
        "errors": sum(r[2] for r in results),
        "accepted": accepted,
        "cpu_ms": {
            k: 1000 * (cpu_after[k] - cpu_before.get(k, 0.0)) / max(requests, 1) for k in cpu_after
        },
    }


def _prepare_database(url: str, instance: str) -> None:
    from flask_migrate import upgrade

    from dashboard import create_app
    from dashboard.database import write_intent
    from dashboard.extensions import db
    from dashboard.models import Channel, ChannelOrigin, ChannelType

    app = create_app(
        {"SECRET_KEY": "bench", "DATABASE_URL": url, "TESTING": True}, instance_path=instance
    )
    with app.app_context(), write_intent():
        upgrade()
        channel = Channel(
            code_name="bench-site",
            display_name="Bench",
            type=ChannelType.WEBSITE,
            default_cookie_level=1000,
        )
        channel.origins = [ChannelOrigin(origin=ORIGIN)]
        db.session.add(channel)
        db.session.commit()
        db.engine.dispose()


def _database_pids(url: str, instance: str) -> Callable[[], set[int]]:
    """PostgreSQL on this machine: a function listing the backends serving the database (their
    CPU is the database's share of a request). SQLite runs inside the app workers: none."""
    if not url.startswith("postgres"):
        return set
    from sqlalchemy import create_engine, text

    from dashboard.database import database_uri

    engine = create_engine(database_uri(url, instance))
    seen: set[int] = set()

    def pids() -> set[int]:
        with engine.connect() as conn:
            seen.update(
                conn.scalars(
                    text(
                        "SELECT pid FROM pg_stat_activity"
                        " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                    )
                )
            )
        return set(seen)  # backends gone by now count 0 (cpu_seconds skips them)

    return pids


def _stored(url: str, instance: str, ids: list[str]) -> tuple[int, int]:
    from sqlalchemy import func, select

    from dashboard import create_app
    from dashboard.extensions import db
    from dashboard.models import Activity

    app = create_app(
        {"SECRET_KEY": "bench", "DATABASE_URL": url, "TESTING": True}, instance_path=instance
    )
    with app.app_context():
        total = db.session.scalar(select(func.count()).select_from(Activity))
        distinct = db.session.scalar(select(func.count(func.distinct(Activity.event_id))))
        db.engine.dispose()
    return total, distinct


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument(
        "--threads", type=int, default=8, help="gunicorn gthread threads per worker"
    )
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--database-url", default="")
    parser.add_argument(
        "--ceiling", action="store_true", help="also run the app with its storage stubbed out"
    )
    args = parser.parse_args()

    tmp = tempfile.mkdtemp(prefix="bench-tracking-")
    url = args.database_url or f"sqlite:///{tmp}/bench.sqlite"
    _prepare_database(url, tmp)
    Path(tmp, "bare.py").write_text(BARE_APP)
    Path(tmp, "ceiling.py").write_text(CEILING_APP)
    gunicorn = [
        sys.executable,
        "-m",
        "gunicorn",
        "--workers",
        str(args.workers),
        "--worker-class",
        "gthread",
        "--threads",
        str(args.threads),
    ]
    env = {
        **os.environ,
        "DASHBOARD_DATABASE_URL": url,
        "DASHBOARD_SECRET_KEY": "bench",
        "DASHBOARD_INSTANCE_PATH": tmp,
        "DASHBOARD_TRACKING_RATE_LIMIT_ADDRESS_PER_MINUTE": "100000000",
        "DASHBOARD_TRACKING_RATE_LIMIT_CHANNEL_PER_MINUTE": "100000000",
    }

    bare_port, app_port = free_port(), free_port()
    bare = _start(
        [*gunicorn, "--bind", f"127.0.0.1:{bare_port}", "bare:app"], env, Path(tmp), bare_port
    )
    try:
        baseline = _load(
            f"http://127.0.0.1:{bare_port}/t/v1/collect",
            1,
            args.seconds,
            args.clients,
            lambda: {"app": cpu_seconds(children(bare.pid))},
        )
    finally:
        bare.terminate()
        bare.wait()
    ceilings = {}
    for stub in ("nodb", "commit") if args.ceiling else ():
        port = free_port()
        stub_env = {**env, "STUB": stub, "PYTHONPATH": str(ROOT)}
        stubbed = _start(
            [*gunicorn, "--bind", f"127.0.0.1:{port}", "ceiling:app"], stub_env, Path(tmp), port
        )
        try:
            ceilings[stub] = _load(
                f"http://127.0.0.1:{port}/t/v1/collect",
                1,
                args.seconds,
                args.clients,
                lambda p=stubbed: {"app": cpu_seconds(children(p.pid))},
            )
        finally:
            stubbed.terminate()
            stubbed.wait()
    server = _start([*gunicorn, "--bind", f"127.0.0.1:{app_port}", "wsgi:app"], env, ROOT, app_port)
    database_pids = _database_pids(url, tmp)

    def cpu() -> dict[str, float]:
        return {"app": cpu_seconds(children(server.pid)), "db": cpu_seconds(database_pids())}

    try:
        single = _load(
            f"http://127.0.0.1:{app_port}/t/v1/collect", 1, args.seconds, args.clients, cpu
        )
        batch = _load(
            f"http://127.0.0.1:{app_port}/t/v1/collect", 10, args.seconds, args.clients, cpu
        )
    finally:
        server.terminate()
        server.wait()

    accepted = single["accepted"] + batch["accepted"]
    total, distinct = _stored(url, tmp, accepted)
    engine = "postgresql" if url.startswith("postgres") else "sqlite"
    print(
        f"engine={engine} workers={args.workers} threads={args.threads} clients={args.clients} "
        f"seconds={args.seconds}"
    )
    lines = [("bare endpoint", baseline)]
    lines += [(f"app, {_CEILING_NAMES[k]}", r) for k, r in ceilings.items()]
    lines += [("tracking, 1 event", single), ("tracking, 10 events", batch)]
    for name, r in lines:
        print(
            f"{name:22s} {r['requests_per_s']:8.0f} req/s {r['events_per_s']:9.0f} events/s "
            f"p50 {r['p50_ms']:6.1f} ms  p99 {r['p99_ms']:6.1f} ms  errors {r['errors']}  "
            + "  ".join(f"{k} CPU {v:5.1f} ms/req" for k, v in r["cpu_ms"].items())
        )
    print(
        f"durability: {len(accepted)} accepted, {total} stored, {distinct} distinct event ids "
        f"-> {'OK' if total == distinct == len(accepted) else 'MISMATCH'}"
    )
    single_ratio = single["requests_per_s"] / baseline["requests_per_s"]
    batch_ratio = batch["events_per_s"] / single["events_per_s"]
    for key, r in ceilings.items():
        ratio = r["requests_per_s"] / baseline["requests_per_s"]
        print(f"ratio {_CEILING_NAMES[key]}/bare throughput: {ratio:6.2f} (the goal's ceiling)")
    print(f"ratio single/bare throughput:        {single_ratio:.2f} (goal >= 0.8)")
    print(f"ratio 10-event/single events per s:  {batch_ratio:.2f} (goal >= 5)")


if __name__ == "__main__":
    main()
