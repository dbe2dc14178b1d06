"""Session cookie that is ``Secure`` whenever the request came over HTTPS."""

from flask import Flask, request
from flask.sessions import SecureCookieSessionInterface


class SecureAwareSessionInterface(SecureCookieSessionInterface):
    """Use SESSION_COOKIE_SECURE when set; otherwise mark the cookie Secure on HTTPS requests."""

    def get_cookie_secure(self, app: Flask) -> bool:
        configured = app.config["SESSION_COOKIE_SECURE"]
        if configured is not None:
            return bool(configured)
        return request.is_secure
