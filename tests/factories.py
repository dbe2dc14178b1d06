"""Small factory functions for rows, committed so requests see them."""

import itertools
from functools import cache

from werkzeug.security import generate_password_hash

from dashboard.extensions import db
from dashboard.models import Channel, Consent, Contact, Role, User

PASSWORD = "correct horse battery staple"
_seq = itertools.count(1)


@cache
def _password_hash() -> str:
    # Hashing is deliberately slow; do it once per test session.
    return generate_password_hash(PASSWORD)


def user(*, role: Role = Role.MARKETER, email: str | None = None, active: bool = True) -> User:
    """Create and commit a user whose password is ``PASSWORD``."""
    row = User(
        email=email or f"{role.value}{next(_seq)}@example.com",
        role=role,
        active=active,
        password_hash=_password_hash(),
    )
    db.session.add(row)
    db.session.commit()
    return row


def consent(code: str = "tracking-consent", short: str = "We use tracking cookies.") -> Consent:
    """Create and commit a consent with a real text hash."""
    from dashboard.domain.consent import consent_text_hash

    full = f"<p>{short}</p>"
    row = Consent(
        code_name=code,
        display_name=code.replace("-", " ").capitalize(),
        short_text=short,
        full_text=full,
        text_hash=consent_text_hash(short, full),
    )
    db.session.add(row)
    db.session.commit()
    return row


ORIGIN = "http://localhost:5000"


def channel(
    code: str = "corporate-site",
    *,
    type: str = "website",
    level: int = 0,
    consent: Consent | None = None,
    origins: tuple[str, ...] = (ORIGIN,),
    **switches: bool,
) -> Channel:
    """Create and commit a channel with its origins."""
    from dashboard.models import Channel, ChannelOrigin, ChannelType

    row = Channel(
        code_name=code,
        display_name=code.replace("-", " ").title(),
        type=ChannelType(type),
        default_cookie_level=level,
        tracking_consent_id=consent.id if consent else None,
        **switches,
    )
    row.origins = [ChannelOrigin(origin=o) for o in origins] if type == "website" else []
    db.session.add(row)
    db.session.commit()
    return row


def contact(**fields: object) -> Contact:
    """Create and commit a contact."""

    row = Contact(**fields)
    db.session.add(row)
    db.session.commit()
    return row


def agreement(contact_row: Contact, consent_row: Consent, action: str = "agree") -> None:
    """Append an agree / revoke row with the consent's current hash."""
    from dashboard.models import AgreementAction, ConsentAgreement

    db.session.add(
        ConsentAgreement(
            contact_id=contact_row.id,
            consent_id=consent_row.id,
            action=AgreementAction(action),
            text_hash=consent_row.text_hash,
        )
    )
    db.session.commit()


def api_key(channel_row: Channel, key: str = "test-key-0123456789") -> str:
    """Give a headless channel a live API key; return the plain key."""
    from dashboard.domain.apikeys import hash_api_key
    from dashboard.models import ChannelApiKey

    db.session.add(
        ChannelApiKey(
            channel_id=channel_row.id, name="test", prefix=key[:6], key_hash=hash_api_key(key)
        )
    )
    db.session.commit()
    return key
