"""Agreement state (R14) and the agree / revoke log (R4, R5, R15)."""

from sqlalchemy import bindparam, delete, select

from ..extensions import db
from ..models import Activity, AgreementAction, Consent, ConsentAgreement, Contact
from .identity import ContactKeys

# Built once: the tracking API asks it on every request of a known contact.
_agreement = ConsentAgreement.__table__.c  # the table: the ORM's statement layer stays out
_NEWEST = (
    select(_agreement.action)
    .where(
        _agreement.contact_id == bindparam("contact_id"),
        _agreement.consent_id == bindparam("consent_id"),
    )
    .order_by(_agreement.id.desc())
    .limit(1)
)


def has_current_agreement(contact: Contact | ContactKeys | None, consent_id: int | None) -> bool:
    """R14: the contact's newest row for the consent is an agree."""
    if contact is None or consent_id is None:
        return False
    newest = db.session.connection().scalar(
        _NEWEST, {"contact_id": contact.id, "consent_id": consent_id}
    )
    return newest == AgreementAction.AGREE


def record_agreement(contact: Contact, consent: Consent, action: AgreementAction) -> None:
    """Append an agree or revoke row with the consent's current text hash."""
    db.session.add(
        ConsentAgreement(
            contact_id=contact.id, consent_id=consent.id, action=action, text_hash=consent.text_hash
        )
    )


def erase_activities(contact: Contact) -> None:
    """Delete the contact's activities (the channel's "erase on revoke" switch, R5)."""
    db.session.execute(delete(Activity).where(Activity.contact_id == contact.id))
    contact.last_activity_at = None
