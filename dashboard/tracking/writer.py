"""Group commit for the tracking API: many requests' writes, one transaction, one commit.

A SQLite commit in rollback-journal mode costs several fsyncs (about 20 ms on the machines we
measured), and SQLite admits one writer at a time, so one commit per request caps the API at a
few dozen requests per second. Here the request threads of a worker process hand their unit of
work to one writer thread, which runs every unit that is waiting in a single transaction, each
inside a SAVEPOINT so one failing unit cannot spoil the others, commits once, and only then
answers each request: a 200 still means the events are durable. With gunicorn's threaded
workers many requests share each commit. PostgreSQL benefits the same way (fewer WAL flushes).

Failures, and what each request then gets:
  * a unit's own error (a refusal, a uniqueness race): its savepoint is rolled back, the error
    goes back to its request, the other units commit;
  * a unit chosen as a deadlock or serialization-failure victim (PostgreSQL: batches of several
    processes lock shared counter rows and event ids in different orders): its savepoint is
    rolled back and it is queued again for the next transaction, which starts after this one
    has committed and released its locks (up to ``MAX_TRIES`` times), instead of failing a
    request that did nothing wrong;
  * the connection lost (PostgreSQL backend terminated, network), the lock not obtained within
    the busy timeout (SQLite) or the commit failing: nothing of the batch is durable, and every
    request gets the store's error, which the API answers with 503 + Retry-After.
"""

import contextlib
import fcntl
import logging
import os
import queue
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from typing import Any

from flask import Flask, current_app
from sqlalchemy.exc import DBAPIError

from ..database import write_intent
from ..extensions import db

log = logging.getLogger(__name__)

# SQLSTATEs after which running the same work again in a new transaction can succeed:
# serialization failure and deadlock detected.
TRANSIENT_SQLSTATES = frozenset({"40001", "40P01"})
MAX_TRIES = 3


def is_transient(exc: BaseException) -> bool:
    """Whether ``exc`` is a concurrency victim that a new transaction may not meet again."""
    return isinstance(exc, DBAPIError) and (
        getattr(exc.orig, "sqlstate", None) in TRANSIENT_SQLSTATES
    )


@contextlib.contextmanager
def _writers_in_turn(app: Flask) -> Iterator[None]:
    """SQLite: the writer threads of all worker processes take turns on a file lock before
    they ask for the database's write lock.

    SQLite admits one writer, and one that finds the lock taken polls for it, sleeping up to
    100 ms between tries: with several processes the database sat idle between commits (the
    API used half a core at its peak). Waiting on an ``flock`` instead wakes the next writer as
    soon as the last one is done, and its batch has grown meanwhile. The kernel drops the lock
    of a killed process. PostgreSQL needs no turns: writers lock rows, not the database.
    """
    path = app.extensions.get("tracking_writer_lock")
    if path is None:
        url = db.engine.url
        database = url.database if url.get_backend_name() == "sqlite" else None
        path = database + "-writer.lock" if database and database != ":memory:" else ""
        app.extensions["tracking_writer_lock"] = path
    if not path:
        yield
        return
    with open(path, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


class _Unit:
    """A unit of work, the future its request waits on, and how often it has run."""

    __slots__ = ("future", "run", "tries")

    def __init__(self, run: Callable[[], Any], future: Future) -> None:
        self.run, self.future, self.tries = run, future, 0


class GroupCommitWriter:
    """One writer thread per process that batches units of work into shared commits."""

    def __init__(self, app: Flask, *, max_batch: int = 64, idle_seconds: float = 30.0) -> None:
        self.app = app
        self.max_batch = max_batch
        self.idle_seconds = idle_seconds
        self._queue: queue.Queue[_Unit] = queue.Queue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._pid = os.getpid()

    def submit(self, unit: Callable[[], Any], timeout: float = 60.0) -> Any:
        """Run ``unit`` in the next shared transaction; return its result once committed."""
        future: Future = Future()
        self._queue.put(_Unit(unit, future))
        self._ensure_thread()
        return future.result(timeout=timeout)

    def _ensure_thread(self) -> None:
        with self._lock:
            if self._pid != os.getpid():  # forked: the parent's thread did not come along
                self._pid, self._thread = os.getpid(), None
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="tracking-writer", daemon=True
                )
                self._thread.start()

    def _next_batch(self) -> list[_Unit]:
        batch = [self._queue.get(timeout=self.idle_seconds)]
        self._take_waiting(batch)
        return batch

    def _take_waiting(self, batch: list[_Unit]) -> None:
        """Add the units waiting in the queue to ``batch``, up to the batch size."""
        while len(batch) < self.max_batch:
            try:
                batch.append(self._queue.get_nowait())
            except queue.Empty:
                break

    def _run(self) -> None:
        while True:
            try:
                batch = self._next_batch()
            except queue.Empty:
                with self._lock:
                    if self._queue.empty():  # idle: let the thread end; submit() restarts it
                        self._thread = None
                        return
                continue
            with self.app.app_context():
                self._commit(batch)

    def _commit(self, batch: list[_Unit]) -> None:
        outcomes: list[tuple[_Unit, bool, Any]] = []
        again: list[_Unit] = []
        try:
            with _writers_in_turn(self.app), write_intent():
                self._take_waiting(batch)  # more came while this process waited for its turn
                for unit in batch:
                    unit.tries += 1
                    savepoint = db.session.begin_nested()
                    try:
                        result = unit.run()
                        savepoint.commit()
                        outcomes.append((unit, True, result))
                    except DBAPIError as exc:
                        if exc.connection_invalidated:
                            raise  # the transaction died with its connection: fail the batch
                        savepoint.rollback()
                        if is_transient(exc) and unit.tries < MAX_TRIES:
                            log.warning("tracking unit runs again after: %s", exc.orig)
                            again.append(unit)
                        else:
                            outcomes.append((unit, False, exc))
                    except Exception as exc:  # the unit's own error goes back to its request
                        savepoint.rollback()
                        outcomes.append((unit, False, exc))
                db.session.commit()
        except Exception as exc:  # the batch failed: no unit is durable
            log.warning("group commit of %d units failed: %s", len(batch), exc)
            outcomes, again = [(unit, False, exc) for unit in batch], []
            with contextlib.suppress(Exception):  # a lost connection may refuse this too
                db.session.rollback()
        finally:
            with contextlib.suppress(Exception):
                db.session.remove()
        for unit in again:  # after the commit: the next transaction no longer meets our locks
            self._queue.put(unit)
        for unit, ok, value in outcomes:
            if ok:
                unit.future.set_result(value)
            else:
                unit.future.set_exception(value)


def run_write(unit: Callable[[], Any]) -> Any:
    """Run a tracking write unit durably: through the group-commit writer when enabled,
    otherwise in the request's own transaction."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if not app.config.get("TRACKING_GROUP_COMMIT"):
        try:
            result = unit()
            db.session.commit()
            return result
        except Exception:
            db.session.rollback()
            raise
    writer = app.extensions.get("tracking_writer")
    if writer is None:
        writer = app.extensions.setdefault("tracking_writer", GroupCommitWriter(app))
    return writer.submit(unit)
