"""Sessions and login throttling across processes: two separate gunicorn servers (two masters,
one worker each) over one database, as when the app runs on two machines. CSRF is on, as in
production. tests/test_auth.py covers the same rules inside one process."""

import re
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from http.cookiejar import CookieJar

import pytest

from dashboard.extensions import db
from dashboard.models import Role
from tests import factories
from tests.live_server import gunicorn

CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        return None


class Browser:
    """A cookie jar shared by both servers (cookies do not depend on the port), no redirects."""

    def __init__(self) -> None:
        self.jar = CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.jar), _NoRedirect()
        )

    def open(
        self, url: str, form: dict | None = None, headers: dict | None = None
    ) -> tuple[int, str, str]:
        """Status, Location and body of one request (POST when ``form`` is given)."""
        data = urllib.parse.urlencode(form).encode() if form is not None else None
        request = urllib.request.Request(url, data=data, headers=headers or {})  # noqa: S310 - loopback http
        try:
            with self.opener.open(request, timeout=30) as response:
                return response.status, "", response.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.headers.get("Location", ""), exc.read().decode()

    def csrf(self, url: str) -> str:
        return CSRF.search(self.open(url)[2]).group(1)

    def login(self, base: str, email: str, password: str) -> int:
        token = self.csrf(f"{base}/auth/login")
        form = {"csrf_token": token, "email": email, "password": password}
        return self.open(f"{base}/auth/login", form)[0]

    def session_cookie(self) -> str:
        return next(c.value for c in self.jar if c.name == "session")


def _user_email(role: Role) -> str:
    """Create a user; end the test's read transaction so the servers can write (SQLite)."""
    email = factories.user(role=role).email
    db.session.rollback()
    return email


@pytest.fixture
def two_servers(app, tmp_path) -> Iterator[tuple[str, str]]:
    url = app.config["DATABASE_URL"]
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    with (
        gunicorn(url, str(tmp_path / "a"), workers=1) as first,
        gunicorn(url, str(tmp_path / "b"), workers=1) as second,
    ):
        yield first, second


def test_failed_logins_are_counted_across_server_processes(app, two_servers):
    """Failures spread over two servers add up: the right password is then refused on both."""
    first, second = two_servers
    email = _user_email(Role.MARKETER)
    limit = app.config["LOGIN_THROTTLE_MAX_PER_EMAIL"]
    for attempt in range(limit):
        server = (first, second)[attempt % 2]
        assert Browser().login(server, email, "not the password") == 401
    for server in two_servers:
        assert Browser().login(server, email, factories.PASSWORD) == 429
    fresh = _user_email(Role.MARKETER)  # the throttle is per email, not global
    assert Browser().login(second, fresh, factories.PASSWORD) == 302


def test_logout_on_one_server_ends_the_session_on_the_other(two_servers):
    first, second = two_servers
    email = _user_email(Role.ADMIN)
    browser = Browser()
    assert browser.login(first, email, factories.PASSWORD) == 302
    stolen = browser.session_cookie()
    assert browser.open(f"{second}/users/")[0] == 200  # one session, valid on both servers

    token = browser.csrf(f"{first}/")
    assert browser.open(f"{first}/auth/logout", {"csrf_token": token})[0] == 302

    # The cookie the browser held before logging out, replayed elsewhere: refused.
    status, location, _ = Browser().open(
        f"{second}/users/", headers={"Cookie": f"session={stolen}"}
    )
    assert status == 302 and "/auth/login" in location
