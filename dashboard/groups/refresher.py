"""Fresh membership within seconds (R17): drain the ``membership_refresh`` queue.

Whatever changes a contact (a tracked activity, a merge, a consent agreement, an edit, an import,
a bulk action, a hand-made membership) queues the contact's id in the same transaction. Draining
takes a batch of queued ids, re-evaluates every enabled, calculated group's condition for just
those contacts (``membership.apply_condition``: a few set-based statements per group, each reading
only those contacts' rows through their indexes), and deletes the batch from the queue, all in one
transaction: a crash loses nothing, it only leaves the ids queued.

Groups are evaluated in dependency order, so a group whose condition says "is in group B" sees B's
fresh membership in the same transaction. Groups whose condition changed and were not recalculated
yet are left alone: their members still reflect the old condition until "Recalculate".

Who drains: every app process runs a daemon thread (started by its first request, so also in each
forked worker) that drains every ``GROUP_REFRESH_INTERVAL_SECONDS`` (default 2; 0 turns it off,
as tests do; they call ``drain_membership_refresh`` directly). Several processes may drain at once:
on PostgreSQL each claims its batch with ``FOR UPDATE SKIP LOCKED`` and writes with
``ON CONFLICT``; on SQLite writers are serialised (``write_intent``). ``flask refresh-groups``
drains once from the command line.

Time passing is not a change: a contact whose last activity leaves a "last N days" window is moved
by the daily ``flask recalculate-groups``.
"""

import logging
import os
import threading
from datetime import datetime

from flask import Flask
from sqlalchemy import delete, select

from ..database import write_intent
from ..domain import segments as s
from ..extensions import db
from ..models import ContactGroup, GroupStatus, MembershipRefresh, utcnow
from .membership import apply_condition, id_list

log = logging.getLogger(__name__)

REFRESH_BATCH = 500
DEFAULT_INTERVAL_SECONDS = 2.0
REFRESHED_STATUSES = (GroupStatus.READY, GroupStatus.CALCULATING)


def _refreshable_groups() -> list[tuple[int, s.Condition]]:
    """Lock (share mode) and return the groups to refresh, in dependency order."""
    rows = db.session.execute(
        select(ContactGroup.id, ContactGroup.condition)
        .where(ContactGroup.enabled.is_(True), ContactGroup.status.in_(REFRESHED_STATUSES))
        .order_by(ContactGroup.id)
        .with_for_update(read=True)
    ).all()
    conditions = {gid: s.condition_from_json(stored) for gid, stored in rows}
    order = s.dependency_order({g: c.referenced_groups() for g, c in conditions.items()})
    return [(g, conditions[g]) for g in order if conditions[g].groups]  # static groups: none


def refresh_batch(
    *, after: int = 0, batch_size: int = REFRESH_BATCH, now: datetime | None = None
) -> list[int]:
    """Refresh the memberships of the next queued contacts with ids above ``after``; return the
    ids refreshed (empty when there were none)."""
    db.session.commit()  # end the caller's read transaction before taking the write lock
    with write_intent():
        ids = db.session.scalars(
            select(MembershipRefresh.contact_id)
            .where(MembershipRefresh.contact_id > after)
            .order_by(MembershipRefresh.contact_id)
            .limit(batch_size)
            .with_for_update(skip_locked=True)
        ).all()
        if not ids:
            db.session.rollback()
            return []
        now = now or utcnow()
        scope = id_list(ids)
        for group_id, condition in _refreshable_groups():
            apply_condition(group_id, condition, scope, now=now)
        db.session.execute(delete(MembershipRefresh).where(MembershipRefresh.contact_id.in_(ids)))
        db.session.commit()
    return list(ids)


def queue_is_empty() -> bool:
    """Whether no contact waits for a refresh (a cheap read, no write lock)."""
    empty = db.session.scalar(select(MembershipRefresh.contact_id).limit(1)) is None
    db.session.rollback()
    return empty


def drain_membership_refresh(
    *, batch_size: int = REFRESH_BATCH, now: datetime | None = None
) -> int:
    """Refresh every queued contact once, batch by batch; return how many were refreshed.

    One pass in id order: contacts queued again meanwhile wait for the next call, so a busy
    contact cannot keep a drain running for ever.
    """
    if queue_is_empty():
        return 0
    done = 0
    after = 0
    while True:
        ids = refresh_batch(after=after, batch_size=batch_size, now=now)
        done += len(ids)
        if len(ids) < batch_size:
            return done
        after = ids[-1]


class _Refresher:
    """The per-process daemon thread that drains the queue every ``interval`` seconds."""

    def __init__(self, app: Flask, interval: float) -> None:
        self.app = app
        self.interval = interval
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pid: int | None = None

    def ensure_started(self) -> None:
        """Start the thread in this process unless it runs (a forked worker starts its own)."""
        if self._pid == os.getpid() and self._thread is not None and self._thread.is_alive():
            return
        with self._lock:
            if self._pid == os.getpid() and self._thread is not None and self._thread.is_alive():
                return
            self._stop = threading.Event()
            self._thread = threading.Thread(target=self._run, name="group-refresher", daemon=True)
            self._pid = os.getpid()
            self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.tick()

    def tick(self) -> None:
        """Drain once; log failures and carry on (the queue keeps what was not done)."""
        with self.app.app_context():
            try:
                refreshed = drain_membership_refresh()
                if refreshed:
                    log.info("refreshed group memberships of %s contacts", refreshed)
            except Exception:
                db.session.rollback()
                log.exception("refreshing group memberships failed; will retry")
            finally:
                db.session.remove()

    def stop(self) -> None:
        """Stop the thread and wait for it (tests)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)


def init_refresher(app: Flask) -> None:
    """Run the refresher thread in every process of ``app`` that serves requests.

    Started lazily by the first request of each process (not at import or in CLI commands, and
    after a pre-forking server has forked). ``GROUP_REFRESH_INTERVAL_SECONDS`` <= 0 disables it;
    the default is 2 seconds, and 0 under ``TESTING``.
    """
    default = 0.0 if app.testing else DEFAULT_INTERVAL_SECONDS
    interval = float(app.config.get("GROUP_REFRESH_INTERVAL_SECONDS", default))
    if interval <= 0 or "group_refresher" in app.extensions:
        return
    refresher = _Refresher(app, interval)
    app.extensions["group_refresher"] = refresher
    app.before_request(refresher.ensure_started)
