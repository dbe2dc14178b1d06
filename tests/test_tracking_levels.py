"""POST /t/v1/collect: cookie levels and consent decide what is stored (R1-R3, R7)."""

import uuid

import pytest
from sqlalchemy import select

from dashboard.extensions import db
from dashboard.models import Activity, Contact, HitCounter
from dashboard.models.hits import NO_CLAIM
from tests import factories
from tests.tracking_helpers import activities, collect, contacts, event

CLEAR = ["CurrentContact", "CMSLandingPageLoaded"]


@pytest.fixture
def sites(app):
    consent = factories.consent()
    return {
        "corporate": factories.channel("corporate-site", level=0, consent=consent),
        "shop": factories.channel("shop-site", level=1000, consent=consent),
        "consent": consent,
    }


# (channel, claimed level, agreed, GPC header, expected tracked, expected level) - R1, R2
LEVEL_CASES = [
    ("corporate-site", None, False, False, False, 0),  # R1: no claim -> default (Essential)
    ("corporate-site", 1000, False, False, False, 0),  # R1: forged raise ignored
    ("corporate-site", 200, False, False, False, 0),  # R1: forged raise to Visitor ignored
    ("corporate-site", 1000, True, False, True, 1000),  # R1: raise with a current agreement
    ("corporate-site", -100, False, False, False, -100),  # R1: lowering always allowed
    ("shop-site", None, False, False, True, 1000),  # R2: default All tracks
    ("shop-site", 200, False, False, True, 200),  # R1: lower to Visitor still tracks
    ("shop-site", 0, False, False, False, 0),  # R1+R2: lowered below Visitor
    ("shop-site", None, False, True, False, 0),  # R1: GPC caps at Essential
    ("shop-site", 1000, True, True, True, 1000),  # R1: GPC does not override an agreement
]


@pytest.mark.parametrize(("code", "claimed", "agreed", "gpc", "tracked", "level"), LEVEL_CASES)
def test_r1_r2_effective_level_decides_tracking(
    client, sites, code, claimed, agreed, gpc, tracked, level
):
    guid = None
    if agreed:
        known = factories.contact()
        factories.agreement(known, sites["consent"])
        guid = str(known.guid)
    before = contacts()
    headers = {"Sec-GPC": "1"} if gpc else None
    response = collect(client, code, contact=guid, cookie_level=claimed, headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert body["tracked"] is tracked
    assert body["cookie_level"] == level
    assert response.headers["Cache-Control"] == "no-store"
    if tracked:
        assert body["contact"] is not None and body["clear"] == []
        assert body["results"][0]["status"] == "accepted"
        assert activities() >= 1
    else:
        assert body["contact"] is None  # R3
        assert sorted(body["clear"]) == sorted(CLEAR)
        assert body["results"][0] == {
            "id": body["results"][0]["id"],
            "status": "dropped",
            "reason": "below_visitor",
        }
        assert activities() == 0
        assert contacts() == before  # R3: no contact created or resolved


def test_r1_honour_gpc_switch_off_ignores_gpc(client, sites):
    sites["shop"].honour_gpc = False
    db.session.commit()
    body = collect(client, "shop-site", headers={"Sec-GPC": "1"}).get_json()
    assert body["tracked"] is True


def test_r1_unknown_cookie_level_is_400(client, sites):
    for bad in (5, "1000", 1000.5, True, [200]):
        response = collect(client, cookie_level=bad)
        assert response.status_code == 400
        assert response.get_json()["error"] == "bad_request"
    assert activities() == 0


def test_r3_none_level_clears_the_level_cookie_too(client, sites):
    body = collect(client, "shop-site", cookie_level=-1000).get_json()
    assert body["tracked"] is False
    assert sorted(body["clear"]) == sorted([*CLEAR, "CMSCookieLevel"])


def test_r3_untracked_hits_are_counted_anonymously(client, sites):
    collect(client, "corporate-site", events=[event(), event()], cookie_level=1000)
    collect(client, "shop-site", headers={"Sec-GPC": "1"})
    collect(client, "shop-site")
    rows = db.session.execute(
        select(
            HitCounter.channel_id,
            HitCounter.claimed_level,
            HitCounter.has_agreement,
            HitCounter.gpc,
            HitCounter.tracked,
            HitCounter.hits,
            HitCounter.activity_type,
        ).order_by(HitCounter.channel_id, HitCounter.gpc)
    ).all()
    corp, shop = sites["corporate"].id, sites["shop"].id
    assert [tuple(r) for r in rows] == [
        (corp, 1000, False, False, False, 2, "pagevisit"),
        (shop, NO_CLAIM, False, False, True, 1, "pagevisit"),
        (shop, NO_CLAIM, False, True, False, 1, "pagevisit"),
    ]


def test_r3_count_untracked_switch_off(client, sites):
    sites["corporate"].count_untracked = False
    db.session.commit()
    collect(client, "corporate-site")
    assert db.session.scalar(select(HitCounter.hits)) is None


def test_r7_unknown_or_malformed_guid_gets_a_new_contact(client, sites):
    for guid in (str(uuid.uuid4()), "not-a-guid"):
        body = collect(client, "shop-site", contact=guid).get_json()
        assert body["tracked"] and body["contact"] != guid
    assert contacts() == 2


def test_r7_known_guid_is_reused_and_last_activity_updated(client, sites):
    known = factories.contact()
    body = collect(client, "shop-site", contact=str(known.guid)).get_json()
    assert body["contact"] == str(known.guid)
    assert contacts() == 1
    db.session.expire_all()
    assert db.session.get(Contact, known.id).last_activity_at is not None


def test_r7_a_new_visitor_is_stamped_with_its_first_activity(client, sites):
    body = collect(client, "shop-site").get_json()
    new = db.session.scalar(select(Contact).where(Contact.guid == uuid.UUID(body["contact"])))
    stored = db.session.scalar(select(Activity.created_at).where(Activity.contact_id == new.id))
    assert new.last_activity_at == stored
    # Below Visitor nothing is created, so nothing is stamped.
    untracked = collect(client, "shop-site", cookie_level=0).get_json()
    assert untracked["contact"] is None and contacts() == 1


def test_activity_fields_utm_and_server_time(client, sites):
    visit = event(
        url="http://localhost:5000/p?utm_source=news&utm_campaign=spring&utm_content=a",
        referrer="https://search.example/q",
        created_at="1999-01-01",
    )
    collect(client, "shop-site", events=[visit])
    row = db.session.scalar(select(Activity))
    assert (row.utm_source, row.utm_medium, row.utm_campaign, row.utm_content) == (
        "news",
        None,
        "spring",
        "a",
    )
    assert row.referrer == "https://search.example/q"
    assert row.channel_id == sites["shop"].id
    assert row.event_id == uuid.UUID(visit["id"])
    assert row.created_at.year >= 2026  # the server's clock, not the client's
    assert row.title == "Pricing"
