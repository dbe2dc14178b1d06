"""Consent endpoints (R4, R5, R14, R15) and signed email clicks."""

import uuid
from urllib.parse import urlencode

import pytest
from sqlalchemy import select

from dashboard.domain.signing import click_query
from dashboard.extensions import db
from dashboard.models import Activity, AgreementAction, ConsentAgreement
from tests import factories
from tests.tracking_helpers import activities, collect, contacts, event, post


@pytest.fixture
def sites(app):
    consent = factories.consent()
    email_consent = factories.consent("email-tracking-consent", "We track email clicks.")
    return {
        "consent": consent,
        "email_consent": email_consent,
        "corporate": factories.channel("corporate-site", level=0, consent=consent),
        "newsletter": factories.channel("newsletter", type="email", consent=email_consent),
    }


def change(client, action: str, *, contact=None, hash_=None, consent="tracking-consent"):
    return post(
        client,
        {
            "channel": "corporate-site",
            "contact": contact,
            "cookie_level": None,
            "consent": consent,
            "action": action,
            "hash": hash_,
        },
        path="/t/v1/consent",
    )


def test_consent_texts(client, sites):
    response = client.get("/t/v1/consent?channel=corporate-site")
    body = response.get_json()
    assert body == {
        "code": "tracking-consent",
        "display_name": "Tracking consent",
        "short_text": "We use tracking cookies.",
        "full_text": "<p>We use tracking cookies.</p>",
        "hash": sites["consent"].text_hash,
    }
    factories.channel("no-consent-site")
    assert client.get("/t/v1/consent?channel=no-consent-site").status_code == 404
    assert client.get("/t/v1/consent?channel=nope").status_code == 404


def test_consent_texts_are_cleaned_on_the_way_out(client, sites):
    """A row not written through the dashboard's form (an import, SQL) still reaches other sites
    as plain short text and sanitised HTML (issue 8: hostile input everywhere)."""
    consent = sites["consent"]
    consent.short_text = '<b>We</b> track"><img src=x onerror=alert(1)>'
    consent.full_text = (
        '<p onclick="alert(1)">Full</p><script>alert(2)</script><a href="javascript:x">a</a>'
    )
    db.session.commit()
    body = client.get("/t/v1/consent?channel=corporate-site").get_json()
    assert body["short_text"] == 'We track">'
    assert body["full_text"] == '<p>Full</p><a rel="noopener noreferrer nofollow">a</a>'
    assert body["hash"] == consent.text_hash  # the version it identifies is unchanged


def test_r15_agreeing_to_a_stale_text_is_409(client, sites):
    response = change(client, "agree", hash_="0" * 64)
    assert response.status_code == 409
    assert response.get_json()["error"] == "conflict"
    assert contacts() == 0


def test_r4_agree_raises_to_all_then_tracking_follows(client, sites):
    body = change(client, "agree", hash_=sites["consent"].text_hash).get_json()
    assert body["agreed"] is True and body["cookie_level"] == 1000 and body["clear"] == []
    assert contacts() == 1
    row = db.session.scalar(select(ConsentAgreement))
    assert (row.action, row.text_hash) == (AgreementAction.AGREE, sites["consent"].text_hash)
    # R1: with the agreement, the raised claim on an Essential channel counts.
    tracked = collect(client, contact=body["contact"], cookie_level=1000).get_json()
    assert tracked["tracked"] is True and tracked["contact"] == body["contact"]
    status = client.get(f"/t/v1/consent/status?channel=corporate-site&contact={body['contact']}")
    assert status.get_json() == {"agreed": True}


def test_r5_revoke_stops_tracking_and_keeps_the_contact(client, sites):
    guid = change(client, "agree", hash_=sites["consent"].text_hash).get_json()["contact"]
    collect(client, contact=guid, cookie_level=1000)
    body = change(client, "revoke", contact=guid).get_json()
    assert body == {
        "agreed": False,
        "contact": None,
        "cookie_level": 0,
        "clear": ["CurrentContact", "CMSLandingPageLoaded"],
    }
    actions = db.session.scalars(
        select(ConsentAgreement.action).order_by(ConsentAgreement.id)
    ).all()
    assert actions == [AgreementAction.AGREE, AgreementAction.REVOKE]  # R14: append-only log
    assert contacts() == 1 and activities() == 1  # data stays (erasure is separate)
    after = collect(client, contact=guid, cookie_level=1000).get_json()
    assert after["tracked"] is False  # the forged raise no longer counts
    status = client.get(f"/t/v1/consent/status?channel=corporate-site&contact={guid}").get_json()
    assert status == {"agreed": False}


def test_r5_erase_on_revoke_deletes_activities(client, sites):
    sites["corporate"].erase_on_revoke = True
    db.session.commit()
    guid = change(client, "agree", hash_=sites["consent"].text_hash).get_json()["contact"]
    collect(client, contact=guid, cookie_level=1000, events=[event(), event()])
    assert activities() == 2
    change(client, "revoke", contact=guid)
    assert activities() == 0 and contacts() == 1


def test_consent_change_validation(client, sites):
    assert change(client, "maybe").status_code == 400
    assert change(client, "agree", consent="other", hash_="x").status_code == 400
    assert post(
        client, {"channel": "corporate-site"}, origin="https://evil.example", path="/t/v1/consent"
    ).status_code in (400, 403)
    revoke_nobody = change(client, "revoke").get_json()
    assert revoke_nobody["agreed"] is False and contacts() == 0


def _click_url(app, url="https://shop.example/offer?x=1", guid="", channel="newsletter"):
    return "/t/v1/click?" + click_query(url, guid, channel, app.config["SECRET_KEY"])


def test_signed_click_redirects_and_logs_with_agreement(app, client, sites):
    reader = factories.contact(email="r@example.com")
    factories.agreement(reader, sites["email_consent"])
    response = client.get(_click_url(app, guid=str(reader.guid)))
    assert response.status_code == 302
    assert response.headers["Location"] == "https://shop.example/offer?x=1"
    row = db.session.scalar(select(Activity))
    assert (row.contact_id, row.channel_id) == (reader.id, sites["newsletter"].id)
    assert row.url == "https://shop.example/offer?x=1"


def test_click_without_agreement_redirects_without_logging(app, client, sites):
    reader = factories.contact(email="r@example.com")
    assert client.get(_click_url(app, guid=str(reader.guid))).status_code == 302
    assert client.get(_click_url(app, guid=str(uuid.uuid4()))).status_code == 302
    assert activities() == 0


@pytest.mark.parametrize("tamper", ["u", "c", "ch", "s", "missing"])
def test_altered_or_unsigned_click_is_400_and_never_redirects(app, client, sites, tamper):
    reader = factories.contact()
    params = dict(
        p.split("=", 1) for p in _click_url(app, guid=str(reader.guid)).split("?", 1)[1].split("&")
    )
    if tamper == "missing":
        params.pop("s")
    else:
        params[tamper] = params[tamper] + "x"
    response = client.get("/t/v1/click?" + "&".join(f"{k}={v}" for k, v in params.items()))
    assert response.status_code == 400
    assert "Location" not in response.headers
    assert activities() == 0


def test_signed_link_to_a_non_http_target_is_refused(app, client, sites):
    response = client.get(_click_url(app, url="javascript:alert(1)"))
    assert response.status_code == 400 and "Location" not in response.headers
    unsigned = client.get("/t/v1/click?" + urlencode({"u": "https://evil.example/"}))
    assert unsigned.status_code == 400


def test_a_refused_consent_change_does_not_count_against_the_rate_limit(app, client, sites):
    """The limit is counted before anything is written; a refusal rolls the count back."""
    app.config["TRACKING_RATE_LIMIT_ADDRESS_PER_MINUTE"] = 1
    current = sites["consent"].text_hash
    assert change(client, "agree", hash_="0" * 64).status_code == 409
    assert change(client, "agree", hash_=current).status_code == 200
    assert change(client, "agree", hash_=current).status_code == 429
