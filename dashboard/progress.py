"""Progress of long operations (CSV import, group recalculation, purge), kept in the database so
the page that started one, or any page about its subject, can poll it from any worker.

The operations report a ``Step`` to a callback after each committed batch: the command line
prints its text, and a ``ProgressRecorder`` writes its numbers to an ``OperationProgress`` row
(at most once a second, each write in its own short transaction, so other processes see it and
a long run pays for a handful of commits, not one per batch).
"""

import re
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta

from flask import Flask, request
from sqlalchemy import delete, select, update

from .database import write_intent
from .extensions import db
from .models import OperationProgress, User, utcnow
from .permissions import Permission

# A run whose row has not moved for this long died with its process (a crash, a killed worker).
STALE = timedelta(minutes=15)
KEEP = timedelta(days=1)  # finished rows are removed after this
_KEY = re.compile(r"^[0-9a-f]{32}$")


@dataclass(frozen=True)
class Step:
    """How far an operation has got: ``text`` for people reading a terminal, the numbers for a
    progress bar (``total`` is None while unknown)."""

    text: str
    done: int
    total: int | None = None

    def __str__(self) -> str:
        return self.text


Progress = Callable[[Step], None]


def no_progress(_step: Step) -> None:
    """A progress callback that ignores every step."""


def new_key() -> str:
    """A fresh, unguessable key for a progress row (rendered into the form that starts it)."""
    return uuid.uuid4().hex


def valid_key(value: object) -> str | None:
    """``value`` if it has the shape of a key from ``new_key``, else None."""
    return value if isinstance(value, str) and _KEY.match(value) else None


def posted_key() -> str | None:
    """The key the submitting form carried (``progress_field`` in _macros/progress.html): the
    page polls it while this request works. None without one (no script, or an old page)."""
    return valid_key(request.form.get("progress_key"))


def register(app: Flask) -> None:
    """Let templates give a form a fresh key (``new_progress_key()``)."""
    app.jinja_env.globals["new_progress_key"] = new_key


class ProgressRecorder:
    """Writes one operation's progress row; call it with each ``Step``."""

    def __init__(
        self,
        kind: str,
        permission: Permission,
        label: str,
        *,
        key: str | None = None,
        subject: str | None = None,
        total: int | None = None,
        interval: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.key = key or new_key()
        self._row = {
            "key": self.key,
            "kind": kind,
            "subject": subject,
            "permission": permission.value,
            "label": label[:200],
            "total": total,
        }
        self._interval = interval
        self._clock = clock
        self._written = 0.0
        self.finished = False

    def start(self) -> "ProgressRecorder":
        """Create the row (state "running"), dropping finished rows older than a day."""
        now = utcnow()
        db.session.commit()  # end the caller's read transaction before writing
        with write_intent():
            old = OperationProgress.updated_at < now - KEEP
            db.session.execute(delete(OperationProgress).where(old))
            db.session.add(OperationProgress(**self._row, started_at=now, updated_at=now))
            db.session.commit()
        self._written = self._clock()
        return self

    def __call__(self, step: Step) -> None:
        """Record the step unless one was recorded less than ``interval`` seconds ago."""
        if self._clock() - self._written < self._interval:
            return
        self._write(done=step.done, total=step.total or self._row["total"], message=step.text)

    def finish(self, message: str, done: int | None = None) -> None:
        """Mark the run finished, with what it did."""
        values = {"state": "finished", "message": message}
        self._write(**values, **({"done": done} if done is not None else {}))
        self.finished = True

    def fail(self, message: str) -> None:
        """Mark the run failed, with why."""
        self._write(state="failed", message=message)
        self.finished = True

    def _write(self, **values: object) -> None:
        if "message" in values:
            values["message"] = str(values["message"])[:300]
        db.session.commit()  # the operation's own batch is committed already
        with write_intent():
            db.session.execute(
                update(OperationProgress)
                .where(OperationProgress.key == self.key)
                .values(**values, updated_at=utcnow())
            )
            db.session.commit()
        self._written = self._clock()


class _NoRecorder:
    """Stands in for a recorder when nobody polls: records nothing."""

    def __call__(self, step: Step) -> None:
        pass

    def finish(self, message: str, done: int | None = None) -> None:
        pass


@contextmanager
def track(
    kind: str,
    permission: Permission,
    label: str,
    *,
    key: str | None,
    subject: str | None = None,
    total: int | None = None,
) -> Iterator["ProgressRecorder | _NoRecorder"]:
    """Record an operation's progress under ``key`` (None: record nothing) while the block runs;
    the block reports steps and its final message with ``finish``. If the block raises, the run
    is marked failed with the exception's text."""
    if key is None:
        yield _NoRecorder()
        return
    recorder = ProgressRecorder(kind, permission, label, key=key, subject=subject, total=total)
    recorder.start()
    try:
        yield recorder
    except BaseException as exc:
        db.session.rollback()
        recorder.fail(str(exc) or type(exc).__name__)
        raise
    if not recorder.finished:
        recorder.finish("Done.")


@dataclass(frozen=True)
class ProgressView:
    """A progress row as a page shows it."""

    key: str
    label: str
    state: str  # running, finished, failed or interrupted
    done: int
    total: int | None
    message: str

    def as_json(self) -> dict[str, object]:
        """The polled JSON."""
        return {
            "label": self.label,
            "state": self.state,
            "done": self.done,
            "total": self.total,
            "message": self.message,
        }


def _view(row: OperationProgress) -> ProgressView:
    state = row.state
    if state == "running" and row.updated_at < utcnow() - STALE:
        state = "interrupted"
    total = row.total if row.total is None else max(row.total, row.done)
    return ProgressView(row.key, row.label, state, row.done, total, row.message)


def read_progress(key: str, user: User) -> ProgressView | None:
    """The run with this key, if ``user`` may see its kind of operation."""
    row = db.session.get(OperationProgress, key)
    if row is None or not user.can(Permission(row.permission)):
        return None
    return _view(row)


def running(kind: str, subject: str) -> ProgressView | None:
    """The latest run of ``kind`` about ``subject`` that is still going."""
    row = db.session.scalars(
        select(OperationProgress)
        .where(
            OperationProgress.kind == kind,
            OperationProgress.subject == subject,
            OperationProgress.state == "running",
        )
        .order_by(OperationProgress.started_at.desc())
        .limit(1)
    ).first()
    view = _view(row) if row is not None else None
    return view if view is not None and view.state == "running" else None
