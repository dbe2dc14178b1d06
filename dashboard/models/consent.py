"""Consent definitions, their archived text versions and the append-only agreement log."""

import enum
from datetime import datetime

from sqlalchemy import Enum, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .types import UTCDateTime, utcnow


class Consent(db.Model):
    """A consent definition; ``text_hash`` identifies the current text version (R15)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    code_name: Mapped[str] = mapped_column(String(100), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    short_text: Mapped[str] = mapped_column(Text, default="")
    full_text: Mapped[str] = mapped_column(Text, default="")  # sanitised HTML
    text_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    translations: Mapped[list["ConsentTranslation"]] = relationship(
        back_populates="consent",
        cascade="all, delete-orphan",
        order_by="ConsentTranslation.language",
    )


class ConsentTranslation(db.Model):
    """A language variant of a consent's texts."""

    id: Mapped[int] = mapped_column(primary_key=True)
    consent_id: Mapped[int] = mapped_column(ForeignKey("consent.id", ondelete="CASCADE"))
    language: Mapped[str] = mapped_column(String(10))  # BCP 47 tag, e.g. "de" or "pt-BR"
    short_text: Mapped[str] = mapped_column(Text, default="")
    full_text: Mapped[str] = mapped_column(Text, default="")

    consent: Mapped[Consent] = relationship(back_populates="translations")

    __table_args__ = (UniqueConstraint("consent_id", "language"),)


class ConsentArchive(db.Model):
    """A text version that someone agreed to, kept after the text changed."""

    id: Mapped[int] = mapped_column(primary_key=True)
    consent_id: Mapped[int] = mapped_column(ForeignKey("consent.id", ondelete="CASCADE"))
    text_hash: Mapped[str] = mapped_column(String(64))
    short_text: Mapped[str] = mapped_column(Text, default="")
    full_text: Mapped[str] = mapped_column(Text, default="")
    translations: Mapped[dict | None] = mapped_column(db.JSON)  # {language: {short, full}}
    archived_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (UniqueConstraint("consent_id", "text_hash"),)


class AgreementAction(enum.StrEnum):
    """What a row of the agreement log records."""

    AGREE = "agree"
    REVOKE = "revoke"


class ConsentAgreement(db.Model):
    """One agree or revoke; the newest row per (contact, consent) is the current state (R14)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contact.id", ondelete="CASCADE"))
    consent_id: Mapped[int] = mapped_column(ForeignKey("consent.id", ondelete="CASCADE"))
    action: Mapped[AgreementAction] = mapped_column(
        Enum(
            AgreementAction,
            native_enum=False,
            length=10,
            values_callable=lambda e: [m.value for m in e],
        )
    )
    text_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        # The newest row per (contact, consent) and its action, from the index alone (R14).
        Index(
            "ix_consent_agreement_contact_consent_action",
            "contact_id",
            "consent_id",
            "id",
            "action",
        ),
        Index("ix_consent_agreement_consent_created", "consent_id", "created_at"),
        # SQLite: ids never reused after a delete (the rollup job reads ids above its position).
        {"sqlite_autoincrement": True},
    )
