"""Property-based: no body, header or content type makes the tracking API answer 5xx, and every
error is the documented JSON."""

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests import factories
from tests.tracking_helpers import BROWSER_UA

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=20,
)
event_like = st.fixed_dictionaries(
    {},
    optional={
        "id": st.uuids().map(str) | st.text(max_size=40),
        "type": st.sampled_from(
            [
                "pagevisit",
                "click",
                "datainput",
                "bizformsubmit",
                "customactivity",
                "landingpage",
                "memberregistration",
                "x",
            ]
        ),
        "url": st.sampled_from(["http://localhost:5000/a?utm_source=s", "ftp://x", "", "http://"])
        | st.text(max_size=30),
        "title": st.text(max_size=300),
        "label": st.text(max_size=300),
        "value": json_values,
        "referrer": st.text(max_size=30),
        "landing": json_values,
        "activity_type": st.text(max_size=20),
        "fields": st.dictionaries(
            st.sampled_from(["email", "first_name", "country", "birthday", "zip", "nope"]),
            st.text(max_size=30) | st.integers(),
            max_size=4,
        )
        | json_values,
    },
)
bodies = st.fixed_dictionaries(
    {},
    optional={
        "channel": st.sampled_from(["shop-site", "corporate-site", "mobile-app", "nope"])
        | json_values,
        "contact": st.uuids().map(str) | json_values,
        "cookie_level": st.sampled_from([None, -1000, -100, 0, 100, 200, 1000, 5]) | json_values,
        "events": st.lists(event_like | json_values, max_size=6) | json_values,
        "consent": st.text(max_size=20),
        "action": st.sampled_from(["agree", "revoke", "x"]),
        "hash": st.text(max_size=64),
    },
)
headers = st.fixed_dictionaries(
    {},
    optional={
        "Origin": st.sampled_from(["http://localhost:5000", "https://evil.example", "null", ""]),
        "Sec-GPC": st.sampled_from(["1", "0", "yes"]),
        "User-Agent": st.sampled_from([BROWSER_UA, "", "Googlebot/2.1"]),
        "Authorization": st.sampled_from(["Bearer test-key-0123456789", "Bearer x", "Basic y"]),
        "Content-Type": st.sampled_from(
            [
                "text/plain",
                "application/json",
                "application/x-www-form-urlencoded",
                "multipart/form-data; boundary=x",
                "text/plain; charset=latin-1",
            ]
        ),
    },
)


@pytest.fixture
def sites(app):
    consent = factories.consent()
    factories.channel("shop-site", level=1000, consent=consent)
    factories.channel("corporate-site", level=0, consent=consent)
    factories.api_key(factories.channel("mobile-app", type="headless", level=200))


def _check(response) -> None:
    assert response.status_code < 500, response.get_data(as_text=True)
    if response.status_code >= 400:
        body = response.get_json()
        assert set(body) == {"error", "message"}
    else:
        assert response.is_json or response.status_code in (204, 302)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=bodies, sent_headers=headers, path=st.sampled_from(["/t/v1/collect", "/t/v1/consent"]))
def test_structured_bodies_never_yield_5xx(app, client, sites, body, sent_headers, path):
    app.config["TRACKING_RATE_LIMIT_ADDRESS_PER_MINUTE"] = 10**9
    content_type = sent_headers.pop("Content-Type", "text/plain")
    _check(
        client.post(path, data=json.dumps(body), headers=sent_headers, content_type=content_type)
    )


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(raw=st.binary(max_size=2000), sent_headers=headers)
def test_raw_bytes_never_yield_5xx(app, client, sites, raw, sent_headers):
    app.config["TRACKING_RATE_LIMIT_ADDRESS_PER_MINUTE"] = 10**9
    content_type = sent_headers.pop("Content-Type", "text/plain")
    _check(client.post("/t/v1/collect", data=raw, headers=sent_headers, content_type=content_type))


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    query=st.dictionaries(
        st.sampled_from(["u", "c", "ch", "s", "channel", "contact", "lang"]),
        st.text(max_size=40),
        max_size=5,
    ),
    path=st.sampled_from(["/t/v1/click", "/t/v1/consent", "/t/v1/consent/status"]),
)
def test_query_strings_never_yield_5xx(client, sites, query, path):
    _check(client.get(path, query_string=query))
