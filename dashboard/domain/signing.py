"""Signed email click links: an HMAC over the link's parameters, so no link is an open redirect."""

import hashlib
import hmac
from collections.abc import Mapping
from urllib.parse import urlencode

# The parameters a click link signs, in this order.
SIGNED_PARAMS = ("u", "c", "ch")


def _message(params: Mapping[str, str]) -> bytes:
    return urlencode([(k, params.get(k) or "") for k in SIGNED_PARAMS]).encode()


def sign_click(params: Mapping[str, str], secret: str) -> str:
    """Return the hex HMAC-SHA256 signature of the link parameters ``u`` (url), ``c``, ``ch``."""
    return hmac.new(secret.encode(), _message(params), hashlib.sha256).hexdigest()


def verify_click(params: Mapping[str, str], signature: str, secret: str) -> bool:
    """Return whether ``signature`` is the signature of ``params`` (constant-time compare)."""
    expected = sign_click(params, secret).encode()
    return hmac.compare_digest(expected, (signature or "").encode("utf-8", "replace"))


def click_query(url: str, contact_guid: str, channel_code: str, secret: str) -> str:
    """Return the signed query string of a tracked click link to ``url``."""
    params = {"u": url, "c": contact_guid, "ch": channel_code}
    return urlencode({**params, "s": sign_click(params, secret)})
