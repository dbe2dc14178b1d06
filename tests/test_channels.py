"""Channels: validation, the level history and audit, the impact preview, install, keys, links."""

import hashlib
import html
import re
from datetime import timedelta
from urllib.parse import parse_qsl, urlsplit

import pytest
from sqlalchemy import select

from dashboard.channels.impact import CountedHits, estimate_impact
from dashboard.channels.origins import InvalidOrigin, normalise_origin
from dashboard.domain.cookie_levels import CookieLevel
from dashboard.domain.signing import verify_click
from dashboard.extensions import db
from dashboard.models import (
    AuditEntry,
    Channel,
    ChannelApiKey,
    ChannelOrigin,
    ChannelType,
    Consent,
    HitCounter,
    Role,
    utcnow,
)
from dashboard.models.hits import NO_CLAIM
from tests.test_consent import without_own_scripts

SECRET = "test-secret"  # conftest's SECRET_KEY


def _channel(code: str = "corporate-site", **fields) -> Channel:
    values = {"display_name": "Corporate site", "type": ChannelType.WEBSITE, **fields}
    origins = values.pop("origins", [])
    channel = Channel(code_name=code, **values)
    channel.origins = [ChannelOrigin(origin=o) for o in origins]
    db.session.add(channel)
    db.session.commit()
    return channel


def _consent(code: str = "tracking", display_name: str = "Tracking") -> Consent:
    consent = Consent(
        code_name=code, display_name=display_name, short_text="May we?", text_hash="h" * 64
    )
    db.session.add(consent)
    db.session.commit()
    return consent


def _reload(model, row_id):  # type: ignore[no-untyped-def]
    db.session.expire_all()
    return db.session.get(model, row_id)


def _audit(action: str) -> list[AuditEntry]:
    return list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == action)))


def _settings(**overrides) -> dict:
    data = {
        "display_name": "Corporate site",
        "default_cookie_level": "0",
        "allowed_origins": "https://www.example.com",
        "tracking_consent_id": "",
        "honour_gpc": "y",
        "count_untracked": "y",
        "enabled": "y",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


# --- Create and validate ----------------------------------------------------------------------


def test_create_website_channel_normalises_origins_and_audits(client, login_as):
    manager = login_as(Role.CHANNEL_MANAGER)
    origins = "https://WWW.Example.com:443/\n\nhttp://localhost:8000\nhttps://www.example.com"
    response = client.post(
        "/channels/new/website",
        data={"code_name": "corporate-site", **_settings(allowed_origins=origins)},
    )
    assert response.status_code == 302
    channel = db.session.scalar(select(Channel).where(Channel.code_name == "corporate-site"))
    assert response.headers["Location"] == f"/channels/{channel.id}/install"
    assert channel.type == ChannelType.WEBSITE
    assert channel.default_cookie_level == 0
    assert sorted(o.origin for o in channel.origins) == [
        "http://localhost:8000",
        "https://www.example.com",
    ]
    (entry,) = _audit("channel.create")
    assert entry.actor_email == manager.email
    assert entry.target_id == str(channel.id)


def test_new_website_channel_defaults_to_essential(client, login_as):
    login_as(Role.CHANNEL_MANAGER)
    page = client.get("/channels/new/website").get_data(as_text=True)
    checked = re.search(r'<input[^>]*checked[^>]*name="default_cookie_level"[^>]*>', page) or (
        re.search(r'<input[^>]*name="default_cookie_level"[^>]*checked[^>]*>', page)
    )
    assert checked is not None
    assert 'value="0"' in checked.group(0)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("code_name", "Corporate Site", "lower-case letters"),
        ("code_name", "corporate--site", "lower-case letters"),
        ("code_name", "", "This field is required."),
        ("display_name", "", "This field is required."),
        ("allowed_origins", "https://www.example.com/pricing", "Not an origin"),
        ("allowed_origins", "ftp://files.example.com", "Not an origin"),
        ("allowed_origins", "www.example.com", "Not an origin"),
        ("allowed_origins", "https://user:pw@example.com", "Not an origin"),
        ("allowed_origins", "https://example.com:99999", "Not an origin"),
        ("default_cookie_level", "999", "Not a valid choice"),
        ("default_cookie_level", "abc", "could not coerce"),
        ("tracking_consent_id", "12345", "Not a valid choice"),
    ],
)
def test_create_rejects_invalid_input(client, login_as, field, value, message):
    login_as(Role.CHANNEL_MANAGER)
    data = {"code_name": "corporate-site", **_settings(), field: value}
    response = client.post("/channels/new/website", data=data)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert db.session.scalar(select(Channel)) is None


def test_create_rejects_taken_code_name(client, login_as):
    login_as(Role.CHANNEL_MANAGER)
    _channel("corporate-site")
    response = client.post(
        "/channels/new/email", data={"code_name": "corporate-site", **_settings()}
    )
    assert response.status_code == 400
    assert "already exists" in response.get_data(as_text=True)
    assert len(db.session.scalars(select(Channel)).all()) == 1


def test_email_channel_has_neither_level_nor_origins(client, login_as):
    login_as(Role.CHANNEL_MANAGER)
    form = client.get("/channels/new/email").get_data(as_text=True)
    assert 'name="default_cookie_level"' not in form
    assert 'name="allowed_origins"' not in form
    data = {"code_name": "newsletter", **_settings(default_cookie_level="1000")}
    assert client.post("/channels/new/email", data=data).status_code == 302
    channel = db.session.scalar(select(Channel).where(Channel.code_name == "newsletter"))
    assert channel.type == ChannelType.EMAIL
    assert channel.default_cookie_level == 0
    assert channel.origins == []


def test_unknown_channel_type_is_404(client, login_as):
    login_as(Role.CHANNEL_MANAGER)
    assert client.get("/channels/new/fax").status_code == 404


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("https://WWW.Example.com", "https://www.example.com"),
        ("https://example.com:443/", "https://example.com"),
        ("http://example.com:80", "http://example.com"),
        ("http://localhost:5000", "http://localhost:5000"),
        ("https://[::1]:8443", "https://[::1]:8443"),
        ("https://bücher.example", "https://xn--bcher-kva.example"),
    ],
)
def test_origins_are_written_as_browsers_send_them(text, expected):
    assert normalise_origin(text) == expected


@pytest.mark.parametrize(
    "text",
    ["https://example.com/x", "https://example.com?a=1", "https://example.com#top",
     "https://*.example.com", "https://a..example.com", "javascript:alert(1)", "https://"],
)  # fmt: skip
def test_origin_with_path_query_or_bad_host_is_refused(text):
    with pytest.raises(InvalidOrigin):
        normalise_origin(text)


# --- Edit, level history and audit ------------------------------------------------------------


def test_level_change_is_audited_and_shown_in_history(client, login_as):
    manager = login_as(Role.CHANNEL_MANAGER)
    channel = _channel(origins=["https://www.example.com"])
    response = client.post(
        f"/channels/{channel.id}/edit", data=_settings(default_cookie_level="200")
    )
    assert response.status_code == 302
    assert _reload(Channel, channel.id).default_cookie_level == 200
    (entry,) = _audit("channel.cookie_level")
    assert entry.details == {"from": 0, "to": 200}
    assert entry.actor_email == manager.email
    assert (entry.target_type, entry.target_id) == ("channel", str(channel.id))
    history = client.get(f"/channels/{channel.id}").get_data(as_text=True)
    assert "Essential (0) → <strong>Visitor (200)</strong>" in history
    assert manager.email in history


def test_saving_without_level_change_writes_no_level_entry(client, login_as):
    login_as(Role.CHANNEL_MANAGER)
    channel = _channel(origins=["https://www.example.com"])
    response = client.post(f"/channels/{channel.id}/edit", data=_settings(display_name="Main site"))
    assert response.status_code == 302
    assert _audit("channel.cookie_level") == []
    (entry,) = _audit("channel.update")
    assert entry.details == {"display_name": ["Corporate site", "Main site"]}


def test_edit_replaces_origins_and_switches(client, login_as):
    login_as(Role.CHANNEL_MANAGER)
    consent = _consent()
    channel = _channel(origins=["https://a.example.com", "https://b.example.com"])
    data = _settings(
        allowed_origins="https://b.example.com\nhttps://c.example.com",
        tracking_consent_id=str(consent.id),
        honour_gpc=None,
        erase_on_revoke="y",
        enabled=None,
    )
    assert client.post(f"/channels/{channel.id}/edit", data=data).status_code == 302
    saved = _reload(Channel, channel.id)
    assert [o.origin for o in saved.origins] == ["https://b.example.com", "https://c.example.com"]
    assert saved.tracking_consent_id == consent.id
    assert (saved.honour_gpc, saved.erase_on_revoke, saved.enabled) == (False, True, False)
    assert saved.count_untracked is True
    (entry,) = _audit("channel.update")
    assert entry.details["origins"] == [
        ["https://a.example.com", "https://b.example.com"],
        ["https://b.example.com", "https://c.example.com"],
    ]
    assert entry.details["tracking_consent"] == [None, "tracking"]


def test_invalid_edit_changes_nothing(client, login_as):
    login_as(Role.CHANNEL_MANAGER)
    channel = _channel(origins=["https://www.example.com"])
    data = _settings(default_cookie_level="1000", allowed_origins="https://x.example.com/path")
    response = client.post(f"/channels/{channel.id}/edit", data=data)
    assert response.status_code == 400
    assert "https://x.example.com/path</textarea>" in response.get_data(as_text=True)
    saved = _reload(Channel, channel.id)
    assert saved.default_cookie_level == 0
    assert [o.origin for o in saved.origins] == ["https://www.example.com"]
    assert db.session.scalars(select(AuditEntry)).all() == []


@pytest.mark.parametrize("role", [Role.MARKETER, Role.ANALYST])
def test_other_roles_cannot_change_a_level(client, login_as, role):
    login_as(role)
    channel = _channel()
    response = client.post(
        f"/channels/{channel.id}/edit", data=_settings(default_cookie_level="1000")
    )
    assert response.status_code == 403
    assert _reload(Channel, channel.id).default_cookie_level == 0


@pytest.mark.parametrize("channel_id", ["999", "99999999999999999999999"])
def test_unknown_channel_is_404(client, login_as, channel_id):
    login_as(Role.ADMIN)
    for page in ("", "/edit", "/install"):
        assert client.get(f"/channels/{channel_id}{page}").status_code == 404


def test_headless_settings_have_a_level_but_no_origins(client, login_as):
    login_as(Role.CHANNEL_MANAGER)
    channel = _channel("mobile-app", type=ChannelType.HEADLESS)
    page = client.get(f"/channels/{channel.id}/edit").get_data(as_text=True)
    assert 'name="default_cookie_level"' in page
    assert 'name="allowed_origins"' not in page
    data = _settings(default_cookie_level="200", allowed_origins="not an origin")
    assert client.post(f"/channels/{channel.id}/edit", data=data).status_code == 302
    assert _reload(Channel, channel.id).default_cookie_level == 200


def test_email_settings_keep_the_level(client, login_as):
    login_as(Role.CHANNEL_MANAGER)
    channel = _channel("newsletter", type=ChannelType.EMAIL)
    page = client.get(f"/channels/{channel.id}/edit").get_data(as_text=True)
    assert 'name="default_cookie_level"' not in page
    assert "Preview impact" not in page
    data = _settings(default_cookie_level="1000", display_name="News")
    assert client.post(f"/channels/{channel.id}/edit", data=data).status_code == 302
    saved = _reload(Channel, channel.id)
    assert (saved.display_name, saved.default_cookie_level) == ("News", 0)
    assert _audit("channel.cookie_level") == []


# --- Impact preview ---------------------------------------------------------------------------


def _counter(channel: Channel, days_ago: int, claimed: int, *, agreed=False, gpc=False,
             tracked=False, hits: int, activity_type: str = "pagevisit") -> HitCounter:  # fmt: skip
    return HitCounter(
        channel_id=channel.id,
        day=utcnow().date() - timedelta(days=days_ago),
        activity_type=activity_type,
        claimed_level=claimed,
        has_agreement=agreed,
        gpc=gpc,
        tracked=tracked,
        hits=hits,
    )


@pytest.fixture
def known_store(app) -> Channel:
    """105 counted hits in the window, 30 of them tracked, at default Essential."""
    channel = _channel(origins=["https://www.example.com"])
    other = _channel("other-site", display_name="Other site")
    db.session.add_all(
        [
            _counter(channel, 0, NO_CLAIM, hits=60),  # no claim: default decides
            _counter(channel, 29, 1000, agreed=True, tracked=True, hits=30),  # first window day
            _counter(channel, 3, 1000, gpc=True, hits=10),  # forged raise with GPC
            _counter(channel, 1, -100, hits=5),  # the visitor lowered the level
            _counter(channel, 30, NO_CLAIM, hits=1000),  # outside the 30 days
            _counter(other, 0, NO_CLAIM, tracked=True, hits=500),  # another channel
        ]
    )
    db.session.commit()
    return channel


def test_estimate_replays_r1_for_every_level():
    rows = [
        CountedHits(NO_CLAIM, False, False, False, 60),
        CountedHits(1000, True, False, True, 30),
        CountedHits(1000, False, True, False, 10),
        CountedHits(-100, False, False, False, 5),
    ]
    with_gpc = estimate_impact(rows, honours_gpc=True)
    assert (with_gpc.total_hits, with_gpc.tracked_hits) == (105, 30)
    assert {int(k): v.tracked_hits for k, v in with_gpc.estimates.items()} == {
        -1000: 30, -100: 30, 0: 30, 100: 30, 200: 90, 1000: 90,
    }  # fmt: skip
    without_gpc = estimate_impact(rows, honours_gpc=False)
    assert without_gpc.estimates[CookieLevel.VISITOR].tracked_hits == 100
    assert without_gpc.estimates[CookieLevel.ALL].tracked_hits == 100


def test_estimate_keeps_the_recorded_outcome_of_an_unknown_claim():
    rows = [CountedHits(5, False, False, True, 7), CountedHits(5, False, False, False, 3)]
    impact = estimate_impact(rows, honours_gpc=True)
    assert impact.estimates[CookieLevel.NONE].tracked_hits == 7
    assert impact.estimates[CookieLevel.ALL].tracked_hits == 7


def test_preview_shows_exact_figures_and_saves_nothing(client, login_as, known_store):
    login_as(Role.CHANNEL_MANAGER)
    channel_id = known_store.id
    response = client.post(
        f"/channels/{channel_id}/edit",
        data=_settings(default_cookie_level="200", preview="Preview impact"),
    )
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "last 30 days' 105 counted hits" in page
    assert "<strong>28.6 %</strong> were tracked (30 hits)" in page
    assert 'At Visitor (200) an estimated <strong class="preview-figure">85.7 %</strong>' in page
    assert "(90 of 105 hits)" in page
    assert "How the estimate works" in page
    assert _reload(Channel, channel_id).default_cookie_level == 0
    assert db.session.scalars(select(AuditEntry)).all() == []


def test_preview_uses_the_gpc_switch_of_the_form(client, login_as, known_store):
    login_as(Role.CHANNEL_MANAGER)
    response = client.post(
        f"/channels/{known_store.id}/edit",
        data=_settings(default_cookie_level="200", honour_gpc=None, preview="Preview impact"),
    )
    page = response.get_data(as_text=True)
    assert '<strong class="preview-figure">95.2 %</strong>' in page
    assert "(100 of 105 hits)" in page
    assert _reload(Channel, known_store.id).honour_gpc is True


def test_edit_page_shows_every_level_estimate(client, login_as, known_store):
    login_as(Role.CHANNEL_MANAGER)
    page = client.get(f"/channels/{known_store.id}/edit").get_data(as_text=True)
    estimates = re.findall(r"Estimated tracked: ([\d.]+ %) \((\d+) of (\d+) hits\)", page)
    assert estimates == [
        ("28.6 %", "30", "105"),
        ("28.6 %", "30", "105"),
        ("28.6 %", "30", "105"),
        ("28.6 %", "30", "105"),
        ("85.7 %", "90", "105"),
        ("85.7 %", "90", "105"),
    ]


def test_list_shows_type_level_and_tracked_share(client, login_as, known_store):
    login_as(Role.CHANNEL_MANAGER)
    _channel("newsletter", display_name="Newsletter", type=ChannelType.EMAIL)
    page = client.get("/channels/").get_data(as_text=True)
    rows = {
        m.group(1): m.group(0)
        for m in re.finditer(r"<tr>\s*<th scope=\"row\"><a [^>]*>([^<]+)</a>.*?</tr>", page, re.S)
    }
    assert "28.6 %" in rows["Corporate site"]
    assert "of 105 hits" in rows["Corporate site"]
    assert "Essential (0)" in rows["Corporate site"]
    assert "100.0 %" in rows["Other site"]
    assert "of 500 hits" in rows["Other site"]
    assert "Email" in rows["Newsletter"]
    assert "no hits" in rows["Newsletter"]


# --- Install page -----------------------------------------------------------------------------


def test_install_page_shows_snippet_consent_and_last_hits(client, login_as, known_store):
    login_as(Role.CHANNEL_MANAGER)
    consent = _consent(display_name="Tracking cookies")
    known_store.tracking_consent_id = consent.id
    db.session.commit()
    page = client.get(f"/channels/{known_store.id}/install").get_data(as_text=True)
    snippet = (
        '&lt;script async src="http://localhost/t/v1/tracker.js" '
        'data-channel="corporate-site" data-banner="true"&gt;&lt;/script&gt;'
    )
    assert snippet in page
    assert "<script" not in without_own_scripts(page)  # shown as text, never as a live tag
    assert "Tracking cookies" in page and "May we?" in page
    today = utcnow().date().isoformat()
    assert f"<td>{today}</td><td>pagevisit</td><td>Not tracked</td><td>60</td>" in page


def test_install_page_warns_without_consent_or_origins(client, login_as):
    login_as(Role.CHANNEL_MANAGER)
    channel = _channel()
    page = client.get(f"/channels/{channel.id}/install").get_data(as_text=True)
    assert "No allowed origins yet" in page
    assert "has no tracking consent" in page


# --- Headless API keys ------------------------------------------------------------------------


def _headless() -> Channel:
    return _channel("mobile-app", display_name="Mobile app", type=ChannelType.HEADLESS)


def test_api_key_is_shown_once_and_stored_hashed(client, login_as):
    manager = login_as(Role.CHANNEL_MANAGER)
    channel = _headless()
    response = client.post(f"/channels/{channel.id}/keys", data={"name": "production"})
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    plain = html.unescape(
        re.search(r'<p class="secret"><code>([^<]+)</code>', response.get_data(as_text=True)).group(
            1
        )
    )
    assert len(plain) >= 40
    key = db.session.scalar(select(ChannelApiKey))
    assert key.key_hash == hashlib.sha256(plain.encode()).hexdigest()
    assert plain not in (key.key_hash, key.prefix, key.name)
    assert plain.startswith(key.prefix)
    (entry,) = _audit("channel.api_key_create")
    assert entry.actor_email == manager.email
    assert plain not in str(entry.details)
    listing = client.get(f"/channels/{channel.id}/install").get_data(as_text=True)
    assert plain not in listing
    assert f"{key.prefix}…" in listing


def test_api_key_needs_a_name(client, login_as):
    login_as(Role.CHANNEL_MANAGER)
    channel = _headless()
    response = client.post(f"/channels/{channel.id}/keys", data={"name": " "})
    assert response.status_code == 400
    assert "This field is required." in response.get_data(as_text=True)
    assert db.session.scalar(select(ChannelApiKey)) is None


def test_revoke_api_key(client, login_as):
    login_as(Role.CHANNEL_MANAGER)
    channel = _headless()
    client.post(f"/channels/{channel.id}/keys", data={"name": "production"})
    key = db.session.scalar(select(ChannelApiKey))
    response = client.post(f"/channels/{channel.id}/keys/{key.id}/revoke")
    assert response.status_code == 302
    assert _reload(ChannelApiKey, key.id).revoked_at is not None
    assert len(_audit("channel.api_key_revoke")) == 1
    page = client.get(f"/channels/{channel.id}/install").get_data(as_text=True)
    assert "Revoked" in page


def test_keys_belong_to_headless_channels_only(client, login_as):
    login_as(Role.CHANNEL_MANAGER)
    website = _channel()
    headless = _headless()
    assert client.post(f"/channels/{website.id}/keys", data={"name": "x"}).status_code == 404
    client.post(f"/channels/{headless.id}/keys", data={"name": "x"})
    key = db.session.scalar(select(ChannelApiKey))
    assert client.post(f"/channels/{website.id}/keys/{key.id}/revoke").status_code == 404
    assert _reload(ChannelApiKey, key.id).revoked_at is None


# --- Signed email links -----------------------------------------------------------------------

GUID = "2f1c0f5e-3b8e-4c47-9a59-0d2b1a3c4d5e"


def _newsletter() -> Channel:
    return _channel("newsletter", display_name="Newsletter", type=ChannelType.EMAIL)


def _made_link(response) -> str:  # type: ignore[no-untyped-def]
    found = re.search(r'<p class="secret"><code>([^<]+)</code>', response.get_data(as_text=True))
    return html.unescape(found.group(1))


def test_signed_link_verifies_and_an_altered_one_does_not(client, login_as):
    login_as(Role.CHANNEL_MANAGER)
    channel = _newsletter()
    target = "https://www.example.com/offer?x=1&y=2"
    response = client.post(
        f"/channels/{channel.id}/link", data={"url": target, "contact": GUID.upper()}
    )
    assert response.status_code == 200
    link = urlsplit(_made_link(response))
    assert (link.scheme, link.netloc, link.path) == ("http", "localhost", "/t/v1/click")
    params = dict(parse_qsl(link.query))
    assert params["u"] == target
    assert params["c"] == GUID
    assert params["ch"] == "newsletter"
    signature = params.pop("s")
    assert verify_click(params, signature, SECRET)
    assert not verify_click({**params, "u": "https://evil.example.com/"}, signature, SECRET)
    assert not verify_click(params, signature, "another-secret")


@pytest.mark.parametrize(
    ("url", "contact", "message"),
    [
        ("javascript:alert(1)", GUID, "http:// or https://"),
        ("https://www.example.com/", "not-a-guid", "Give a contact GUID"),
        ("", GUID, "This field is required."),
    ],
)
def test_signed_link_rejects_bad_input(client, login_as, url, contact, message):
    login_as(Role.CHANNEL_MANAGER)
    channel = _newsletter()
    response = client.post(f"/channels/{channel.id}/link", data={"url": url, "contact": contact})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert message in page
    assert "/t/v1/click?" not in page


def test_links_belong_to_email_channels_only(client, login_as):
    login_as(Role.CHANNEL_MANAGER)
    channel = _channel()
    response = client.post(
        f"/channels/{channel.id}/link", data={"url": "https://example.com", "contact": GUID}
    )
    assert response.status_code == 404
