"""Error handlers: JSON for JSON clients (the tracking API), HTML pages for people."""

import logging

from flask import Flask, jsonify, render_template, request
from werkzeug.exceptions import HTTPException, InternalServerError

from .extensions import db

log = logging.getLogger(__name__)

# Machine-readable codes of the tracking API's documented errors.
ERROR_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
    503: "unavailable",
}


def wants_json() -> bool:
    """Return whether the client should get a JSON error rather than a page."""
    if request.path.startswith("/t/"):
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return (
        best == "application/json"
        and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]
    )


def json_error(status: int, message: str, code: str | None = None, **headers: str):
    """Return the documented JSON error body ``{"error", "message"}`` with ``status``."""
    response = jsonify(error=code or ERROR_CODES.get(status, "error"), message=message)
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    response.headers.update(headers)
    return response


def handle_http_exception(exc: HTTPException):
    """Render an HTTP error as JSON or as the error page."""
    status = exc.code or 500
    headers = dict(exc.get_headers()) if exc.response is None else {}
    headers.pop("Content-Type", None)
    if wants_json():
        message = exc.description or exc.name
        return json_error(status, message, getattr(exc, "error_code", None), **headers)
    return render_template("errors/error.html", error=exc, status=status), status, headers


def handle_unexpected(exc: Exception):
    """Roll back, log and answer 500 for anything unhandled."""
    db.session.rollback()
    log.exception("unhandled error on %s %s", request.method, request.path)
    return handle_http_exception(InternalServerError())


def register(app: Flask) -> None:
    """Attach the handlers to ``app``."""
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(Exception, handle_unexpected)
