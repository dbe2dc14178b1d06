"""Progress of long operations: the steps the import, the recalculation and the purge report
carry honest numbers, the runs started from the browser (and the scheduled ones) are recorded
under their key, and the polled JSON shows them only to users allowed to see that operation."""

import itertools
import re
from datetime import timedelta

from sqlalchemy import select, update

from dashboard.contacts import importing
from dashboard.contacts.importing import run_import, text_source
from dashboard.extensions import db
from dashboard.groups.membership import RECALCULATION, recalculate_group
from dashboard.models import OperationProgress, Role, utcnow
from dashboard.permissions import Permission
from dashboard.progress import ProgressRecorder, Step, new_key, running
from tests import factories
from tests.test_contacts_import import _check, _payload
from tests.test_groups import GERMANS, saved_group
from tests.test_privacy import _enable

CSV = "email,country\n" + "".join(f"p{n}@example.com,DE\n" for n in range(5))


def _row(key: str) -> OperationProgress:
    db.session.expire_all()
    row = db.session.get(OperationProgress, key)
    assert row is not None, key
    return row


def test_import_steps_count_the_rows_checked_then_written(app, monkeypatch):
    monkeypatch.setattr(importing, "IMPORT_BATCH", 2)
    steps: list[Step] = []
    report = run_import(text_source(CSV), None, steps.append)
    assert report.written and report.created == 5
    assert [(s.done, s.total) for s in steps] == [
        (2, None),
        (4, None),
        (5, None),
        (2, 5),
        (4, 5),
        (5, 5),
    ]
    assert [str(s) for s in steps][-1] == "imported 5 of 5 rows"


def test_recalculation_steps_reach_the_whole_id_range(app):
    ids = [factories.contact(country="DE" if n % 2 else "FR").id for n in range(5)]
    group = saved_group(condition=GERMANS)
    steps: list[Step] = []
    done = recalculate_group(group.id, batch_size=2, progress=steps.append)
    assert done.completed and done.members == 2
    span = max(ids) - min(ids) + 1
    assert [(s.done, s.total) for s in steps] == [(2, span), (4, span), (span, span)]


def test_recorder_writes_at_most_once_per_interval_and_always_the_end(app):
    now = [0.0]
    recorder = ProgressRecorder(
        "import", Permission.EDIT_CONTACTS, "Importing", total=10, clock=lambda: now[0]
    ).start()
    recorder(Step("imported 2 of 10 rows", 2, 10))  # within the first second: not written
    assert _row(recorder.key).done == 0
    now[0] = 1.5
    recorder(Step("imported 4 of 10 rows", 4, 10))
    row = _row(recorder.key)
    assert (row.done, row.total, row.message, row.state) == (
        4,
        10,
        "imported 4 of 10 rows",
        "running",
    )
    recorder.finish("Imported 10 rows.", 10)
    row = _row(recorder.key)
    assert (row.done, row.state, row.message) == (10, "finished", "Imported 10 rows.")


def test_import_from_the_browser_is_recorded_under_the_forms_key(client, login_as):
    login_as(Role.MARKETER)
    checked = _check(client, CSV)
    key = re.search(r'name="progress_key" value="([0-9a-f]{32})"', checked.text).group(1)
    assert f'data-progress-url="/progress/{key}"' in checked.text
    response = client.post(
        "/contacts/import/confirm", data={"payload": _payload(checked.text), "progress_key": key}
    )
    assert response.status_code == 302
    polled = client.get(f"/progress/{key}")
    assert polled.status_code == 200
    assert polled.headers["Cache-Control"] == "no-store"
    assert polled.json == {
        "label": "Importing contacts",
        "state": "finished",
        "done": 5,
        "total": None,
        "message": "Imported 5 rows: 5 contacts created, 0 updated.",
    }


def test_progress_is_shown_only_to_users_who_may_see_the_operation(client, login_as):
    recorder = ProgressRecorder("import", Permission.EDIT_CONTACTS, "Importing").start()
    login_as(Role.ANALYST)  # may not import contacts
    assert client.get(f"/progress/{recorder.key}").status_code == 404
    login_as(Role.MARKETER)
    assert client.get(f"/progress/{recorder.key}").json["state"] == "running"
    assert client.get(f"/progress/{new_key()}").status_code == 404  # unknown
    assert client.get("/progress/../../etc").status_code == 404  # not a key


def test_recalculation_is_recorded_and_shown_on_the_groups_page(client, login_as):
    login_as(Role.MARKETER)
    factories.contact(country="DE")
    group = saved_group(condition=GERMANS)
    key = new_key()
    response = client.post(f"/contacts/groups/{group.id}/recalculate", data={"progress_key": key})
    assert response.status_code == 302
    row = _row(key)
    assert (row.kind, row.subject, row.state) == (RECALCULATION, str(group.id), "finished")
    assert row.message.startswith("Recalculated: 1 members")

    # A run still going (here: started by a scheduled job) shows on the page, polled, and the
    # Recalculate button waits for it.
    running_key = ProgressRecorder(
        RECALCULATION,
        Permission.MANAGE_GROUPS,
        "Recalculating",
        subject=str(group.id),
        total=9,
        clock=itertools.count(0, 5).__next__,  # seconds apart: every step is written
    ).start()
    running_key(Step("contacts up to id 3 of 9", 3, 9))
    page = client.get(f"/contacts/groups/{group.id}").text
    assert f'data-progress-url="/progress/{running_key.key}" data-progress-autostart' in page
    assert 'max="9" value="3"' in page
    assert ">Recalculate</button>" not in page

    # A run that stopped moving long ago died with its process: not shown as running.
    db.session.execute(
        update(OperationProgress)
        .where(OperationProgress.key == running_key.key)
        .values(updated_at=utcnow() - timedelta(hours=1))
    )
    db.session.commit()
    assert running(RECALCULATION, str(group.id)) is None
    assert client.get(f"/progress/{running_key.key}").json["state"] == "interrupted"
    assert ">Recalculate</button>" in client.get(f"/contacts/groups/{group.id}").text


def test_scheduled_purge_records_its_progress(runner, app):
    old = utcnow() - timedelta(days=50)
    for _ in range(3):
        factories.contact(last_activity_at=old)
    _enable(30)
    result = runner.invoke(args=["purge-inactive"])
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    row = db.session.scalars(
        select(OperationProgress).where(OperationProgress.kind == "purge")
    ).one()
    assert (row.state, row.done, row.total) == ("finished", 3, 3)
