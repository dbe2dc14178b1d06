"""Row factories and page helpers shared by the contact, activity and privacy tests.

Every factory commits, so requests (which run in their own contexts) see the rows.
"""

import itertools
import re
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from dashboard.domain.consent import consent_text_hash
from dashboard.extensions import db
from dashboard.models import (
    Activity,
    ActivityType,
    AgreementAction,
    AuditEntry,
    Channel,
    ChannelType,
    Consent,
    ConsentAgreement,
    ConsentArchive,
    Contact,
    ContactGroup,
    ContactGroupMember,
    ContactStatus,
)

NOW = datetime.now(UTC).replace(microsecond=0)
_seq = itertools.count(1)


def contact(**fields) -> Contact:
    row = Contact(**fields)
    db.session.add(row)
    db.session.commit()
    return row


def channel(code: str = "web", kind: ChannelType = ChannelType.WEBSITE) -> Channel:
    row = Channel(code_name=code, display_name=f"Channel {code}", type=kind)
    db.session.add(row)
    db.session.commit()
    return row


def type_id(code: str) -> int:
    return db.session.scalar(select(ActivityType.id).where(ActivityType.code_name == code))


def status_id(code: str) -> int:
    return db.session.scalar(select(ContactStatus.id).where(ContactStatus.code_name == code))


def activity(
    owner: Contact,
    type_code: str = "pagevisit",
    *,
    channel_row: Channel | None = None,
    created_at: datetime | None = None,
    **fields,
) -> Activity:
    row = Activity(
        contact_id=owner.id,
        type_id=type_id(type_code),
        channel_id=channel_row.id if channel_row else None,
        created_at=created_at or NOW,
        **fields,
    )
    db.session.add(row)
    db.session.commit()
    return row


def group(code: str | None = None) -> ContactGroup:
    code = code or f"group{next(_seq)}"
    row = ContactGroup(code_name=code, display_name=f"Group {code}")
    db.session.add(row)
    db.session.commit()
    return row


def member(
    group_row: ContactGroup, owner: Contact, *, manual: bool = True, by_condition: bool = False
) -> ContactGroupMember:
    row = ContactGroupMember(
        group_id=group_row.id, contact_id=owner.id, manual=manual, by_condition=by_condition
    )
    db.session.add(row)
    db.session.commit()
    return row


def consent(code: str = "tracking", short: str = "We track you.", full: str = "<p>Full</p>"):
    row = Consent(
        code_name=code,
        display_name=f"Consent {code}",
        short_text=short,
        full_text=full,
        text_hash=consent_text_hash(short, full),
    )
    db.session.add(row)
    db.session.commit()
    return row


def archive(consent_row: Consent, short: str, full: str) -> ConsentArchive:
    row = ConsentArchive(
        consent_id=consent_row.id,
        text_hash=consent_text_hash(short, full),
        short_text=short,
        full_text=full,
    )
    db.session.add(row)
    db.session.commit()
    return row


def agreement(
    owner: Contact,
    consent_row: Consent,
    action: AgreementAction = AgreementAction.AGREE,
    *,
    text_hash: str | None = None,
    created_at: datetime | None = None,
) -> ConsentAgreement:
    row = ConsentAgreement(
        contact_id=owner.id,
        consent_id=consent_row.id,
        action=action,
        text_hash=text_hash or consent_row.text_hash,
        created_at=created_at or NOW,
    )
    db.session.add(row)
    db.session.commit()
    return row


def count(model, *conditions) -> int:  # type: ignore[no-untyped-def]
    db.session.rollback()  # see what requests committed
    return db.session.scalar(select(func.count()).select_from(model).where(*conditions))


def audit_entries(action: str) -> list[AuditEntry]:
    db.session.rollback()
    return list(
        db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)
        )
    )


def listed_ids(html: str) -> list[int]:
    """Contact ids of the list's rows, in page order (the row checkboxes)."""
    return [int(i) for i in re.findall(r'name="ids" value="(\d+)"', html)]


def next_cursor(html: str) -> str | None:
    """The ``after`` value of the page's "Next page" link."""
    match = re.search(r'href="[^"]*[?&;]after=([^"&]+)[^"]*">Next page</a>', html)
    return match.group(1) if match else None


def days_ago(days: float) -> datetime:
    return NOW - timedelta(days=days)
