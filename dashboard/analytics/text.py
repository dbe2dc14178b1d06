"""Visitor-supplied text as charts use it: normalised keys, redacted identifiers, escaped labels.

Page titles, URLs, referrers and UTM values come from browsers, so they are untrusted: keys are
normalised (a page is its URL without query string or fragment, a referrer is its host), anything
shaped like an email address or a GUID is masked so that no chart or CSV shows one, and labels put
into a Plotly figure are HTML-escaped because Plotly renders text as a subset of HTML.
"""

import hashlib
import re
from functools import lru_cache
from urllib.parse import urlsplit, urlunsplit

EMAIL = re.compile(r"[A-Za-z0-9._%+-]+(?:@|%40)[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
GUID = re.compile(
    r"\b[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}\b"
)
MAX_VALUE = 250


def redact(text: str) -> str:
    """Mask email addresses and GUIDs: aggregates must not show who someone is."""
    return GUID.sub("[id]", EMAIL.sub("[email]", text))


@lru_cache(maxsize=65536)
def page_url(url: str) -> str:
    """The page a URL names: scheme, host and path, without query string or fragment.

    Query strings carry campaign tags and, on badly built sites, personal data; the page is the
    same page either way.
    """
    url = url.strip()
    try:
        parts = urlsplit(url)
    except ValueError:
        return redact(url.split("?", 1)[0].split("#", 1)[0])[:2000]
    path = parts.path or ("/" if parts.scheme in ("http", "https") else "")
    return redact(urlunsplit((parts.scheme, parts.netloc, path, "", "")))[:2000]


@lru_cache(maxsize=65536)
def url_hash(url: str) -> str:
    """A fixed-length key for a (normalised) URL."""
    return hashlib.blake2b(url.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


@lru_cache(maxsize=65536)
def referrer_host(referrer: str | None) -> str:
    """The host a visit came from, lower-cased without ``www.``; "" for none or unreadable."""
    if not referrer:
        return ""
    try:
        host = urlsplit(referrer.strip()).hostname or ""
    except ValueError:
        return ""
    host = host.lower()
    return redact(host.removeprefix("www."))[:MAX_VALUE]


def source_value(value: str | None) -> str:
    """A UTM value as it is counted: trimmed, redacted, "" for none."""
    return redact((value or "").strip())[:MAX_VALUE]


def escape(text: str) -> str:
    """Escape ``&``, ``<`` and ``>`` so Plotly shows the text rather than interpreting tags."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def shorten(text: str, limit: int = 48) -> str:
    """``text`` cut to ``limit`` characters with an ellipsis."""
    return text if len(text) <= limit else text[: limit - 1] + "…"
