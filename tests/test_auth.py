"""Login, logout, throttling, safe redirects and session cookies."""

import pytest
from sqlalchemy import func, select

from dashboard.extensions import db
from dashboard.models import LoginFailure, Role
from dashboard.urls import safe_next
from tests import factories


def _login(client, email, password=factories.PASSWORD, next_=None):
    url = "/auth/login" + (f"?next={next_}" if next_ else "")
    return client.post(url, data={"email": email, "password": password})


def test_login_with_valid_credentials_redirects_to_overview(client):
    user = factories.user(role=Role.ANALYST)
    response = _login(client, user.email.upper())  # emails are case-insensitive
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert client.get("/").status_code == 200


def test_unknown_email_and_wrong_password_get_the_same_answer(client):
    user = factories.user()
    wrong_password = _login(client, user.email, "not the password")
    unknown_email = _login(client, "nobody@example.com")
    assert wrong_password.status_code == unknown_email.status_code == 401
    assert b"Email or password is not correct." in wrong_password.data
    assert wrong_password.data.replace(user.email.encode(), b"") == unknown_email.data.replace(
        b"nobody@example.com", b""
    )


def test_inactive_user_cannot_log_in(client):
    user = factories.user(active=False)
    assert _login(client, user.email).status_code == 401


def test_empty_form_rerenders_with_field_errors(client):
    response = client.post("/auth/login", data={"email": "", "password": ""})
    assert response.status_code == 400
    assert b"This field is required." in response.data


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/contacts/", "/contacts/"),
        ("/users/?x=1", "/users/?x=1"),
        ("https://evil.example/", "/"),
        ("//evil.example/", "/"),
        ("/\\evil.example", "/"),
        ("javascript:alert(1)", "/"),
        ("/%0d%0aLocation:%20x", "/"),
        ("", "/"),
    ],
)
def test_next_only_redirects_to_local_paths(client, target, expected):
    user = factories.user()
    response = _login(client, user.email, next_=target)
    assert response.status_code == 302
    assert response.headers["Location"] == expected


def test_safe_next_refuses_control_characters():
    assert safe_next("/a\nb", "/") == "/"
    assert safe_next("/ok", "/") == "/ok"


def test_throttling_blocks_after_repeated_failures_even_with_right_password(app, client):
    user = factories.user()
    limit = app.config["LOGIN_THROTTLE_MAX_PER_EMAIL"]
    for _ in range(limit):
        assert _login(client, user.email, "wrong").status_code == 401
    blocked = _login(client, user.email)
    assert blocked.status_code == 429
    assert int(blocked.headers["Retry-After"]) > 0
    assert b"Too many failed attempts" in blocked.data


def test_throttle_is_counted_in_the_database_shared_by_processes(app, client, other_app):
    """A second app (another worker process) sees the failures the first one recorded."""
    user = factories.user()
    for _ in range(app.config["LOGIN_THROTTLE_MAX_PER_EMAIL"]):
        _login(client, user.email, "wrong")
    assert _login(other_app.test_client(), user.email).status_code == 429


def test_throttle_per_address(app, client):
    app.config["LOGIN_THROTTLE_MAX_PER_ADDRESS"] = 3
    for i in range(3):
        _login(client, f"guess{i}@example.com", "wrong")
    user = factories.user()
    assert _login(client, user.email).status_code == 429


def test_successful_login_clears_failures_for_that_email(client):
    user = factories.user()
    _login(client, user.email, "wrong")
    assert _login(client, user.email).status_code == 302
    count = db.session.scalar(
        select(func.count()).select_from(LoginFailure).where(LoginFailure.email == user.email)
    )
    assert count == 0


def test_logout_is_post_only(client, login_as):
    login_as(Role.ADMIN)
    assert client.get("/auth/logout").status_code == 405


def test_logged_out_session_cookie_cannot_be_replayed(app, client):
    user = factories.user(role=Role.ADMIN)
    _login(client, user.email)
    stolen = client.get_cookie("session").value
    assert client.post("/auth/logout").status_code == 302
    assert client.get("/").status_code == 302  # this browser is logged out

    replay = app.test_client()
    replay.set_cookie("session", stolen)
    response = replay.get("/")
    assert response.status_code == 302
    assert "/auth/login" in response.headers["Location"]


def test_session_cookie_flags(app, client):
    user = factories.user()
    response = _login(client, user.email)
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # plain HTTP here

    secure = app.test_client()
    response = secure.post(
        "/auth/login",
        data={"email": user.email, "password": factories.PASSWORD},
        base_url="https://localhost",
    )
    assert "Secure" in response.headers["Set-Cookie"]


def test_logged_in_user_visiting_login_goes_to_overview(client, login_as):
    login_as(Role.MARKETER)
    assert client.get("/auth/login").headers["Location"] == "/"


def test_deactivated_user_loses_its_open_session(client, login_as):
    user = login_as(Role.MARKETER)
    assert client.get("/").status_code == 200
    user.active = False
    db.session.commit()
    assert client.get("/").status_code == 302


def test_login_requires_csrf_token_when_enabled(app, client):
    app.config["WTF_CSRF_ENABLED"] = True
    user = factories.user()
    response = _login(client, user.email)
    assert response.status_code == 400
    assert b"CSRF" in response.data
