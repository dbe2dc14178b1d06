"""Collect requests recorded together (one run of the group-commit writer) give exactly what
recording them one by one gives: the same answers, rows, counters and rate limits (R1-R13)."""

import json
import uuid

import pytest
from sqlalchemy import select

from dashboard.extensions import db
from dashboard.models import (
    Activity,
    ActivityType,
    Channel,
    Contact,
    ContactAlias,
    HitCounter,
    MembershipRefresh,
    RateLimitWindow,
)
from dashboard.tracking.collect import Sender, TrackingRefused
from dashboard.tracking.ratelimit import RateLimited, RatePolicy
from dashboard.tracking.together import Submission, record_one, record_together
from tests import factories
from tests.tracking_helpers import BROWSER_UA, event

BOT_UA = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
POLICY = RatePolicy(per_channel=1000, per_address=1000)


def _sender(*, address: str = "addr:a", ua: str = BROWSER_UA, **kwargs: object) -> Sender:
    fields = {"origin": factories.ORIGIN, "authorization": None, "user_agent": ua, "gpc": False}
    fields.update(kwargs)
    return Sender(address_key=address, **fields)  # type: ignore[arg-type]


def _submission(
    channel: str,
    events: list[dict],
    *,
    contact: str | None = None,
    sender: Sender | None = None,
    policy: RatePolicy = POLICY,
    **body: object,
) -> Submission:
    payload = {"channel": channel, "contact": contact, "events": events, **body}
    return Submission.parse(json.dumps(payload).encode(), sender or _sender(), policy)


@pytest.fixture
def store(app):
    consent = factories.consent()
    factories.channel("all-site", level=1000, consent=consent)
    factories.channel("low-site", level=0, consent=consent, count_untracked=True)
    headless = factories.channel("mobile-app", type="headless", level=200)
    known = factories.contact(email="known@example.com")
    merged_into = factories.contact(email="survivor@example.com")
    alias = uuid.uuid4()
    db.session.add(ContactAlias(guid=alias, contact_id=merged_into.id))
    db.session.add(ActivityType(code_name="demo_signup", display_name="Demo signup"))
    db.session.commit()
    return {
        "key": factories.api_key(headless),
        "known": known.guid,
        "alias": alias,
        "survivor": merged_into.guid,
    }


def _mix(store) -> list[Submission]:
    """One run's worth of requests touching every rule the collect path applies."""
    first_visit = [event(landing=True), event("click", value="Buy")]
    tight = RatePolicy(per_channel=1000, per_address=1)
    bearer = f"Bearer {store['key']}"
    return [
        _submission("all-site", first_visit),  # a new visitor
        _submission("all-site", first_visit),  # its retry, the first answer lost
        _submission("all-site", [event(), {"id": "nope", "type": "pagevisit"}]),
        _submission(
            "all-site",
            [event("customactivity", activity_type="demo_signup", value="x"), event()],
            contact=str(store["known"]),
        ),
        _submission("all-site", [event()], contact=str(store["alias"])),  # merged away (R10)
        _submission("all-site", [event("customactivity", activity_type="missing")]),
        _submission("nope-site", [event()]),
        _submission("all-site", [event()], sender=_sender(ua=BOT_UA)),
        _submission("low-site", [event()]),  # below Visitor: counted, not stored (R2, R3)
        _submission("low-site", [event()], cookie_level=1000),  # a forged raise (R1)
        _submission("all-site", [event()], sender=_sender(gpc=True), cookie_level=200),
        _submission("all-site", [event()], sender=_sender(address="addr:b"), policy=tight),
        _submission("all-site", [event()], sender=_sender(address="addr:b"), policy=tight),
        _submission("mobile-app", [event()]),  # no key
        _submission(
            "mobile-app",
            [event()],
            sender=_sender(origin=None, authorization=bearer, ua=None),
        ),
        _submission("all-site", first_visit),  # the same events a third time
    ]


def _one_by_one(submissions: list[Submission]) -> list[object]:
    answers: list[object] = []
    for submission in submissions:
        savepoint = db.session.begin_nested()
        try:
            answers.append(record_one(submission))
            savepoint.commit()
        except (TrackingRefused, RateLimited) as exc:
            savepoint.rollback()
            answers.append(exc)
    return answers


def _fingerprint(answers: list[object], store: dict) -> dict:
    """Answers and stored rows, with new contacts named by their first appearance."""
    rows = db.session.scalars(select(Contact)).all()
    guids = {c.id: c.guid for c in rows}
    names = {str(store["known"]): "known", str(store["survivor"]): "survivor"}

    def name(guid: object) -> object:
        if guid is None:
            return None
        return names.setdefault(str(guid), f"contact-{len(names)}")

    shown = []
    for answer in answers:
        if isinstance(answer, TrackingRefused):
            shown.append(("refused", answer.status, answer.code))
        elif isinstance(answer, RateLimited):
            shown.append(("rate_limited",))
        else:
            payload, allowed = answer  # type: ignore[misc]
            shown.append({**payload, "contact": name(payload["contact"]), "allowed": allowed})
    activities = sorted(
        (str(a.event_id), name(guids[a.contact_id]), a.type_id, a.channel_id, a.title, a.url)
        for a in db.session.scalars(select(Activity))
    )
    return {
        "answers": shown,
        "activities": activities,
        "contacts": sorted(str(name(g)) for g in guids.values()),
        "active": sorted(str(name(c.guid)) for c in rows if c.last_activity_at is not None),
        "hits": sorted(
            (
                h.channel_id,
                h.activity_type,
                h.claimed_level,
                h.has_agreement,
                h.gpc,
                h.tracked,
                h.hits,
            )
            for h in db.session.scalars(select(HitCounter))
        ),
        "limits": sorted((w.key, w.hits) for w in db.session.scalars(select(RateLimitWindow))),
        "queued": sorted(
            str(name(guids[m.contact_id])) for m in db.session.scalars(select(MembershipRefresh))
        ),
    }


def test_a_run_recorded_together_equals_the_requests_one_by_one(app, store):
    submissions = _mix(store)
    expected = _fingerprint(_one_by_one(submissions), store)
    db.session.rollback()

    got = _fingerprint(record_together(submissions), store)
    db.session.rollback()

    assert got == expected
    answers = got["answers"]
    assert answers[0]["tracked"] and answers[0]["contact"] is not None
    assert [r["status"] for r in answers[0]["results"]] == ["accepted", "accepted"]
    assert answers[1]["contact"] == answers[0]["contact"]  # a retry keeps its contact
    assert [r["status"] for r in answers[1]["results"]] == ["duplicate", "duplicate"]
    assert answers[15]["contact"] == answers[0]["contact"]
    assert answers[3]["contact"] == "known" and answers[4]["contact"] == "survivor"
    assert answers[5]["results"][0] == {
        "id": answers[5]["results"][0]["id"],
        "status": "rejected",
        "reason": "unknown_type",
    }
    assert answers[6] == ("refused", 404, "not_found")
    assert answers[7]["results"][0]["reason"] == "bot" and answers[7]["contact"] is None
    assert answers[8]["results"][0]["reason"] == "below_visitor"
    assert answers[9]["results"][0]["reason"] == "below_visitor"  # the forged raise is ignored
    assert answers[11]["tracked"] and answers[12] == ("rate_limited",)
    assert answers[13] == ("refused", 403, "forbidden")
    assert answers[14]["tracked"]
    assert ("addr:b", 1) in got["limits"]  # the refused request did not count


def test_a_run_stores_each_event_once_and_one_contact_per_new_visitor(app, store):
    first = [event(landing=True)]
    submissions = [_submission("all-site", first) for _ in range(3)]
    submissions += [_submission("all-site", [event()]) for _ in range(4)]
    answers = record_together(submissions)
    db.session.commit()
    contacts = {a[0]["contact"] for a in answers}  # type: ignore[index]
    assert len(contacts) == 5  # the three copies share one
    assert db.session.scalar(select(db.func.count()).select_from(Activity)) == 2 + 4
    channel_id = db.session.scalar(select(Channel.id).where(Channel.code_name == "all-site"))
    stamped = db.session.scalars(
        select(Contact.last_activity_at).where(Contact.guid.in_(uuid.UUID(c) for c in contacts))
    ).all()
    assert len(stamped) == 5 and all(stamped)
    assert (
        db.session.scalar(
            select(HitCounter.hits).where(
                HitCounter.channel_id == channel_id, HitCounter.activity_type == "pagevisit"
            )
        )
        == 5
    )
