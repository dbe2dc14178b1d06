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


_LOWER_HEADERS = [(name.lower(), name, value) for name, value in SECURITY_HEADERS.items()]


def _add_headers(response):  # type: ignore[no-untyped-def]
    """Add each security header the response does not set itself (a view may narrow one).

    One pass over the response's headers instead of a case-insensitive search per header: this
    runs on every response, tracking requests included, where it was a tenth of the CPU.
    """
    present = {name.lower() for name, _ in response.headers}
    headers = response.headers
    for lower, name, value in _LOWER_HEADERS:
        if lower not in present:
            headers.add(name, value)
    if request.is_secure and "strict-transport-security" not in present:
        headers.add("Strict-Transport-Security", "max-age=31536000")
    return response


def register(app: Flask) -> None:
    """Attach the hooks to ``app``; the write-intent hook runs before any other."""
    app.before_request_funcs.setdefault(None, []).insert(0, _begin_request)
    app.teardown_request(_end_request)
    app.after_request(_add_headers)
