"""The rollup job inside each web worker: a daemon thread started on the first request.

Every ``ANALYTICS_ROLLUP_INTERVAL`` seconds (default 10) the thread rolls up what arrived, and
every ``ANALYTICS_RECONCILE_INTERVAL`` seconds (default 60, counted across all processes from the
reconciler's stored state) it checks one day against the raw tables (the reconciler). Several
processes may run it at once: each stream is one locked transaction (see ``rollups.py``), so they
take turns and never count twice. With the interval set to 0 no thread starts; run
``flask --app dashboard refresh-rollups`` from cron instead.
"""

import logging
import os
import threading
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from flask import Flask

from ..extensions import db
from .rollups import RollupBusy, Settings, reconcile_due, reconcile_next_day, refresh_rollups

log = logging.getLogger(__name__)

DEFAULT_INTERVAL = 10.0
DEFAULT_RECONCILE_INTERVAL = 60.0


def settings_from(config: Mapping[str, Any]) -> Settings:
    """The job's tunables from the app config (``ANALYTICS_*`` keys, all optional)."""
    defaults = Settings()
    return Settings(
        batch=int(config.get("ANALYTICS_ROLLUP_BATCH", defaults.batch)),
        sample_contacts=int(config.get("ANALYTICS_SAMPLE_CONTACTS", defaults.sample_contacts)),
        gap_timeout=timedelta(
            seconds=float(config.get("ANALYTICS_GAP_TIMEOUT", defaults.gap_timeout.total_seconds()))
        ),
    )


def run_tick(app: Flask) -> None:
    """One round of the job: catch up, then reconcile one day if none was checked lately.

    The reconciler recounts a whole day from the raw tables. Run on every tick of every process
    it recounted today's activities several times a minute, and it was most of the job's CPU
    while the tracking API was busy (each process has the thread), so it runs once per
    ``ANALYTICS_RECONCILE_INTERVAL`` for the whole deployment.
    """
    with app.app_context():
        settings = settings_from(app.config)
        every = float(app.config.get("ANALYTICS_RECONCILE_INTERVAL", DEFAULT_RECONCILE_INTERVAL))
        try:
            refresh_rollups(settings)
            if reconcile_due(timedelta(seconds=every)):
                reconcile_next_day(settings)
        except RollupBusy:
            db.session.rollback()  # another process holds the stream: it is doing the work
        except Exception:
            log.exception("analytics rollup job failed; retrying next interval")
            db.session.rollback()
        finally:
            db.session.remove()


class _Job:
    def __init__(self, app: Flask, interval: float) -> None:
        self.app = app
        self.interval = interval
        self.stop = threading.Event()
        self.pid: int | None = None
        self.lock = threading.Lock()

    def ensure_started(self) -> None:
        # Started lazily in the serving process: a thread created before a fork (gunicorn
        # --preload) would not survive it, and CLI commands never serve a request.
        if self.pid == os.getpid():
            return
        with self.lock:
            if self.pid == os.getpid():
                return
            self.pid = os.getpid()
            thread = threading.Thread(target=self.loop, name="analytics-rollups", daemon=True)
            thread.start()

    def loop(self) -> None:
        while not self.stop.wait(self.interval):
            run_tick(self.app)


def init_rollups(app: Flask) -> None:
    """Run the rollup job in a background thread of every process that serves requests.

    Off under TESTING unless ``ANALYTICS_ROLLUP_THREAD`` is true, and off when
    ``ANALYTICS_ROLLUP_INTERVAL`` is 0.
    """
    interval = float(app.config.get("ANALYTICS_ROLLUP_INTERVAL", DEFAULT_INTERVAL))
    enabled = app.config.get("ANALYTICS_ROLLUP_THREAD", not app.testing)
    if interval <= 0 or not enabled:
        return
    job = _Job(app, interval)
    app.extensions["analytics_rollups"] = job
    app.before_request(job.ensure_started)
