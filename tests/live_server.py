"""Start the app under its production WSGI server (gunicorn, several workers) on loopback."""

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

ROOT = Path(__file__).resolve().parent.parent
# How long workers may take to answer after start: generous, a loaded 2-core CI machine with
# several app servers importing at once has needed more than 30 s.
STARTUP_SECONDS = 120


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def gunicorn(
    database_url: str, instance_path: str, *, workers: int = 3, **config: str
) -> Iterator[str]:
    """Run ``gunicorn`` over ``database_url``; yield its base URL; stop it afterwards."""
    port = free_port()
    env = {
        **os.environ,
        "DASHBOARD_DATABASE_URL": database_url,
        "DASHBOARD_SECRET_KEY": "live-test-secret",
        "DASHBOARD_INSTANCE_PATH": instance_path,
        **{f"DASHBOARD_{k}": v for k, v in config.items()},
    }
    # The server's log goes to a file: a pipe nobody reads while the server runs would block
    # its workers once full, and reading it before the server exits would block the test.
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(  # noqa: S603 - fixed arguments
            [
                sys.executable,
                "-m",
                "gunicorn",
                "--workers",
                str(workers),
                "--bind",
                f"127.0.0.1:{port}",
                "--graceful-timeout",
                "5",
                "wsgi:app",
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
        try:
            yield _wait_until_serving(process, f"http://127.0.0.1:{port}", log)
        finally:
            _stop(process)


def _wait_until_serving(process: subprocess.Popen, base: str, log: IO[bytes]) -> str:
    """Return ``base`` once it answers; stop the server and raise with its log if it does not
    within STARTUP_SECONDS."""
    deadline = time.monotonic() + STARTUP_SECONDS
    while True:
        try:
            with urllib.request.urlopen(base + "/t/v1/tracker.js", timeout=2):  # noqa: S310
                return base
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                _stop(process)
                log.seek(0)
                raise RuntimeError(log.read().decode()[-3000:]) from None
            time.sleep(0.2)


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
