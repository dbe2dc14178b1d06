"""Parsing and validating tracking requests and their events (tracking-api.md, R13), purely.

Nothing here touches the database: checks that need stored state (is the activity type enabled,
does the custom type exist) happen in the tracking service.
"""

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from urllib.parse import parse_qs, urlsplit

from email_validator import EmailNotValidError, validate_email

from .cookie_levels import CookieLevel, InvalidCookieLevel, parse_cookie_level

MAX_BODY_BYTES = 64 * 1024
MAX_EVENTS = 50
MAX_URL = 2000
MAX_TEXT = 250

# Event "type" values of the API and the built-in activity type each stores.
PAGE_EVENT = "pagevisit"
CUSTOM_EVENT = "customactivity"
BUILTIN_EVENTS = frozenset(
    {"pagevisit", "landingpage", "click", "datainput", "bizformsubmit", "memberregistration"}
)
IDENTIFYING_EVENTS = frozenset({"datainput", "bizformsubmit"})

# Contact fields a visitor may submit (domain.md section 4), with their stored lengths.
CONTACT_FIELDS: dict[str, int] = {
    "first_name": 100,
    "middle_name": 100,
    "last_name": 100,
    "email": 254,
    "company": 200,
    "job_title": 200,
    "address": 400,
    "city": 100,
    "zip": 20,
    "country": 2,
    "mobile_phone": 50,
    "business_phone": 50,
    "birthday": 10,
    "notes": 2000,
}
UTM_KEYS = ("utm_source", "utm_medium", "utm_campaign", "utm_content")


class CollectError(ValueError):
    """The whole request is unusable (400): not JSON, wrong shape, too many events, bad level."""


@dataclass(frozen=True)
class CollectRequest:
    """The request-level fields of a collect body; events are validated one by one later."""

    channel: str
    contact: uuid.UUID | None
    cookie_level: CookieLevel | None
    events: list[Any]


@dataclass(frozen=True)
class Event:
    """A valid event, ready to be stored (or dropped by the rules that need stored state)."""

    id: uuid.UUID
    type: str  # API event type
    activity_type: str  # code of the activity type to store
    url: str | None = None
    title: str | None = None
    referrer: str | None = None
    value: str | None = None
    landing: bool = False
    fields: dict[str, str] = field(default_factory=dict)

    @property
    def email(self) -> str | None:
        """The submitted email, normalised, if any."""
        return self.fields.get("email")


@dataclass(frozen=True)
class Rejection:
    """An invalid event: its id as sent (if readable) and why it was rejected."""

    id: str | None
    reason: str


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not valid JSON")


def _strings(data: Any) -> Iterator[str]:
    """Every string of a decoded JSON value, keys included (iteratively: nesting is deep)."""
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            yield item
        elif isinstance(item, dict):
            yield from item.keys()
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def _storable(text: str) -> str | None:
    """Why ``text`` cannot be stored, or None. PostgreSQL refuses NUL in text, and a lone UTF-16
    surrogate (legal as a ``\\ud800`` escape in JSON) cannot be encoded as UTF-8 by any driver."""
    if "\x00" in text:
        return "NUL characters are not allowed"
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            return "unpaired UTF-16 surrogates are not allowed"
    return None


def parse_json(body: bytes) -> Any:
    """Decode a JSON body strictly (UTF-8 without BOM, no NaN/Infinity, only storable strings);
    raise CollectError otherwise."""
    if len(body) > MAX_BODY_BYTES:
        raise CollectError("body is larger than 64 KiB")
    try:
        data = json.loads(body.decode("utf-8"), parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise CollectError("body is not valid UTF-8 JSON") from None
    for text in _strings(data):
        problem = _storable(text)
        if problem:
            # Say so up front rather than fail when a value reaches the database.
            raise CollectError(problem)
    return data


def parse_guid(value: object) -> uuid.UUID | None:
    """Return the contact GUID, or None when absent or not a UUID (R7: then it is unknown)."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise CollectError("contact must be a string or null")
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


def parse_level(value: object) -> CookieLevel | None:
    """Parse ``cookie_level``; an unknown value is a request error (R1)."""
    try:
        return parse_cookie_level(value)
    except InvalidCookieLevel as exc:
        raise CollectError(str(exc)) from None


def parse_channel(value: object) -> str:
    """Return the channel code name; raise CollectError for anything but a short string."""
    if not isinstance(value, str) or not value or len(value) > 100:
        raise CollectError("channel must be a channel code name")
    return value


def parse_collect(data: Any) -> CollectRequest:
    """Check the request shape of a decoded collect body."""
    if not isinstance(data, dict):
        raise CollectError("body must be a JSON object")
    events = data.get("events", [])
    if not isinstance(events, list):
        raise CollectError("events must be a list")
    if len(events) > MAX_EVENTS:
        raise CollectError(f"at most {MAX_EVENTS} events per request")
    return CollectRequest(
        channel=parse_channel(data.get("channel")),
        contact=parse_guid(data.get("contact")),
        cookie_level=parse_level(data.get("cookie_level")),
        events=events,
    )


def valid_url(value: object) -> str | None:
    """Return ``value`` if it is an http(s) URL of at most 2000 characters, else None."""
    if not isinstance(value, str) or not value or len(value) > MAX_URL:
        return None
    if any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in value):
        return None
    try:
        parts = urlsplit(value)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return value


def parse_utm(url: str | None) -> dict[str, str]:
    """Return the UTM values of ``url``'s query (first value each, at most 250 characters)."""
    if not url:
        return {}
    try:
        query = parse_qs(urlsplit(url).query, max_num_fields=100)
    except ValueError:
        return {}
    return {k: query[k][0][:MAX_TEXT] for k in UTM_KEYS if query.get(k) and query[k][0]}


def normalise_email(value: str) -> str | None:
    """Return the normalised (lower-cased) email, or None if it is not a valid address."""
    try:
        result = validate_email(value, check_deliverability=False)
    except EmailNotValidError:
        return None
    return result.normalized.lower()


def parse_fields(value: object) -> dict[str, str] | str:
    """Return the submitted contact fields, or a rejection reason."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        return "invalid_fields"
    fields: dict[str, str] = {}
    for name, raw in value.items():
        if name not in CONTACT_FIELDS:
            return "unknown_field"
        if not isinstance(raw, str):
            return "invalid_fields"
        text = raw.strip()
        if len(text) > CONTACT_FIELDS[name]:
            return "field_too_long"
        if not text:
            continue
        if name == "email":
            email = normalise_email(text)
            if email is None:
                return "invalid_email"
            text = email
        elif name == "country":
            if not (len(text) == 2 and text.isascii() and text.isalpha()):
                return "invalid_country"
            text = text.upper()
        elif name == "birthday":
            try:
                date.fromisoformat(text)
            except ValueError:
                return "invalid_birthday"
        fields[name] = text
    return fields


def _text(raw: dict, key: str) -> str | bool | None:
    """Return a stripped optional text field, or False if it is not a short string."""
    value = raw.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > MAX_TEXT:
        return False
    return value.strip() or None


def parse_event(raw: object) -> Event | Rejection:
    """Validate one event of a collect body (shape, limits and R13's required values)."""
    if not isinstance(raw, dict):
        return Rejection(None, "invalid_event")
    raw_id = raw.get("id")
    shown_id = raw_id if isinstance(raw_id, str) and len(raw_id) <= 64 else None
    try:
        event_id = uuid.UUID(raw_id) if isinstance(raw_id, str) else None
    except ValueError:
        event_id = None
    if event_id is None:
        return Rejection(shown_id, "invalid_id")
    kind = raw.get("type")
    if kind == CUSTOM_EVENT:
        activity_type = raw.get("activity_type")
        if not isinstance(activity_type, str) or not activity_type or len(activity_type) > 100:
            return Rejection(shown_id, "unknown_type")
    elif isinstance(kind, str) and kind in BUILTIN_EVENTS:
        activity_type = kind
    else:
        return Rejection(shown_id, "unknown_type")

    texts = {k: _text(raw, k) for k in ("title", "value", "label", "form")}
    if any(v is False for v in texts.values()):
        return Rejection(shown_id, "field_too_long")
    url = raw.get("url")
    if url is not None and valid_url(url) is None:
        return Rejection(shown_id, "invalid_url")
    referrer = raw.get("referrer")
    if referrer in ("", None):
        referrer = None
    elif valid_url(referrer) is None:
        return Rejection(shown_id, "invalid_referrer")
    fields = parse_fields(raw.get("fields"))
    if isinstance(fields, str):
        return Rejection(shown_id, fields)

    value = texts["value"] or texts["label"] or texts["form"]
    if kind in ("pagevisit", "landingpage") and url is None:
        return Rejection(shown_id, "missing_url")
    if kind == "click" and not value:
        return Rejection(shown_id, "missing_value")
    if kind in IDENTIFYING_EVENTS and not (value or fields):
        return Rejection(shown_id, "missing_value")
    return Event(
        id=event_id,
        type=kind,
        activity_type=activity_type,
        url=url,
        title=texts["title"],  # type: ignore[arg-type]
        referrer=referrer,
        value=value,  # type: ignore[arg-type]
        landing=raw.get("landing") is True,
        fields=fields,
    )


def activity_title(event: Event, type_display_name: str) -> str | None:
    """Title of the stored activity (domain.md section 5), at most 250 characters."""
    if event.type in ("pagevisit", "landingpage"):
        title = event.title or event.url
    elif event.type == "click":
        title = f"Clicked '{event.value}'"
    elif event.value:
        title = f"{type_display_name} '{event.value}'"
    else:
        title = type_display_name
    if title and len(title) > MAX_TEXT:
        title = title[: MAX_TEXT - 1] + "…"
    return title


def landing_event_id(event_id: uuid.UUID) -> uuid.UUID:
    """The id of the landing-page activity logged with a page visit: derived, so retries match."""
    return uuid.uuid5(event_id, "landingpage")
