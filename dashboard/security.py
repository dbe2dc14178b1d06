"""Security headers, and write transactions that take SQLite's lock up front on unsafe methods."""

from flask import Flask, request

from .database import set_write_intent

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)

SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), interest-cohort=()",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def _begin_request() -> None:
    set_write_intent(request.method not in SAFE_METHODS)


def _end_request(_exc: BaseException | None) -> None:
    set_write_intent(False)


def _add_headers(response):  # type: ignore[no-untyped-def]
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    if request.is_secure:
        response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    return response


def register(app: Flask) -> None:
    """Attach the hooks to ``app``; the write-intent hook runs before any other."""
    app.before_request_funcs.setdefault(None, []).insert(0, _begin_request)
    app.teardown_request(_end_request)
    app.after_request(_add_headers)
