"""Group commit for the tracking API: many requests' writes, one transaction, one commit.

A SQLite commit in rollback-journal mode costs several fsyncs (about 20 ms on the machines we
measured), and SQLite admits one writer at a time, so one commit per request caps the API at a
few dozen requests per second. Here the request threads of a worker process hand their unit of
work to one writer thread, which runs every unit that is waiting in a single transaction, each
inside a SAVEPOINT so one failing unit cannot spoil the others, commits once, and only then
answers each request: a 200 still means the events are durable. With gunicorn's threaded
workers many requests share each commit. PostgreSQL benefits the same way (fewer WAL flushes).

Consecutive units of one kind (collect requests that identify no one) run as one call in one
savepoint (``together``): SQLAlchemy's cost per statement, not per row, was most of a request,
so the requests of a run share their reads and writes (see ``together.py``). Should that call
fail, its units run again one by one, each in its own savepoint.

Failures, and what each request then gets (a run of units called together fails as a whole:
with the store's error, or again one by one after its own error):
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
from sqlalchemy.exc import DBAPIError, OperationalError

from ..database import write_intent
from ..extensions import db

log = logging.getLogger(__name__)

# SQLSTATEs after which running the same work again in a new transaction can succeed:
# serialization failure and deadlock detected.
TRANSIENT_SQLSTATES = frozenset({"40001", "40P01"})
MAX_TRIES = 3


def store_failed(exc: DBAPIError) -> bool:
    """Whether ``exc`` is the store's failure rather than the unit's: the connection lost, or an
    operational error that running again cannot cure at once (SQLite's lock not had within the
    busy timeout, a server error). The whole batch then fails with it (503): every other unit
    would meet it too, each after waiting out the busy timeout again."""
    return exc.connection_invalidated or (
        isinstance(exc, OperationalError) and not is_transient(exc)
    )


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


# Runs units of the same kind together: gets their items, returns each one's result or error.
Together = Callable[[list[Any]], list[Any]]


class _Unit:
    """A unit of work, the future its request waits on, and how often it has run; with
    ``together``, the function that can run it with its neighbours of the same kind."""

    __slots__ = ("future", "item", "run", "together", "tries")

    def __init__(
        self,
        run: Callable[[], Any],
        future: Future,
        together: Together | None = None,
        item: Any = None,
    ) -> None:
        self.run, self.future, self.tries = run, future, 0
        self.together, self.item = together, item


def _runs(batch: list[_Unit]) -> list[list[_Unit]]:
    """The batch cut into runs: consecutive units that can run together, and single units."""
    runs: list[list[_Unit]] = []
    for unit in batch:
        if runs and unit.together is not None and runs[-1][-1].together is unit.together:
            runs[-1].append(unit)
        else:
            runs.append([unit])
    return runs


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

    def submit(
        self,
        unit: Callable[[], Any],
        timeout: float = 60.0,
        *,
        together: Together | None = None,
        item: Any = None,
    ) -> Any:
        """Run ``unit`` in the next shared transaction; return its result once committed.

        With ``together``, consecutive units submitted with the same function run as one call,
        ``together(items)``, which returns each unit's result or its error (an exception
        instance, raised to that unit's caller). Should the call itself fail, its units run
        again one by one, through ``unit``.
        """
        future: Future = Future()
        self._queue.put(_Unit(unit, future, together, item))
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
                for run in _runs(batch):
                    if run[0].together is not None:
                        self._run_together(run, outcomes, again)
                    else:
                        self._run_alone(run[0], outcomes, again)
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

    def _run_alone(
        self, unit: _Unit, outcomes: list[tuple[_Unit, bool, Any]], again: list[_Unit]
    ) -> None:
        """Run one unit in a savepoint of its own, so its failure spoils no other unit."""
        unit.tries += 1
        savepoint = db.session.begin_nested()
        try:
            result = unit.run()
            savepoint.commit()
            outcomes.append((unit, True, result))
        except DBAPIError as exc:
            if store_failed(exc):
                raise  # fail the batch
            savepoint.rollback()
            if is_transient(exc) and unit.tries < MAX_TRIES:
                log.warning("tracking unit runs again after: %s", exc.orig)
                again.append(unit)
            else:
                outcomes.append((unit, False, exc))
        except Exception as exc:  # the unit's own error goes back to its request
            savepoint.rollback()
            outcomes.append((unit, False, exc))

    def _run_together(
        self, run: list[_Unit], outcomes: list[tuple[_Unit, bool, Any]], again: list[_Unit]
    ) -> None:
        """Run units of one kind as one call in one savepoint; if the call fails, run them
        again one by one (a concurrency victim waits for the next transaction instead)."""
        savepoint = db.session.begin_nested()
        try:
            values = run[0].together([unit.item for unit in run])  # type: ignore[misc]
            savepoint.commit()
        except DBAPIError as exc:
            if store_failed(exc):
                raise  # fail the batch; no unit waits for the lock again alone
            savepoint.rollback()
            if is_transient(exc) and all(unit.tries + 1 < MAX_TRIES for unit in run):
                log.warning("tracking units run again after: %s", exc.orig)
                for unit in run:
                    unit.tries += 1
                again.extend(run)
                return
            for unit in run:
                self._run_alone(unit, outcomes, again)
            return
        except Exception:
            savepoint.rollback()
            log.exception("units run together failed; running them one by one")
            for unit in run:
                self._run_alone(unit, outcomes, again)
            return
        for unit, value in zip(run, values, strict=True):
            outcomes.append((unit, not isinstance(value, Exception), value))


def run_write(
    unit: Callable[[], Any], *, together: Together | None = None, item: Any = None
) -> Any:
    """Run a tracking write unit durably: through the group-commit writer when enabled (with
    ``together`` and ``item``: see ``GroupCommitWriter.submit``), otherwise in the request's
    own transaction."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if not app.config.get("TRACKING_GROUP_COMMIT"):
        try:
            result = together([item])[0] if together is not None else unit()
            if isinstance(result, Exception):
                raise result
            db.session.commit()
            return result
        except Exception:
            db.session.rollback()
            raise
    writer = app.extensions.get("tracking_writer")
    if writer is None:
        writer = app.extensions.setdefault("tracking_writer", GroupCommitWriter(app))
    return writer.submit(unit, together=together, item=item)
