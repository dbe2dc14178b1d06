"""Start the app under its production WSGI server (gunicorn, several workers) on loopback."""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# How long workers may take to answer after start: generous, a loaded 2-core CI machine with
# several app servers importing at once has needed more than 30 s.
STARTUP_SECONDS = 120


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass(frozen=True)
class LiveServer:
    """A running gunicorn master: its base URL and its process."""

    base: str
    process: subprocess.Popen
    log: Path

    def log_text(self) -> str:
        """What gunicorn and the app wrote to stderr so far."""
        return self.log.read_text(errors="replace")

    def worker_pids(self) -> set[int]:
        """The master's live worker processes."""
        return children(self.process.pid)

    def kill_worker(self) -> int:
        """SIGKILL the busiest worker (no clean-up, as the OOM killer would); return its pid.

        Busiest: the most open sockets, i.e. client connections (and database connections) in
        flight, so the kill cuts requests rather than hitting an idle process.
        """
        pid = max(self.worker_pids(), key=lambda p: (_sockets(p), -p))
        os.kill(pid, signal.SIGKILL)
        return pid


def children(pid: int) -> set[int]:
    """The live child processes of ``pid`` (read from /proc: Linux only)."""
    return {child for child, parent in _processes() if parent == pid}


def cpu_seconds(pids: set[int]) -> float:
    """User + system CPU time the processes have used so far (those already gone count 0)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
    return total / tick


def _sockets(pid: int) -> int:
    """How many sockets the process has open (0 if it is gone)."""
    try:
        fds = list(Path(f"/proc/{pid}/fd").iterdir())
    except OSError:
        return 0
    count = 0
    for fd in fds:
        try:
            count += os.readlink(fd).startswith("socket:")
        except OSError:
            continue
    return count


def _processes() -> Iterator[tuple[int, int]]:
    """(pid, parent pid) of every process, skipping those that end while being read."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The command name (2nd field) is in parentheses and may hold spaces.
        yield int(entry.name), int(stat.rsplit(")", 1)[1].split()[1])


@contextmanager
def gunicorn_server(
    database_url: str,
    instance_path: str,
    *,
    workers: int = 3,
    threads: int | None = None,
    **config: str,
) -> Iterator[LiveServer]:
    """Run ``gunicorn`` over ``database_url``; yield the running server; stop it afterwards.

    ``threads`` selects gthread workers with that many threads each, as ``make run`` does
    (the default is gunicorn's sync worker).
    """
    port = free_port()
    env = {
        **os.environ,
        "DASHBOARD_DATABASE_URL": database_url,
        "DASHBOARD_SECRET_KEY": "live-test-secret",
        "DASHBOARD_INSTANCE_PATH": instance_path,
        **{f"DASHBOARD_{k}": v for k, v in config.items()},
    }
    worker_class = ["--worker-class", "gthread", "--threads", str(threads)] if threads else []
    # A file, not a pipe: a pipe nobody reads fills up and blocks a worker that logs.
    log = Path(instance_path) / f"gunicorn-{port}.log"
    stderr = log.open("wb")
    process = subprocess.Popen(  # noqa: S603 - fixed arguments
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--workers",
            str(workers),
            *worker_class,
            "--bind",
            f"127.0.0.1:{port}",
            "--graceful-timeout",
            "5",
            "wsgi:app",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=stderr,
    )
    server = LiveServer(f"http://127.0.0.1:{port}", process, log)
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while True:
            try:
                with urllib.request.urlopen(server.base + "/t/v1/tracker.js", timeout=2):  # noqa: S310
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(server.log_text()[-3000:]) from None
                time.sleep(0.2)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        stderr.close()


@contextmanager
def gunicorn(
    database_url: str, instance_path: str, *, workers: int = 3, **config: str
) -> Iterator[str]:
    """Run ``gunicorn`` over ``database_url``; yield its base URL; stop it afterwards."""
    with gunicorn_server(database_url, instance_path, workers=workers, **config) as server:
        yield server.base
