"""Several worker processes receive a fixed set of events with deliberate retries and
simultaneous copies; afterwards the store holds exactly that set, once each, and exactly one
contact per visitor."""

import json
import threading
import urllib.error
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import func, select

from dashboard.extensions import db
from dashboard.models import Activity, Contact
from tests import factories
from tests.live_server import gunicorn
from tests.tracking_helpers import BROWSER_UA

VISITORS = 24
PAGES_PER_VISITOR = 3


def _send(base: str, body: dict) -> dict:
    request = urllib.request.Request(  # noqa: S310 - loopback test server
        base + "/t/v1/collect",
        data=json.dumps(body).encode(),
        method="POST",
        headers={
            "Content-Type": "text/plain",
            "Origin": factories.ORIGIN,
            "User-Agent": BROWSER_UA,
        },
    )
    for _attempt in range(20):  # the snippet retries 429 / 5xx with the same ids
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
                return json.loads(response.read())
        except urllib.error.HTTPError as exc:
            if exc.code < 500 and exc.code != 429:
                raise
    raise AssertionError("request kept failing")


def _visitor(base: str, expected: set[uuid.UUID]) -> str:
    """One visitor: the first request is sent twice at the same moment (no contact yet),
    later ones carry the contact and are each retried once."""
    pages = [
        [
            {
                "id": str(uuid.uuid4()),
                "type": "pagevisit",
                "url": f"http://localhost:5000/p{i}",
                "title": f"Page {i}",
            },
            {"id": str(uuid.uuid4()), "type": "click", "label": "x"},
        ]
        for i in range(PAGES_PER_VISITOR)
    ]
    for events in pages:
        expected.update(uuid.UUID(e["id"]) for e in events)
    first = {"channel": "shop-site", "contact": None, "cookie_level": None, "events": pages[0]}
    answers: list[dict] = []
    twins = [threading.Thread(target=lambda: answers.append(_send(base, first))) for _ in range(2)]
    for t in twins:
        t.start()
    for t in twins:
        t.join()
    contacts = {a["contact"] for a in answers}
    assert len(contacts) == 1, contacts  # both copies name the same single contact
    guid = contacts.pop()
    for events in pages[1:]:
        body = {"channel": "shop-site", "contact": guid, "cookie_level": None, "events": events}
        _send(base, body)
        retry = _send(base, body)
        assert {r["status"] for r in retry["results"]} == {"duplicate"}
    return guid


def test_concurrent_workers_store_each_event_once(app, tmp_path):
    factories.channel("shop-site", level=1000)
    expected: set[uuid.UUID] = set()
    lock = threading.Lock()
    with gunicorn(
        app.config["DATABASE_URL"],
        str(tmp_path),
        workers=3,
        TRACKING_RATE_LIMIT_ADDRESS_PER_MINUTE="1000000",
    ) as base:

        def run(_n: int) -> str:
            mine: set[uuid.UUID] = set()
            guid = _visitor(base, mine)
            with lock:
                expected.update(mine)
            return guid

        with ThreadPoolExecutor(max_workers=8) as pool:
            guids = list(pool.map(run, range(VISITORS)))
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
