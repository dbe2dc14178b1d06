"""Access matrix: every (route, method) for anonymous visitors and each role.

The rules live in tests/access/<area>.py. A route missing from them fails
``test_matrix_covers_every_route``, so no page ships without a decision about who may use it.
"""

import importlib
import pkgutil

import pytest
from flask import url_for

from dashboard.models import Role
from tests import access
from tests.access import PUBLIC

ANON = "anonymous"


def _load_rules() -> tuple[dict, dict]:
    rules: dict = {}
    values: dict = {}
    for info in pkgutil.iter_modules(access.__path__):
        module = importlib.import_module(f"tests.access.{info.name}")
        clash = set(rules) & set(module.RULES)
        assert not clash, f"endpoints listed twice: {clash}"
        rules.update(module.RULES)
        values.update(module.URL_VALUES)
    return rules, values


MATRIX, URL_VALUES = _load_rules()


def _cases():
    for endpoint, (methods, allowed) in MATRIX.items():
        for method in methods:
            for who in (ANON, *Role):
                yield pytest.param(endpoint, method, who, allowed, id=f"{endpoint}-{method}-{who}")


def _url(app, endpoint: str) -> str:
    rule = next(r for r in app.url_map.iter_rules() if r.endpoint == endpoint)
    with app.test_request_context():
        return url_for(endpoint, **{a: URL_VALUES[a] for a in rule.arguments})


def test_matrix_covers_every_route(app):
    """Every route of app.url_map is in the matrix with exactly its methods."""
    seen: dict[str, set[str]] = {}
    for rule in app.url_map.iter_rules():
        automatic = {"HEAD", "OPTIONS"} if rule.provide_automatic_options else {"HEAD"}
        seen.setdefault(rule.endpoint, set()).update(rule.methods - automatic)
    missing = sorted(set(seen) - set(MATRIX))
    assert not missing, f"routes missing from the access matrix: {missing}"
    for endpoint, methods in seen.items():
        assert set(MATRIX[endpoint][0]) == methods, endpoint
    stale = sorted(set(MATRIX) - set(seen))
    assert not stale, f"matrix names routes that do not exist: {stale}"


@pytest.mark.parametrize(("endpoint", "method", "who", "allowed"), list(_cases()))
def test_access(app, client, login_as, endpoint, method, who, allowed):
    if who != ANON:
        login_as(who)
    with client.open(_url(app, endpoint), method=method) as response:
        status = response.status_code
        location = response.headers.get("Location", "")
        is_json = response.is_json
    assert status != 500
    if allowed == PUBLIC:
        # Public API routes may still refuse by their own policy (origin, key), in JSON.
        assert status != 401
        assert status != 403 or is_json
        assert "/auth/login?next" not in location
    elif who == ANON:
        assert status == 302
        assert "/auth/login" in location
    elif who in allowed:
        assert status not in (401, 403), status
        assert "/auth/login" not in location
    else:
        assert status == 403
