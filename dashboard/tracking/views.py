"""Routes of the public tracking API: parse the HTTP request, call a service, answer JSON."""

from collections.abc import Callable
from typing import Any

from flask import (
    abort,
    current_app,
    g,
    jsonify,
    make_response,
    redirect,
    request,
    send_from_directory,
)
from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError

from ..database import write_intent
from ..errors import json_error
from ..extensions import db
from . import bp
from .clicks import record_click
from .collect import Sender, TrackingRefused
from .consent_api import change_consent, consent_status, consent_texts
from .guards import origin_allowed_anywhere
from .ratelimit import RateLimited, RatePolicy, address_key
from .together import Submission, record_one, record_together
from .writer import run_write

MAX_BODY = 64 * 1024


def _sender() -> Sender:
    cfg = current_app.config
    return Sender(
        origin=request.headers.get("Origin"),
        authorization=request.headers.get("Authorization"),
        user_agent=request.headers.get("User-Agent"),
        gpc=request.headers.get("Sec-GPC", "").strip() == "1",
        address_key=address_key(request.remote_addr or "-", cfg["SECRET_KEY"]),
    )


def _policy() -> RatePolicy:
    cfg = current_app.config
    return RatePolicy(
        cfg["TRACKING_RATE_LIMIT_CHANNEL_PER_MINUTE"], cfg["TRACKING_RATE_LIMIT_ADDRESS_PER_MINUTE"]
    )


def _body() -> bytes:
    """The request body, refused with 413 past 64 KiB, also without a Content-Length.

    A chunked body has no declared length, so Werkzeug's limit only stops reading: it would
    silently cut the body at the limit. Reading one byte past it tells "exactly 64 KiB" from
    "more", and more is refused rather than parsed truncated.
    """
    if (request.content_length or 0) > MAX_BODY:
        abort(413)
    request.max_content_length = MAX_BODY + 1
    body = request.get_data(cache=False)
    if len(body) > MAX_BODY:
        abort(413)
    return body


def _origin_allowed(origin: str) -> bool:
    """Whether some channel allows ``origin``, read once per request.

    Writes read it inside their own unit of work (``_write``). Elsewhere an unavailable store
    makes it False rather than an error (the 503 handler must not fail in turn): the answer
    then lacks the CORS header, and the snippet retries an unreadable answer like a 5xx.
    """
    if "cors_allowed" not in g:
        try:
            g.cors_allowed = _allowed_anywhere(origin)
        except (OperationalError, InterfaceError):
            db.session.rollback()
            g.cors_allowed = False
    return g.cors_allowed


def _cors(response):  # type: ignore[no-untyped-def]
    """Echo the Origin only when some channel allows it; never ``*``, never credentials."""
    origin = request.headers.get("Origin")
    response.headers.add("Vary", "Origin")
    if origin and _origin_allowed(origin):
        response.headers["Access-Control-Allow-Origin"] = origin
    response.headers["Cache-Control"] = "no-store"
    return response


def _allowed_anywhere(origin: str) -> bool:
    """The CORS lookup, in a read transaction of its own: after a POST's commit it must not
    take SQLite's writer slot (BEGIN IMMEDIATE) a second time just to read the origins."""
    if db.session().in_transaction():
        return origin_allowed_anywhere(origin)
    with write_intent(False):
        allowed = origin_allowed_anywhere(origin)
    db.session.rollback()
    return allowed


def _json(payload: dict[str, Any], status: int = 200):  # type: ignore[no-untyped-def]
    return _cors(make_response(jsonify(payload), status))


def _write(  # type: ignore[no-untyped-def]
    action: Callable[[], tuple[dict[str, Any], bool]],
    together: Callable[[list[Any]], list[Any]] | None = None,
    item: Any = None,
):
    """Run a writing service and answer once it is committed (a 200 means durable).

    ``action`` returns the answer and whether it already knows the Origin is allowed (one of
    the named channel's origins); if not, the CORS answer is read inside the same unit of work:
    no second transaction after the commit, which could fail (the store gone meanwhile) and turn
    a durable 200 into an error. With ``together``, the writer may run ``item`` with other
    requests' items instead (see ``GroupCommitWriter.submit``); that answer already says
    whether any channel allows the Origin. A uniqueness race (two requests creating the same
    email at once) is retried: the retry sees the other transaction's row and takes the merge
    path.
    """
    origin = request.headers.get("Origin")

    def unit() -> tuple[dict[str, Any], bool]:
        payload, allowed = action()
        return payload, allowed or (bool(origin) and origin_allowed_anywhere(origin))

    for attempt in range(3):
        try:
            payload, g.cors_allowed = run_write(unit, together=together, item=item)
            return _json(payload)
        except IntegrityError:
            if attempt == 2:
                raise
        except RateLimited as exc:
            response = json_error(429, "too many requests; slow down", "rate_limited")
            response.headers["Retry-After"] = str(exc.retry_after)
            return _cors(response)
    raise AssertionError("unreachable")


@bp.errorhandler(TrackingRefused)
def _refused(exc: TrackingRefused):  # type: ignore[no-untyped-def]
    db.session.rollback()
    return _cors(json_error(exc.status, exc.message, exc.code))


@bp.errorhandler(OperationalError)
@bp.errorhandler(InterfaceError)
def _store_unavailable(_exc: Exception):  # type: ignore[no-untyped-def]
    db.session.rollback()
    g.setdefault("cors_allowed", False)  # the store just failed: do not ask it again
    current_app.logger.warning("tracking store unavailable: %s", _exc)
    response = json_error(503, "the store is unavailable; retry later", "unavailable")
    response.headers["Retry-After"] = "5"
    return _cors(response)


@bp.route("/collect", methods=["POST", "OPTIONS"], provide_automatic_options=False)
def collect_events():
    """Record a batch of events under the channel's cookie-level and consent rules."""
    if request.method == "OPTIONS":
        return _preflight()
    # Parsed here, in the request's thread, not in the writer's transaction.
    submission = Submission.parse(_body(), _sender(), _policy())
    together = None if submission.alone else record_together  # identifying requests run alone
    return _write(lambda: record_one(submission), together, submission)


@bp.route("/consent", methods=["GET", "POST", "OPTIONS"], provide_automatic_options=False)
def consent():
    """GET: the channel's tracking consent texts; POST: agree or revoke."""
    if request.method == "OPTIONS":
        return _preflight()
    sender = _sender()
    if request.method == "GET":
        code = request.args.get("channel", "")
        return _json(consent_texts(code, request.args.get("lang"), sender))
    body = _body()
    return _write(lambda: (change_consent(body, sender, _policy()), False))


@bp.get("/consent/status")
def consent_state():
    """Whether a contact currently agrees to the channel's tracking consent."""
    return _json(consent_status(request.args.get("channel", ""), request.args.get("contact")))


@bp.get("/click")
def click():
    """Redirect a signed email link to its target, logging the click when allowed."""
    params = {k: request.args.get(k, "") for k in ("u", "c", "ch", "s")}
    # A GET that writes: take SQLite's write lock up front like unsafe methods do, or upgrading a
    # read transaction while another writer holds the lock fails at once ("database is locked").
    with write_intent():
        target = record_click(params, current_app.config["SECRET_KEY"])
        db.session.commit()
    response = redirect(target, code=302)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@bp.get("/tracker.js")
def tracker_js():
    """The browser snippet: plain JavaScript, cacheable, no cookies."""
    response = send_from_directory(current_app.static_folder, "js/tracker.js", max_age=3600)
    response.headers["Content-Type"] = "text/javascript; charset=utf-8"
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response


def _preflight():  # type: ignore[no-untyped-def]
    origin = request.headers.get("Origin")
    if not origin or not origin_allowed_anywhere(origin):
        return _cors(json_error(403, "origin not allowed", "forbidden"))
    response = _cors(make_response("", 204))
    response.headers["Access-Control-Allow-Methods"] = "GET, POST"
    response.headers["Access-Control-Allow-Headers"] = "Content-Type, Authorization"
    response.headers["Access-Control-Max-Age"] = "600"
    return response
