"""The transport of the tracking API: errors, limits, CORS, keys, bots, rate limits, snippet."""

import json
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from dashboard.extensions import db
from dashboard.models import Activity, ChannelApiKey
from tests import factories
from tests.tracking_helpers import BROWSER_UA, activities, collect, contacts, event, post


@pytest.fixture
def sites(app):
    consent = factories.consent()
    shop = factories.channel("shop-site", level=1000, consent=consent)
    app_channel = factories.channel("mobile-app", type="headless", level=200)
    return {"shop": shop, "app": app_channel, "key": factories.api_key(app_channel)}


def _error(response, status: int, code: str) -> None:
    assert response.status_code == status
    assert response.is_json
    body = response.get_json()
    assert body["error"] == code and isinstance(body["message"], str) and body["message"]


@pytest.mark.parametrize(
    "raw",
    [
        b"not json",
        b"[1, 2]",
        b'{"channel": 5}',
        b'{"channel": "shop-site", "events": {}}',
        b'{"channel": "shop-site", "events": [], "contact": 7}',
        b"\xff\xfe",
        b'{"a": NaN}',
        b"[" * 5000 + b"]" * 5000,
    ],
)
def test_malformed_bodies_are_400_json(client, sites, raw):
    _error(post(client, raw), 400, "bad_request")


def test_too_many_events_is_400(client, sites):
    _error(collect(client, "shop-site", events=[event() for _ in range(51)]), 400, "bad_request")
    assert collect(client, "shop-site", events=[event() for _ in range(50)]).status_code == 200


def test_body_over_64_kib_is_413(client, sites):
    big = {
        "channel": "shop-site",
        "events": [event(title="x" * 250) for _ in range(50)],
        "pad": "y" * 70000,
    }
    _error(post(client, big), 413, "payload_too_large")
    assert activities() == 0


def test_json_content_type_is_accepted_too(client, sites):
    body = {"channel": "shop-site", "events": [event()]}
    assert post(client, body, content_type="application/json").status_code == 200


def test_unknown_and_disabled_channels_are_404(client, sites):
    _error(collect(client, "no-such-site"), 404, "not_found")
    sites["shop"].enabled = False
    db.session.commit()
    _error(collect(client, "shop-site"), 404, "not_found")


def test_origin_must_be_allowed(client, sites):
    _error(collect(client, "shop-site", origin="https://evil.example"), 403, "forbidden")
    _error(collect(client, "shop-site", origin=None), 403, "forbidden")
    assert contacts() == 0


def test_cors_echoes_allowed_origin_only(client, sites):
    ok = collect(client, "shop-site")
    assert ok.headers["Access-Control-Allow-Origin"] == factories.ORIGIN
    assert "Origin" in ok.headers["Vary"]
    assert "Access-Control-Allow-Credentials" not in ok.headers
    bad = collect(client, "shop-site", origin="https://evil.example")
    assert "Access-Control-Allow-Origin" not in bad.headers
    assert "*" not in bad.headers.get("Access-Control-Allow-Origin", "")


def test_preflight(client, sites):
    ok = client.options(
        "/t/v1/collect",
        headers={"Origin": factories.ORIGIN, "Access-Control-Request-Method": "POST"},
    )
    assert ok.status_code == 204
    assert ok.headers["Access-Control-Allow-Origin"] == factories.ORIGIN
    assert "POST" in ok.headers["Access-Control-Allow-Methods"]
    bad = client.options("/t/v1/collect", headers={"Origin": "https://evil.example"})
    assert bad.status_code == 403
    assert "Access-Control-Allow-Origin" not in bad.headers


def test_headless_channel_needs_a_live_bearer_key(client, sites):
    def send(key):
        headers = {"Authorization": f"Bearer {key}"} if key else None
        return collect(client, "mobile-app", origin=None, headers=headers)

    assert send(sites["key"]).get_json()["tracked"] is True  # headless default: Visitor
    _error(send(None), 403, "forbidden")
    _error(send("wrong-key"), 403, "forbidden")
    row = db.session.scalar(select(ChannelApiKey))
    row.revoked_at = datetime.now(UTC)
    db.session.commit()
    _error(send(sites["key"]), 403, "forbidden")


def test_email_channels_take_no_collect_requests(client, sites):
    factories.channel("newsletter", type="email")
    _error(collect(client, "newsletter"), 403, "forbidden")


@pytest.mark.parametrize(
    "agent", ["Googlebot/2.1 (+http://www.google.com/bot.html)", "", "curl/8.0"]
)
def test_bots_are_dropped(client, sites, agent):
    response = post(
        client, {"channel": "shop-site", "events": [event()]}, headers={"User-Agent": agent}
    )
    body = response.get_json()
    assert body["tracked"] is False
    assert body["results"][0] == {
        "id": body["results"][0]["id"],
        "status": "dropped",
        "reason": "bot",
    }
    assert contacts() == 0 and activities() == 0


def test_rate_limit_per_address_across_processes(app, client, other_app, sites):
    for a in (app, other_app):
        a.config["TRACKING_RATE_LIMIT_ADDRESS_PER_MINUTE"] = 3
    assert collect(client, "shop-site").status_code == 200
    assert collect(other_app.test_client(), "shop-site").status_code == 200
    assert collect(client, "shop-site").status_code == 200
    limited = collect(other_app.test_client(), "shop-site")
    _error(limited, 429, "rate_limited")
    assert 0 < int(limited.headers["Retry-After"]) <= 60
    assert activities() == 3  # the refused request stored nothing


def test_rate_limit_per_channel(app, client, sites):
    app.config["TRACKING_RATE_LIMIT_CHANNEL_PER_MINUTE"] = 1
    assert collect(client, "shop-site").status_code == 200
    _error(collect(client, "shop-site"), 429, "rate_limited")


def test_store_unavailable_is_503_with_retry_after(app, client, sites, monkeypatch):
    from sqlalchemy.exc import OperationalError

    from dashboard.tracking import collect as collect_module
    from dashboard.tracking import together

    def broken(*_args, **_kwargs):
        raise OperationalError("SELECT 1", {}, Exception("connection refused"))

    monkeypatch.setattr(collect_module, "find_channel_for_origin", broken)
    monkeypatch.setattr(together, "find_channel_for_origin", broken)
    response = collect(client, "shop-site")
    _error(response, 503, "unavailable")
    assert response.headers["Retry-After"] == "5"


def test_store_down_for_every_read_is_still_503_not_500(app, client, sites, monkeypatch):
    """The 503 answer itself must not need the store (its CORS header once read it: a 500)."""
    from sqlalchemy.exc import OperationalError

    from dashboard.tracking import collect as collect_module
    from dashboard.tracking import together, views

    def broken(*_args, **_kwargs):
        raise OperationalError("SELECT 1", {}, Exception("database is locked"))

    monkeypatch.setattr(collect_module, "find_channel_for_origin", broken)
    monkeypatch.setattr(together, "find_channel_for_origin", broken)
    monkeypatch.setattr(views, "origin_allowed_anywhere", broken)
    response = collect(client, "shop-site")
    _error(response, 503, "unavailable")
    assert response.headers["Retry-After"] == "5"
    assert "Access-Control-Allow-Origin" not in response.headers


def test_tracker_js_is_plain_cacheable_javascript_without_cookies(client):
    with client.get("/t/v1/tracker.js") as response:
        source = response.get_data(as_text=True)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/javascript")
    assert "max-age=3600" in response.headers["Cache-Control"]
    assert "Set-Cookie" not in response.headers
    assert len(source.encode()) < 12 * 1024
    for name in (
        "CMSCookieLevel",
        "CurrentContact",
        "CMSLandingPageLoaded",
        "sendBeacon",
        "keepalive",
    ):
        assert name in source
    assert "eval(" not in source and "innerHTML" not in source


def test_demo_pages_embed_the_snippet(client):
    page = client.get("/demo/").get_data(as_text=True)
    assert 'src="/t/v1/tracker.js"' in page and 'data-channel="corporate-site"' in page
    shop = client.get("/demo/shop/pricing").get_data(as_text=True)
    assert 'data-channel="shop-site"' in shop
    assert client.get("/demo/nope/").status_code == 404
    assert "<script>" not in page  # no inline script


def test_demo_contact_form_is_recorded_as_a_form_submission(client, sites):
    factories.channel("corporate-site", level=0)
    client.set_cookie("CMSCookieLevel", "0")
    response = client.post(
        "/demo/corporate/contact",
        data={"email": "Mia@Example.com", "first_name": "Mia", "last_name": "", "company": ""},
        headers={"User-Agent": BROWSER_UA},
    )
    assert response.status_code == 200
    row = db.session.scalar(select(Activity))
    assert row.data == {"email": "mia@example.com", "first_name": "Mia"}
    assert row.url is None  # R9 below Visitor
    bad = client.post("/demo/corporate/contact", data={"email": "nope"})
    assert bad.status_code == 400 and b"Invalid email address" in bad.data


def test_json_errors_never_leak_html(client, sites):
    response = client.get("/t/v1/collect")
    assert response.status_code == 405 and response.is_json
    assert json.loads(response.data)["error"] == "method_not_allowed"


def test_nul_characters_are_refused_not_500(client, sites):
    """PostgreSQL cannot store NUL in text: refuse it up front on every engine."""
    _error(collect(client, "shop-site", events=[event(title="a\x00b")]), 400, "bad_request")
    assert client.get("/t/v1/consent/status?channel=shop%00&contact=x").status_code == 404
    assert client.get("/t/v1/consent?channel=shop-site&lang=d%00e").status_code == 200
    assert activities() == 0
