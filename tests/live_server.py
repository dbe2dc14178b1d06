"""Start the app under its production WSGI server (gunicorn, several workers) on loopback."""

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


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
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(base + "/t/v1/tracker.js", timeout=2):  # noqa: S310
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(process.stderr.read().decode()[-3000:]) from None
                time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        process.stderr.close()
