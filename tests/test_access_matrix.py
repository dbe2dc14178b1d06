"""Access matrix: every (route, method) for anonymous visitors and each role.

A route missing from MATRIX fails ``test_matrix_covers_every_route``, so new pages cannot ship
without a decision about who may use them.
"""

import pytest

from dashboard.models import Role

ANON = "anonymous"
ALL_ROLES = frozenset(Role)
PUBLIC = "public"

MARKETER = frozenset({Role.MARKETER, Role.ADMIN})
CHANNELS = frozenset({Role.CHANNEL_MANAGER, Role.ADMIN})
ANALYTICS = frozenset(Role)
ADMIN = frozenset({Role.ADMIN})

# endpoint -> (methods, who may use it). PUBLIC: no login needed.
MATRIX: dict[str, tuple[tuple[str, ...], frozenset | str]] = {
    "static": (("GET",), PUBLIC),
    "auth.login": (("GET", "POST"), PUBLIC),
    "auth.logout": (("POST",), PUBLIC),
    "main.index": (("GET",), ALL_ROLES),
    "contacts.index": (("GET",), MARKETER),
    "groups.index": (("GET",), MARKETER),
    "channels.index": (("GET",), CHANNELS),
    "consent.index": (("GET",), CHANNELS),
    "analytics.index": (("GET",), ANALYTICS),
    "users.index": (("GET",), ADMIN),
    "users.create": (("GET", "POST"), ADMIN),
    "users.edit": (("GET", "POST"), ADMIN),
    "users.reset": (("POST",), ADMIN),
    "audit.index": (("GET",), ADMIN),
}

# Values for URL parameters; ids that do not exist still prove the role check runs first.
URL_VALUES = {"user_id": 1, "filename": "css/app.css"}


def _cases():
    for endpoint, (methods, allowed) in MATRIX.items():
        for method in methods:
            for who in (ANON, *Role):
                yield pytest.param(endpoint, method, who, allowed, id=f"{endpoint}-{method}-{who}")


def _url(app, endpoint: str) -> str:
    rule = next(r for r in app.url_map.iter_rules() if r.endpoint == endpoint)
    with app.test_request_context():
        from flask import url_for

        return url_for(endpoint, **{a: URL_VALUES[a] for a in rule.arguments})


def test_matrix_covers_every_route(app):
    """Every route of app.url_map is in the matrix with exactly its methods."""
    seen: dict[str, set[str]] = {}
    for rule in app.url_map.iter_rules():
        seen.setdefault(rule.endpoint, set()).update(rule.methods - {"HEAD", "OPTIONS"})
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
        pass
    location = response.headers.get("Location", "")
    if allowed == PUBLIC:
        assert response.status_code not in (401, 403, 500)
        assert "/auth/login?next" not in location
    elif who == ANON:
        assert response.status_code == 302
        assert "/auth/login" in location
    elif who in allowed:
        assert response.status_code not in (401, 403, 500), response.status_code
        assert "/auth/login" not in location
    else:
        assert response.status_code == 403
