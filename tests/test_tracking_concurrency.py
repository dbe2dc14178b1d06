"""Several worker processes receive a fixed set of events with deliberate retries and
simultaneous copies; afterwards the store holds exactly that set, once each, and exactly one
contact per visitor."""

import uuid
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import func, select

from dashboard.extensions import db
from dashboard.models import Activity, Contact
from tests import factories
from tests.live_server import gunicorn
from tests.load_client import TrackerClient, visit

VISITORS = 24
PAGES_PER_VISITOR = 3


def test_concurrent_workers_store_each_event_once(app, tmp_path):
    factories.channel("shop-site", level=1000)
    with gunicorn(
        app.config["DATABASE_URL"],
        str(tmp_path),
        workers=3,
        TRACKING_RATE_LIMIT_ADDRESS_PER_MINUTE="1000000",
    ) as base:
        client = TrackerClient([base])
        with ThreadPoolExecutor(max_workers=8) as pool:
            visits = list(pool.map(lambda _n: visit(client, PAGES_PER_VISITOR), range(VISITORS)))
    expected = {uuid.UUID(i) for v in visits for i in v.event_ids}
    guids = [v.guid for v in visits]
    db.session.expire_all()
    stored = db.session.scalars(select(Activity.event_id)).all()
    assert len(stored) == len(set(stored)) == VISITORS * PAGES_PER_VISITOR * 2
    assert set(stored) == expected
    assert db.session.scalar(select(func.count()).select_from(Contact)) == VISITORS
    assert len(set(guids)) == VISITORS
    per_contact = db.session.execute(
        select(Activity.contact_id, func.count()).group_by(Activity.contact_id)
    ).all()
    assert sorted(n for _, n in per_contact) == [PAGES_PER_VISITOR * 2] * VISITORS
