"""Contacts: the one global pool shared by every channel."""

import uuid
from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .types import UTCDateTime, utcnow


class ContactStatus(db.Model):
    """A contact status a marketer can assign (e.g. Lead, Customer)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    code_name: Mapped[str] = mapped_column(String(100), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))


class Contact(db.Model):
    """A person seen on any channel: anonymous without an email, identified with one."""

    id: Mapped[int] = mapped_column(primary_key=True)
    guid: Mapped[uuid.UUID] = mapped_column(Uuid, unique=True, default=uuid.uuid4)
    first_name: Mapped[str | None] = mapped_column(String(100))
    middle_name: Mapped[str | None] = mapped_column(String(100))
    last_name: Mapped[str | None] = mapped_column(String(100))
    # Stored lower-cased; unique so that one email means one contact (merges rely on it, R8/R10).
    email: Mapped[str | None] = mapped_column(String(254), unique=True)
    company: Mapped[str | None] = mapped_column(String(200))
    job_title: Mapped[str | None] = mapped_column(String(200))
    address: Mapped[str | None] = mapped_column(String(400))
    city: Mapped[str | None] = mapped_column(String(100))
    zip: Mapped[str | None] = mapped_column(String(20))
    country: Mapped[str | None] = mapped_column(String(2), index=True)  # ISO 3166 alpha-2
    mobile_phone: Mapped[str | None] = mapped_column(String(50))
    business_phone: Mapped[str | None] = mapped_column(String(50))
    birthday: Mapped[date | None] = mapped_column(Date)
    notes: Mapped[str | None] = mapped_column(Text)
    status_id: Mapped[int | None] = mapped_column(
        ForeignKey("contact_status.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    last_activity_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    status: Mapped[ContactStatus | None] = relationship()

    __table_args__ = (
        Index("ix_contact_last_activity_at_id", "last_activity_at", "id"),
        Index("ix_contact_last_name_id", "last_name", "id"),
        # SQLite: ids never reused after a delete (the rollup job reads ids above its position).
        {"sqlite_autoincrement": True},
    )

    @property
    def is_identified(self) -> bool:
        """Identified contacts have an email (domain.md section 4)."""
        return bool(self.email)

    @property
    def full_name(self) -> str:
        """First, middle and last name joined, or an empty string."""
        return " ".join(p for p in (self.first_name, self.middle_name, self.last_name) if p)


class ContactAlias(db.Model):
    """The GUID of a contact merged away; it keeps resolving to the survivor (R10)."""

    guid: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    contact_id: Mapped[int] = mapped_column(
        ForeignKey("contact.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
