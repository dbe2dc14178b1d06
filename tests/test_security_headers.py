"""Security headers on every response (issue 8, item 5): a strict Content-Security-Policy, no
framing, no content sniffing, a referrer policy and the right Content-Type.

Every GET route of ``app.url_map`` is requested with real ids (tests/hostile.py stores hostile
data first, so the pages are not empty), as an admin and as an anonymous visitor, plus the public
API with real parameters, pages that echo their query string, and the error pages.
"""

import mimetypes
from collections.abc import Iterator

import pytest
from flask import Flask
from werkzeug.wrappers import Response

from dashboard.models import Role
from tests.hostile import api_urls, get_urls, reflected_urls, store_hostile_data
from tests.tracking_helpers import BROWSER_UA, collect

# The script sources a policy must never allow: each lets injected markup run script.
UNSAFE_SCRIPT_SOURCES = {
    "'unsafe-inline'",
    "'unsafe-eval'",
    "'unsafe-hashes'",
    "'wasm-unsafe-eval'",
    "*",
    "data:",
    "blob:",
    "http:",
    "https:",
}
SAFE_REFERRER_POLICIES = {"no-referrer", "same-origin", "strict-origin"}
# Routes that do not answer HTML, and what they answer instead (everything else is a page).
NOT_PAGES = {
    "groups.export": "text/csv",
    "main.progress": "application/json",
    "tracking.consent": "application/json",
    "tracking.consent_state": "application/json",
    "tracking.tracker_js": "text/javascript",
}


def csp_directives(header: str) -> dict[str, list[str]]:
    """A Content-Security-Policy header as {directive: sources}."""
    directives: dict[str, list[str]] = {}
    for part in header.split(";"):
        words = part.split()
        if words:
            directives.setdefault(words[0].lower(), words[1:])
    return directives


def header_problems(response: Response) -> list[str]:
    """What is wrong with the security headers of ``response``."""
    problems = []
    csp = response.headers.get("Content-Security-Policy")
    if not csp:
        return ["no Content-Security-Policy"]
    directives = csp_directives(csp)
    default = directives.get("default-src")
    for name in ("script-src", "style-src"):
        sources = directives.get(name, default)
        if sources is None:
            problems.append(f"no {name} (nor default-src): anything may run")
        elif unsafe := UNSAFE_SCRIPT_SOURCES & {s.lower() for s in sources}:
            problems.append(f"{name} allows {sorted(unsafe)}")
    if directives.get("object-src", default) != ["'none'"]:
        problems.append("object-src is not 'none'")
    if directives.get("base-uri") not in (["'none'"], ["'self'"]):
        problems.append("base-uri is not restricted")
    # Both: frame-ancestors for today's browsers, X-Frame-Options for older ones.
    if directives.get("frame-ancestors") not in (["'none'"], ["'self'"]):
        problems.append("may be framed: no frame-ancestors 'none' or 'self'")
    if response.headers.get("X-Frame-Options", "").upper() not in ("DENY", "SAMEORIGIN"):
        problems.append("may be framed: no X-Frame-Options")
    if response.headers.get("X-Content-Type-Options", "").lower() != "nosniff":
        problems.append("no X-Content-Type-Options: nosniff")
    if response.headers.get("Referrer-Policy", "").lower() not in SAFE_REFERRER_POLICIES:
        problems.append(f"Referrer-Policy {response.headers.get('Referrer-Policy')!r}")
    return problems


def expected_type(endpoint: str, path: str) -> str:
    """The media type a route answers with."""
    if endpoint == "static":
        return mimetypes.guess_type(path)[0] or "application/octet-stream"
    if path.split("?")[0].endswith(".csv"):
        return "text/csv"
    return NOT_PAGES.get(endpoint, "text/html")


def type_problems(response: Response, expected: str) -> list[str]:
    """A wrong Content-Type, or text without its charset."""
    content_type = response.headers.get("Content-Type", "")
    if response.mimetype != expected:
        return [f"Content-Type {content_type!r}, expected {expected}"]
    if expected.startswith("text/") and "charset=utf-8" not in content_type.lower():
        return [f"Content-Type {content_type!r} has no charset=utf-8"]
    return []


def _requests(app: Flask, store) -> Iterator[tuple[str, str]]:
    """(endpoint, path) of every GET route, the API with parameters and echoing pages."""
    seen = set()
    for endpoint, path in get_urls(app, store.url_values()):
        if path not in seen:
            seen.add(path)
            yield endpoint, path
    yield from api_urls(store)
    for path in reflected_urls(store):
        yield "", path


@pytest.fixture
def hostile(app, client, login_as):
    return store_hostile_data(app, client, login_as)


def test_every_get_route_has_the_security_headers_and_its_content_type(app, client, hostile):
    anonymous = app.test_client()
    problems: list[str] = []
    checked = 0
    answered: set[str] = set()  # media types checked on a 200
    for endpoint, path in _requests(app, hostile):
        for who, user_client in (("admin", client), ("anonymous", anonymous)):
            with user_client.get(path, headers={"User-Agent": BROWSER_UA}) as response:
                found = header_problems(response)
                if response.status_code == 200:
                    found += type_problems(response, expected_type(endpoint, path))
                    answered.add(response.mimetype)
                elif response.status_code != 302:
                    # Errors: the API's documented JSON, a page for people.
                    wanted = "application/json" if path.startswith("/t/") else "text/html"
                    found += type_problems(response, wanted)
                assert response.status_code < 500, (who, path)
                problems += [f"{who} GET {path}: {p}" for p in found]
                checked += 1
    assert checked > 250
    assert {"text/html", "text/csv", "application/json", "text/javascript"} <= answered, answered
    assert not problems, "\n".join(problems)


def test_api_answers_and_error_pages_have_them_too(app, client, login_as, other_app):
    # A route that fails, on an app that has not served a request yet.
    other_app.add_url_rule("/boom", "boom", lambda: 1 / 0)
    from tests import factories

    factories.channel()
    anonymous = app.test_client()
    responses = {
        "collect": collect(anonymous),
        "collect, bad JSON": anonymous.post(
            "/t/v1/collect", data="{", headers={"Origin": "http://localhost:5000"}
        ),
        "preflight": anonymous.options(
            "/t/v1/collect",
            headers={"Origin": "http://localhost:5000", "Access-Control-Request-Method": "POST"},
        ),
        "404 page": anonymous.get("/no/such/page"),
        "404 API": anonymous.get("/t/v1/nothing"),
        "405 page": anonymous.get("/auth/logout"),
        "500 page": other_app.test_client().get("/boom"),
    }
    login_as(Role.ANALYST)
    responses["403 page"] = client.get("/users/")
    responses["400 form"] = client.get("/contacts/bulk")
    expected = {"collect": 200, "collect, bad JSON": 400, "404 page": 404, "404 API": 404}
    expected |= {"405 page": 405, "500 page": 500, "403 page": 403}
    problems = []
    for name, response in responses.items():
        with response:
            if name in expected:
                assert response.status_code == expected[name], (name, response.status_code)
            wanted = "text/html" if "page" in name or "form" in name else "application/json"
            if name != "preflight":
                problems += [f"{name}: {p}" for p in type_problems(response, wanted)]
            problems += [f"{name}: {p}" for p in header_problems(response)]
    assert not problems, "\n".join(problems)


def test_the_checks_catch_weak_headers(app):
    """The checks above fail on the weaknesses they are for."""
    weak = Response(
        "",
        headers={
            "Content-Security-Policy": "default-src 'self'; script-src 'self' 'unsafe-inline'"
        },
        content_type="text/html",
    )
    found = " | ".join(header_problems(weak))
    for expected in ("script-src allows", "object-src", "base-uri", "frame-ancestors", "nosniff"):
        assert expected in found, (expected, found)
    assert "Referrer-Policy" in found
    assert type_problems(weak, "text/html") == ["Content-Type 'text/html' has no charset=utf-8"]
    assert type_problems(weak, "text/csv")
    assert header_problems(Response("")) == ["no Content-Security-Policy"]
