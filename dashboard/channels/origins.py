"""Allowed origins of a website channel, written the way browsers send them in ``Origin``."""

import ipaddress
import re
from urllib.parse import urlsplit

MAX_ORIGIN_LENGTH = 300
MAX_ORIGINS = 50
DEFAULT_PORTS = {"http": 80, "https": 443}
_LABEL = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")


class InvalidOrigin(ValueError):
    """Text that is not an origin ``scheme://host[:port]``."""


def _host(hostname: str) -> str:
    """Return the host as browsers send it (IDNA, brackets around IPv6), or raise."""
    if ":" in hostname:
        return f"[{ipaddress.IPv6Address(hostname).compressed}]"
    try:
        return str(ipaddress.IPv4Address(hostname))
    except ValueError:
        pass
    ascii_host = hostname.encode("idna").decode("ascii").lower()
    labels = ascii_host.split(".")
    if len(ascii_host) > 253 or not all(_LABEL.match(label) for label in labels):
        raise InvalidOrigin(hostname)
    return ascii_host


def normalise_origin(text: str) -> str:
    """Return ``text`` as an origin ``scheme://host[:port]``; raise InvalidOrigin otherwise.

    Scheme and host are lower-cased, a default port and a single trailing slash are dropped, so
    the result compares equal to a browser's ``Origin`` header.
    """
    text = text.strip()
    if not text or len(text) > MAX_ORIGIN_LENGTH:
        raise InvalidOrigin(text)
    try:
        parts = urlsplit(text)
        port = parts.port
        if parts.scheme.lower() not in DEFAULT_PORTS or not parts.hostname:
            raise InvalidOrigin(text)
        if parts.username is not None or parts.path not in ("", "/"):
            raise InvalidOrigin(text)
        if parts.query or parts.fragment or "?" in text or "#" in text:
            raise InvalidOrigin(text)
        host = _host(parts.hostname)
    except ValueError as exc:  # bad port, bad IP address, bad IDNA label
        raise InvalidOrigin(text) from exc
    scheme = parts.scheme.lower()
    suffix = f":{port}" if port is not None and port != DEFAULT_PORTS[scheme] else ""
    return f"{scheme}://{host}{suffix}"


def parse_origins(text: str) -> tuple[list[str], list[str]]:
    """Split one origin per line; return the normalised origins (no duplicates) and bad lines."""
    origins: list[str] = []
    bad: list[str] = []
    for line in text.splitlines():
        if not line.strip():
            continue
        try:
            origin = normalise_origin(line)
        except InvalidOrigin:
            bad.append(line.strip())
        else:
            if origin not in origins:
                origins.append(origin)
    return origins, bad
