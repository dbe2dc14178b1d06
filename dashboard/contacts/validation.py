"""Rules for contact field values, shared by the edit form and the CSV import."""

import re
import uuid
from datetime import date

from ..domain.events import normalise_email
from ..models import Contact

_COUNTRY = re.compile(r"[A-Za-z]{2}")


def max_length(column: str) -> int | None:
    """The stored length of a contact column (None for unbounded text)."""
    return getattr(Contact.__table__.c[column].type, "length", None)


def clean_email(text: str) -> str:
    """Return the email normalised (lower-cased), or raise ValueError."""
    email = normalise_email(text.strip())
    if email is None:
        raise ValueError("Not a valid email address.")
    return email


def clean_country(text: str) -> str:
    """Return an ISO 3166 alpha-2 code upper-cased, or raise ValueError."""
    text = text.strip()
    if not _COUNTRY.fullmatch(text):
        raise ValueError("Use the two-letter ISO 3166 code, e.g. DE.")
    return text.upper()


def clean_birthday(text: str) -> date:
    """Return the date of a YYYY-MM-DD text, or raise ValueError."""
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise ValueError("Use a date as YYYY-MM-DD.") from None


def clean_guid(text: str) -> uuid.UUID:
    """Return the UUID of a text, or raise ValueError."""
    try:
        return uuid.UUID(text.strip())
    except ValueError:
        raise ValueError("Not a valid GUID.") from None
