"""The group-commit writer: shared commits, isolated failures, nothing half-written."""

import fcntl
import threading

import pytest
from sqlalchemy import func, select

from dashboard.extensions import db
from dashboard.models import Setting
from dashboard.tracking.writer import GroupCommitWriter, _writers_in_turn


def _count() -> int:
    try:
        return db.session.scalar(select(func.count()).select_from(Setting))
    finally:
        db.session.rollback()


def test_units_commit_and_return_their_results(app):
    writer = GroupCommitWriter(app, idle_seconds=0.5)

    def unit(i: int):
        return lambda: (db.session.add(Setting(key=f"k{i}", value=i)), i)[1]

    results: list[int] = []
    threads = [
        threading.Thread(target=lambda i=i: results.append(writer.submit(unit(i))))
        for i in range(20)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == list(range(20))
    assert _count() == 20


def test_a_failing_unit_rolls_back_alone(app):
    writer = GroupCommitWriter(app, idle_seconds=0.5)

    def bad():
        db.session.add(Setting(key="half-written", value=1))
        db.session.flush()
        raise ValueError("refused")

    with pytest.raises(ValueError, match="refused"):
        writer.submit(bad)
    assert writer.submit(lambda: db.session.add(Setting(key="ok", value=1))) is None
    assert db.session.scalars(select(Setting.key)).all() == ["ok"]
    db.session.rollback()


def test_integrity_errors_reach_the_caller(app):
    from sqlalchemy.exc import IntegrityError

    writer = GroupCommitWriter(app, idle_seconds=0.5)
    writer.submit(lambda: db.session.add(Setting(key="dup", value=1)))

    def duplicate():
        db.session.add(Setting(key="dup", value=2))
        db.session.flush()

    with pytest.raises(IntegrityError):
        writer.submit(duplicate)
    assert _count() == 1


def test_tracking_requests_through_the_writer(app, client):
    from tests import factories
    from tests.tracking_helpers import activities, collect, event

    app.config["TRACKING_GROUP_COMMIT"] = True
    factories.channel("shop-site", level=1000)
    response = collect(client, "shop-site", events=[event(), event()])
    assert response.status_code == 200
    assert [r["status"] for r in response.get_json()["results"]] == ["accepted", "accepted"]
    assert activities() == 2
    refused = collect(client, "nope")
    assert refused.status_code == 404


class _DriverError(Exception):
    """Stands in for a driver exception carrying a SQLSTATE (psycopg's have ``sqlstate``)."""

    def __init__(self, sqlstate: str) -> None:
        super().__init__(sqlstate)
        self.sqlstate = sqlstate


def test_a_deadlock_victim_runs_again_in_the_next_transaction(app):
    from sqlalchemy.exc import OperationalError

    writer = GroupCommitWriter(app, idle_seconds=0.5)
    runs: list[int] = []

    def victim():
        runs.append(len(runs))
        db.session.add(Setting(key=f"try{len(runs)}", value=1))
        db.session.flush()
        if len(runs) == 1:  # PostgreSQL chose this unit's transaction as the deadlock victim
            raise OperationalError("INSERT ...", {}, _DriverError("40P01"))
        return "done"

    assert writer.submit(victim) == "done"
    assert runs == [0, 1]
    assert db.session.scalars(select(Setting.key)).all() == ["try2"]  # the first try left nothing
    db.session.rollback()


def test_a_unit_that_keeps_losing_gets_the_error(app):
    from sqlalchemy.exc import OperationalError

    from dashboard.tracking.writer import MAX_TRIES

    writer = GroupCommitWriter(app, idle_seconds=0.5)
    runs: list[int] = []

    def always():
        runs.append(1)
        raise OperationalError("UPDATE ...", {}, _DriverError("40001"))

    with pytest.raises(OperationalError):
        writer.submit(always)
    assert len(runs) == MAX_TRIES


def test_a_lost_connection_fails_the_whole_batch_with_the_store_error(app):
    """A unit whose connection died takes the transaction with it: every request of the batch
    gets the driver's error (answered 503), none a bookkeeping error (which would be a 500)."""
    from concurrent.futures import Future

    from sqlalchemy.exc import OperationalError

    from dashboard.tracking.writer import _Unit

    writer = GroupCommitWriter(app, idle_seconds=0.5)
    lost = OperationalError("SELECT 1", {}, _DriverError("57P01"), connection_invalidated=True)

    def first():
        db.session.add(Setting(key="first", value=1))
        db.session.flush()

    def dies():
        raise lost

    units = [_Unit(first, Future()), _Unit(dies, Future()), _Unit(first, Future())]
    with app.app_context():
        writer._commit(units)
    assert [u.future.exception() for u in units] == [lost, lost, lost]
    assert _count() == 0


def test_sqlite_writers_take_turns_on_a_file_lock(app):
    """The writer of another process cannot take its turn while one holds it, and gets it as
    soon as that one is done; PostgreSQL takes no turns."""
    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            with _writers_in_turn(app):
                assert app.extensions["tracking_writer_lock"] == ""
            return
        path = db.engine.url.database + "-writer.lock"
        with open(path, "a") as other:  # another process's descriptor of the same file
            with _writers_in_turn(app), pytest.raises(BlockingIOError):
                fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
            fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)  # free again
            fcntl.flock(other, fcntl.LOCK_UN)


def _together_units(together, items, run=None):
    from concurrent.futures import Future

    from dashboard.tracking.writer import _Unit

    def alone(item):
        return lambda: run(item) if run else pytest.fail("ran alone")

    return [_Unit(alone(i), Future(), together, i) for i in items]


def test_consecutive_units_of_one_kind_run_as_one_call(app):
    """Their function gets every item at once; each unit gets its own result or error, and a
    unit of another kind between them cuts the run."""
    writer = GroupCommitWriter(app, idle_seconds=0.5)
    calls: list[list[int]] = []

    def together(items):
        calls.append(items)
        for i in items:
            db.session.add(Setting(key=f"k{i}", value=i))
        return [ValueError(f"refused {i}") if i == 2 else i * 10 for i in items]

    from concurrent.futures import Future

    from dashboard.tracking.writer import _Unit

    other = _Unit(lambda: db.session.add(Setting(key="other", value=0)), Future())
    units = [*_together_units(together, [1, 2, 3]), other, *_together_units(together, [4])]
    with app.app_context():
        writer._commit(units)
    assert calls == [[1, 2, 3], [4]]
    assert units[0].future.result() == 10 and units[2].future.result() == 30
    assert str(units[1].future.exception()) == "refused 2"
    assert units[4].future.result() == 40
    assert _count() == 5  # a returned error spoils nothing: the call decided what it wrote


def test_a_failed_run_falls_back_to_its_units_one_by_one(app):
    """The call's writes are rolled back and every unit runs alone in its own savepoint, so one
    bad request cannot fail the others."""
    writer = GroupCommitWriter(app, idle_seconds=0.5)

    def together(items):
        db.session.add(Setting(key="half-written", value=1))
        db.session.flush()
        raise RuntimeError("the run broke")

    def run(item):
        if item == 2:
            raise ValueError("bad request")
        db.session.add(Setting(key=f"alone{item}", value=item))
        return item

    units = _together_units(together, [1, 2, 3], run)
    with app.app_context():
        writer._commit(units)
    assert units[0].future.result() == 1 and units[2].future.result() == 3
    assert isinstance(units[1].future.exception(), ValueError)
    with app.app_context():
        assert sorted(db.session.scalars(select(Setting.key))) == ["alone1", "alone3"]
        db.session.rollback()


def test_a_run_chosen_as_deadlock_victim_is_queued_again_whole(app):
    from sqlalchemy.exc import OperationalError

    writer = GroupCommitWriter(app, idle_seconds=0.5)

    def together(items):
        raise OperationalError("INSERT ...", {}, _DriverError("40P01"))

    units = _together_units(together, [1, 2])
    with app.app_context():
        writer._commit(units)
    assert [writer._queue.get_nowait() for _ in units] == units
    assert not any(u.future.done() for u in units)


def test_a_run_that_meets_an_unavailable_store_fails_the_batch_at_once(app):
    """SQLite's lock not had within the busy timeout: every request gets the store's error (a
    503) now, rather than each waiting out the timeout again on its own."""
    from sqlalchemy.exc import OperationalError

    writer = GroupCommitWriter(app, idle_seconds=0.5)
    locked = OperationalError("BEGIN IMMEDIATE", {}, Exception("database is locked"))

    def together(items):
        raise locked

    units = _together_units(together, [1, 2])  # running alone would fail the test
    with app.app_context():
        writer._commit(units)
    assert [u.future.exception() for u in units] == [locked, locked]


def test_a_lone_unit_that_meets_an_unavailable_store_fails_the_batch_at_once(app):
    """The same for units run one by one: the units after it do not wait out the busy timeout
    again, and the units before it are not committed."""
    from concurrent.futures import Future

    from sqlalchemy.exc import OperationalError

    from dashboard.tracking.writer import _Unit

    writer = GroupCommitWriter(app, idle_seconds=0.5)
    locked = OperationalError("BEGIN IMMEDIATE", {}, Exception("database is locked"))

    def first():
        db.session.add(Setting(key="first", value=1))
        db.session.flush()

    def locked_out():
        raise locked

    units = [
        _Unit(first, Future()),
        _Unit(locked_out, Future()),
        _Unit(lambda: pytest.fail("ran after the store failed"), Future()),
    ]
    with app.app_context():
        writer._commit(units)
    assert [u.future.exception() for u in units] == [locked, locked, locked]
    assert _count() == 0
