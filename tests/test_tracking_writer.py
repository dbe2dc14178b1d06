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
