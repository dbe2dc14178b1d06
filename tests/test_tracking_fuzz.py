"""Property-based: no body, header, content type, encoding or size makes the tracking API answer
5xx, and every error is the documented JSON of tracking-api.md (status, code, shape, headers)."""

import codecs
import io
import json
import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests import factories
from tests.factories import ORIGIN
from tests.tracking_helpers import BROWSER_UA, check_api_response

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


_check = check_api_response
FUZZ = settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


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


# --- Encodings -------------------------------------------------------------------------------
# The API takes UTF-8 JSON only (RFC 8259 section 8.1): any other encoding, a byte-order mark or
# invalid UTF-8 is "not JSON", i.e. 400 bad_request, whatever charset the Content-Type claims.

ENCODINGS = [
    "utf-8",
    "utf-8-sig",
    "utf-16",
    "utf-16-le",
    "utf-16-be",
    "utf-32",
    "latin-1",
    "cp1252",
]
CHARSET_TYPES = st.sampled_from(
    [
        "text/plain",
        "application/json",
        "text/plain; charset=utf-8",
        "application/json; charset=utf-16",
        "text/plain; charset=latin-1",
        "application/json; charset=utf-32",
        "text/plain; charset=bogus",
    ]
)
# Byte sequences that are never valid UTF-8: a stray continuation byte, an overlong NUL, bytes
# that never occur, a truncated 3-byte sequence, an encoded surrogate, a code point past U+10FFFF.
INVALID_UTF8 = [b"\x80", b"\xc0\x80", b"\xff", b"\xfe", b"\xe2\x82", b"\xed\xa0\x80", b"\xf4\x90"]


def _strict_utf8(raw: bytes) -> bool:
    """Whether the API may read ``raw`` as text: UTF-8, no byte-order mark."""
    if raw.startswith(codecs.BOM_UTF8):
        return False
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _is_bad_request(response) -> bool:
    return response.status_code == 400 and response.get_json()["error"] == "bad_request"


def _valid_body(**extra: object) -> dict:
    """A collect body the shop site accepts, with ``extra`` top-level keys."""
    events = [{"id": str(uuid.uuid4()), "type": "click", "label": "Buy"}]
    return {"channel": "shop-site", "events": events, **extra}


def _shop_post(client, raw: bytes, content_type: str = "text/plain", path: str = "/t/v1/collect"):
    headers = {"Origin": ORIGIN, "User-Agent": BROWSER_UA}
    return client.post(path, data=raw, headers=headers, content_type=content_type)


@FUZZ
@given(
    body=bodies,
    label=st.text(max_size=40),
    encoding=st.sampled_from(ENCODINGS),
    content_type=CHARSET_TYPES,
    path=st.sampled_from(["/t/v1/collect", "/t/v1/consent"]),
)
def test_other_encodings_are_documented_400s(
    app, client, sites, body, label, encoding, content_type, path
):
    app.config["TRACKING_RATE_LIMIT_ADDRESS_PER_MINUTE"] = 10**9
    raw = json.dumps({**body, "label": label}, ensure_ascii=False).encode(encoding, "replace")
    response = _shop_post(client, raw, content_type, path)
    _check(response)
    if not _strict_utf8(raw):
        assert _is_bad_request(response), response.get_data(as_text=True)


@FUZZ
@given(
    label=st.text(max_size=40),
    bad=st.sampled_from(INVALID_UTF8),
    where=st.floats(min_value=0, max_value=1),
    content_type=CHARSET_TYPES,
)
def test_invalid_utf8_anywhere_is_a_documented_400(
    app, client, sites, label, bad, where, content_type
):
    """The same valid body with an invalid byte sequence spliced in anywhere is refused whole:
    nothing is stored from it."""
    app.config["TRACKING_RATE_LIMIT_ADDRESS_PER_MINUTE"] = 10**9
    raw = json.dumps(_valid_body(label=label), ensure_ascii=False).encode()
    cut = int(len(raw) * where)
    response = _shop_post(client, raw[:cut] + bad + raw[cut:], content_type)
    _check(response)
    assert _is_bad_request(response), response.get_data(as_text=True)


def test_byte_order_mark_and_utf16_are_refused_but_plain_utf8_is_accepted(client, sites):
    text = json.dumps(_valid_body(note="naïve ☃ 😀"), ensure_ascii=False)
    assert _shop_post(client, text.encode("utf-8")).status_code == 200
    for raw in (text.encode("utf-8-sig"), text.encode("utf-16"), text.encode("utf-32")):
        response = _shop_post(client, raw, "application/json; charset=utf-16")
        _check(response)
        assert _is_bad_request(response)


# --- Strings the store cannot hold -----------------------------------------------------------


@pytest.mark.parametrize("escape", ["\\ud800", "\\udfff", "\\ude00\\ud83d", "\\u0000"])
@pytest.mark.parametrize(
    "where",
    [
        '{"channel": "shop-site", "events": [{"id": "%s", "type": "click", "label": "a%%sb"}]}',
        '{"channel": "shop-site", "events": [{"id": "%s", "type": "datainput",'
        ' "fields": {"first_name": "%%s"}}]}',
        '{"channel": "shop-site", "events": [{"id": "%s", "type": "pagevisit",'
        ' "url": "http://localhost:5000/%%s"}]}',
        '{"channel": "shop%%s", "events": [], "x": "%s"}',
        '{"channel": "shop-site", "events": [], "%%s": "%s"}',
    ],
)
def test_unstorable_string_escapes_are_400_not_500(client, sites, escape, where):
    """JSON may escape a lone UTF-16 surrogate or NUL, which no database text can hold: the
    request is refused whole with the documented 400 (a lone surrogate was a 500 before)."""
    raw = ((where % uuid.uuid4()) % escape).encode()
    response = _shop_post(client, raw)
    _check(response)
    assert _is_bad_request(response), response.get_data(as_text=True)


def test_surrogate_pairs_and_escaped_backslashes_are_ordinary_text(client, sites):
    """A valid pair (an emoji) is one character; ``\\\\u0000`` is a backslash and text, not NUL."""
    for label in ("\\ud83d\\ude00", "\\\\u0000", "\\\\ud800"):
        raw = json.dumps(_valid_body()).replace('"Buy"', f'"{label}"').encode()
        response = _shop_post(client, raw)
        assert response.status_code == 200, response.get_data(as_text=True)
        assert response.get_json()["results"][0]["status"] == "accepted"


# --- Sizes around 64 KiB ---------------------------------------------------------------------

LIMIT = 64 * 1024


def _padded(size: int) -> bytes:
    """A valid collect body of exactly ``size`` bytes (JSON whitespace as padding)."""
    raw = json.dumps(_valid_body()).encode()
    return raw[:-1] + b" " * (size - len(raw)) + raw[-1:]


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
@pytest.mark.parametrize("size", [LIMIT - 1, LIMIT, LIMIT + 1, LIMIT + 4096, 4 * LIMIT])
def test_bodies_around_64_kib(client, sites, size, chunked):
    """Up to 64 KiB is read; one byte more is 413, with or without a Content-Length (a chunked
    request has none: the limit holds while reading)."""
    raw = _padded(size)
    assert len(raw) == size
    headers = {"Origin": ORIGIN, "User-Agent": BROWSER_UA, "Content-Type": "text/plain"}
    if chunked:
        response = client.post(
            "/t/v1/collect",
            input_stream=io.BytesIO(raw),
            headers={**headers, "Transfer-Encoding": "chunked"},
            environ_overrides={"wsgi.input_terminated": True},
        )
    else:
        response = client.post("/t/v1/collect", data=raw, headers=headers)
    _check(response)
    if size <= LIMIT:
        assert response.status_code == 200
    else:
        assert response.status_code == 413


# --- Headers ---------------------------------------------------------------------------------

# Header values as a WSGI server hands them over: latin-1 text without line breaks.
header_text = st.text(
    alphabet=st.characters(min_codepoint=0, max_codepoint=255, blacklist_characters="\r\n"),
    max_size=300,
)
hostile_headers = st.dictionaries(
    st.sampled_from(
        [
            "Origin",
            "Authorization",
            "User-Agent",
            "Sec-GPC",
            "Content-Type",
            "Content-Encoding",
            "Accept",
            "Accept-Language",
            "Access-Control-Request-Method",
            "Access-Control-Request-Headers",
            "X-Forwarded-For",
            "Cookie",
        ]
    ),
    header_text
    | st.sampled_from(
        [
            "Bearer " + "k" * 5000,
            "http://localhost:5000/",
            "HTTP://LOCALHOST:5000",
            "http://localhost:5000\x00",
            "Bearer test-key-0123456789\x00",
        ]
    ),
    max_size=5,
)


@FUZZ
@given(
    sent_headers=hostile_headers,
    method_path=st.sampled_from(
        [
            ("POST", "/t/v1/collect"),
            ("POST", "/t/v1/consent"),
            ("OPTIONS", "/t/v1/collect"),
            ("OPTIONS", "/t/v1/consent"),
            ("GET", "/t/v1/consent?channel=shop-site"),
            ("GET", "/t/v1/consent/status?channel=shop-site&contact=x"),
            ("GET", "/t/v1/collect"),
            ("DELETE", "/t/v1/consent"),
        ]
    ),
    valid=st.booleans(),
)
def test_hostile_headers_never_break_the_contract(
    app, client, sites, sent_headers, method_path, valid
):
    app.config["TRACKING_RATE_LIMIT_ADDRESS_PER_MINUTE"] = 10**9
    method, path = method_path
    raw = json.dumps(_valid_body()).encode() if valid else b"{}"
    data = raw if method == "POST" else None
    _check(client.open(path, method=method, data=data, headers=sent_headers))


@pytest.mark.parametrize(
    "method_path",
    [("POST", "/t/v1/collect"), ("OPTIONS", "/t/v1/collect"), ("GET", "/t/v1/consent")],
)
def test_nul_in_origin_is_refused_not_500(client, sites, method_path):
    """PostgreSQL refuses a NUL in a query parameter; the Origin check must not pass one on (it
    was a 500 on PostgreSQL). The origin is simply not allowed."""
    method, path = method_path
    response = client.open(
        path,
        method=method,
        query_string={"channel": "shop-site"},
        data=json.dumps(_valid_body()) if method == "POST" else None,
        headers={"Origin": ORIGIN + "\x00", "User-Agent": BROWSER_UA},
    )
    _check(response)
    assert "Access-Control-Allow-Origin" not in response.headers
    if method != "GET":
        assert response.status_code == 403
