"""Helpers for the tracking API tests."""

import json
import uuid

from sqlalchemy import func, select

from dashboard.extensions import db
from dashboard.models import Activity, Contact
from tests.factories import ORIGIN

BROWSER_UA = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Safari/537.36"
)


def event(type_: str = "pagevisit", **fields: object) -> dict:
    """An event with a fresh id; page visits get a URL unless one is given."""
    body = {"id": str(uuid.uuid4()), "type": type_}
    if type_ == "pagevisit":
        body.setdefault(
            "url", "http://localhost:5000/demo/pricing?utm_source=news&utm_medium=email"
        )
        body["title"] = "Pricing"
    body.update(fields)
    return body


def post(
    client,
    body: object,
    *,
    origin: str | None = ORIGIN,
    headers: dict | None = None,
    content_type: str = "text/plain",
    path: str = "/t/v1/collect",
):
    """POST a JSON body the way the snippet does (text/plain unless told otherwise)."""
    sent = {"User-Agent": BROWSER_UA, **(headers or {})}
    if origin:
        sent["Origin"] = origin
    data = body if isinstance(body, bytes | str) else json.dumps(body)
    return client.post(path, data=data, headers=sent, content_type=content_type)


def collect(
    client,
    channel: str = "corporate-site",
    events: list | None = None,
    *,
    headers: dict | None = None,
    origin: str | None = ORIGIN,
    **body: object,
):
    """POST a collect request for ``channel`` and return the response."""
    payload = {"channel": channel, "events": events if events is not None else [event()], **body}
    return post(client, payload, headers=headers, origin=origin)


def count(model, *where) -> int:
    """Rows of ``model`` matching ``where``."""
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def contacts() -> int:
    return count(Contact)


def activities(*where) -> int:
    return count(Activity, *where)


# The whole-request errors of tracking-api.md: status -> error code. 405 (a method the route does
# not take) is not in the spec's table but answered in the same shape.
DOCUMENTED_ERRORS = {
    400: "bad_request",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    429: "rate_limited",
    503: "unavailable",
}


def check_api_response(response) -> None:
    """The tracking API's contract for any input: never a 5xx other than 503, and every error is
    ``{"error": <code of its status>, "message": <text>}`` in JSON, not cached (tracking-api.md)."""
    status = response.status_code
    text = response.get_data(as_text=True)
    assert status < 500 or status == 503, text
    if status < 400:
        assert response.is_json or status in (204, 302), text
        return
    assert status in DOCUMENTED_ERRORS, text
    assert response.mimetype == "application/json", response.mimetype
    body = json.loads(text)
    assert isinstance(body, dict) and set(body) == {"error", "message"}, body
    assert body["error"] == DOCUMENTED_ERRORS[status], body
    assert isinstance(body["message"], str) and body["message"], body
    assert response.headers.get("Cache-Control") == "no-store"
    if status in (429, 503):
        assert response.headers.get("Retry-After", "").isdigit()
