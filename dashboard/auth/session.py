"""Session cookie that is ``Secure`` whenever the request came over HTTPS, and no session at all
for the public tracking API."""

from flask import Flask, request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface

# The public tracking API never logs anyone in and never reads or writes the session: skipping
# it there saves unsigning and re-signing a cookie on every tracking request (about a tenth of
# the request's CPU) and guarantees the API never sets the dashboard's session cookie.
SESSIONLESS_PREFIX = "/t/"


class SecureAwareSessionInterface(SecureCookieSessionInterface):
    """Use SESSION_COOKIE_SECURE when set; otherwise mark the cookie Secure on HTTPS requests."""

    def open_session(self, app: Flask, request) -> SecureCookieSession | None:  # type: ignore[no-untyped-def, override]
        if request.path.startswith(SESSIONLESS_PREFIX):
            return self.make_null_session(app)
        return super().open_session(app, request)

    def get_cookie_secure(self, app: Flask) -> bool:
        configured = app.config["SESSION_COOKIE_SECURE"]
        if configured is not None:
            return bool(configured)
        return request.is_secure
