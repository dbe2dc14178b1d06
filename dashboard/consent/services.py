"""Consent use cases and queries: sanitised texts, versions and archive, the agreement log."""

import html
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

import nh3
from sqlalchemy import and_, exists, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased

from ..audit.services import record_audit
from ..domain.consent import consent_text_hash
from ..extensions import db
from ..models import (
    AgreementAction,
    Channel,
    Consent,
    ConsentAgreement,
    ConsentArchive,
    ConsentTranslation,
    Contact,
    User,
)

AGREEMENTS_PAGE_SIZE = 50
MAX_ROW_ID = 2**31 - 1

# Full texts keep structure, emphasis and links; no script, style, media, forms or event handlers.
ALLOWED_TAGS = frozenset(
    {
        "a", "abbr", "b", "blockquote", "br", "caption", "code", "dd", "del", "dl", "dt", "em",
        "h2", "h3", "h4", "h5", "h6", "hr", "i", "ins", "li", "ol", "p", "pre", "q", "s", "small",
        "span", "strong", "sub", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "u",
        "ul",
    }
)  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "*": {"lang", "dir", "title"},
    "a": {"href", "hreflang"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan", "scope"},
    "ol": {"start"},
}
URL_SCHEMES = frozenset({"http", "https", "mailto"})
# Dropped together with their content rather than unwrapped.
DROPPED_WITH_CONTENT = frozenset({"script", "style", "template", "noscript", "iframe", "object"})


def sanitise_html(text: str) -> str:
    """Return ``text`` as safe HTML: allowed tags and attributes only, http(s)/mailto links."""
    return nh3.clean(
        text,
        tags=set(ALLOWED_TAGS),
        attributes={tag: set(attrs) for tag, attrs in ALLOWED_ATTRIBUTES.items()},
        url_schemes=set(URL_SCHEMES),
        clean_content_tags=set(DROPPED_WITH_CONTENT),
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    ).strip()


def plain_text(text: str) -> str:
    """Return ``text`` without any markup: tags (also ones hidden behind entities) are removed."""
    for _ in range(5):
        cleaned = html.unescape(
            nh3.clean(text, tags=set(), clean_content_tags=set(DROPPED_WITH_CONTENT))
        )
        if cleaned == text:
            break
        text = cleaned
    return text.strip()


class ConsentError(ValueError):
    """A consent change that breaks a rule; ``field`` names the form field it concerns."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class TranslationText:
    """The texts of one language variant."""

    language: str
    short_text: str
    full_text: str


@dataclass(frozen=True)
class ConsentTexts:
    """What a consent form submits."""

    display_name: str
    short_text: str
    full_text: str
    translations: tuple[TranslationText, ...] = ()

    def sanitised(self) -> "ConsentTexts":
        """Short texts as plain text, full texts as sanitised HTML."""
        return replace(
            self,
            short_text=plain_text(self.short_text),
            full_text=sanitise_html(self.full_text),
            translations=tuple(
                TranslationText(t.language, plain_text(t.short_text), sanitise_html(t.full_text))
                for t in self.translations
            ),
        )

    def text_hash(self) -> str:
        """The hash of this text version (R15)."""
        return consent_text_hash(
            self.short_text,
            self.full_text,
            {t.language: (t.short_text, t.full_text) for t in self.translations},
        )


@dataclass(frozen=True)
class ConsentSummary:
    """A consent with the channels that use it and its number of current agreements."""

    consent: Consent
    channels: list[str]
    current_agreements: int


@dataclass(frozen=True)
class TextVersion:
    """A text version: the current one (``archive`` None) or an archived one."""

    text_hash: str
    archive: ConsentArchive | None
    agreements: int  # agree rows recorded with this version

    @property
    def is_current(self) -> bool:
        """Whether this is the text visitors are shown now."""
        return self.archive is None


@dataclass(frozen=True)
class AgreementCounts:
    """Headline numbers of a consent's agreement log (R14)."""

    current: int  # contacts whose newest row is an agree
    revoked: int  # contacts whose newest row is a revoke
    agree_rows: int
    revoke_rows: int
    current_by_version: list[tuple[str, int]]  # (text hash, current agreements), most first


@dataclass(frozen=True)
class AgreementRow:
    """One agree or revoke, with the contact's label only for users who may see it."""

    id: int
    created_at: datetime
    contact_id: int
    text_hash: str
    contact_email: str | None
    contact_name: str | None


@dataclass(frozen=True)
class AgreementPage:
    """One page of agreement rows, newest first, with a cursor to the next page."""

    rows: list[AgreementRow]
    next_before: int | None


class AgreementView(StrEnum):
    """The lists of the agreements page."""

    CURRENT = "current"
    REVOCATIONS = "revocations"


def get_consent(consent_id: int, *, lock: bool = False) -> Consent | None:
    """Return the consent, locking its row for the transaction when ``lock`` (PostgreSQL)."""
    return db.session.get(Consent, consent_id, with_for_update=lock)


def _is_newest_row():  # type: ignore[no-untyped-def]
    """SQL condition: the agreement row is its contact's newest for the consent (R14)."""
    newer = aliased(ConsentAgreement)
    return ~exists().where(
        newer.contact_id == ConsentAgreement.contact_id,
        newer.consent_id == ConsentAgreement.consent_id,
        newer.id > ConsentAgreement.id,
    )


def _current(action: AgreementAction):  # type: ignore[no-untyped-def]
    return and_(ConsentAgreement.action == action, _is_newest_row())


def list_consents() -> list[ConsentSummary]:
    """All consents by display name, with the channels using them and current agreements."""
    current = dict(
        db.session.execute(
            select(ConsentAgreement.consent_id, func.count())
            .where(_current(AgreementAction.AGREE))
            .group_by(ConsentAgreement.consent_id)
        ).all()
    )
    used: dict[int, list[str]] = {}
    for consent_id, name in db.session.execute(
        select(Channel.tracking_consent_id, Channel.display_name)
        .where(Channel.tracking_consent_id.is_not(None))
        .order_by(Channel.display_name)
    ):
        used.setdefault(consent_id, []).append(name)
    consents = db.session.scalars(select(Consent).order_by(Consent.display_name, Consent.id))
    return [ConsentSummary(c, used.get(c.id, []), current.get(c.id, 0)) for c in consents]


def channels_using(consent: Consent) -> list[Channel]:
    """Channels whose tracking consent is ``consent``."""
    return list(
        db.session.scalars(
            select(Channel)
            .where(Channel.tracking_consent_id == consent.id)
            .order_by(Channel.display_name)
        )
    )


def _translation_map(consent: Consent) -> dict[str, dict[str, str]]:
    return {t.language: {"short": t.short_text, "full": t.full_text} for t in consent.translations}


def create_consent(code_name: str, texts: ConsentTexts, *, actor: User) -> Consent:
    """Create a consent with sanitised texts and audit it."""
    texts = texts.sanitised()
    consent = Consent(
        code_name=code_name,
        display_name=texts.display_name,
        short_text=texts.short_text,
        full_text=texts.full_text,
        text_hash=texts.text_hash(),
        translations=[
            ConsentTranslation(language=t.language, short_text=t.short_text, full_text=t.full_text)
            for t in texts.translations
        ],
    )
    db.session.add(consent)
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise ConsentError("A consent with this code name already exists.", "code_name") from None
    record_audit(
        "consent.create",
        actor,
        target=consent,
        details={"code_name": code_name, "text_hash": consent.text_hash},
    )
    db.session.commit()
    return consent


def _agreed_to(consent: Consent, text_hash: str) -> bool:
    return bool(
        db.session.scalar(
            select(
                exists().where(
                    ConsentAgreement.consent_id == consent.id,
                    ConsentAgreement.text_hash == text_hash,
                    ConsentAgreement.action == AgreementAction.AGREE,
                )
            )
        )
    )


def _archive_current_text(consent: Consent) -> bool:
    """Keep the consent's current text if someone agreed to it and it is not kept yet."""
    if not _agreed_to(consent, consent.text_hash):
        return False
    archived = db.session.scalar(
        select(
            exists().where(
                ConsentArchive.consent_id == consent.id,
                ConsentArchive.text_hash == consent.text_hash,
            )
        )
    )
    if archived:
        return False
    db.session.add(
        ConsentArchive(
            consent_id=consent.id,
            text_hash=consent.text_hash,
            short_text=consent.short_text,
            full_text=consent.full_text,
            translations=_translation_map(consent),
        )
    )
    return True


def _replace_translations(consent: Consent, translations: tuple[TranslationText, ...]) -> None:
    # Reuse rows of kept languages so the (consent, language) key never sees a delete-and-insert.
    existing = {t.language: t for t in consent.translations}
    rows = []
    for text in translations:
        row = existing.get(text.language) or ConsentTranslation(language=text.language)
        row.short_text, row.full_text = text.short_text, text.full_text
        rows.append(row)
    consent.translations = rows


def update_consent(consent: Consent, texts: ConsentTexts, *, actor: User) -> bool:
    """Save new texts; archive the old version first when someone agreed to it (R15).

    Returns whether a version was archived.
    """
    texts = texts.sanitised()
    new_hash = texts.text_hash()
    old_hash = consent.text_hash
    changes: dict[str, object] = {}
    archived = new_hash != old_hash and _archive_current_text(consent)
    if texts.display_name != consent.display_name:
        changes["display_name"] = [consent.display_name, texts.display_name]
    old_languages = [t.language for t in consent.translations]
    new_languages = sorted(t.language for t in texts.translations)
    if old_languages != new_languages:
        changes["languages"] = [old_languages, new_languages]
    if new_hash != old_hash:
        changes["text_hash"] = [old_hash, new_hash]
        changes["archived"] = archived
    consent.display_name = texts.display_name
    consent.short_text = texts.short_text
    consent.full_text = texts.full_text
    consent.text_hash = new_hash
    _replace_translations(consent, texts.translations)
    if changes:
        record_audit("consent.update", actor, target=consent, details=changes)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise ConsentError("Someone changed this consent at the same time; try again.") from None
    return archived


def delete_consent(consent: Consent, *, actor: User) -> None:
    """Delete a consent with its texts and agreement log; refused while a channel uses it."""
    users = channels_using(consent)
    if users:
        names = ", ".join(c.display_name for c in users)
        raise ConsentError(
            f"{consent.display_name} is the tracking consent of {names}: "
            "choose another consent there first."
        )
    rows = db.session.scalar(
        select(func.count())
        .select_from(ConsentAgreement)
        .where(ConsentAgreement.consent_id == consent.id)
    )
    record_audit(
        "consent.delete",
        actor,
        target=consent,
        details={"code_name": consent.code_name, "agreement_rows": rows},
    )
    db.session.delete(consent)
    try:
        db.session.commit()
    except IntegrityError:  # a channel chose it in the meantime (the key is RESTRICT)
        db.session.rollback()
        raise ConsentError(
            "A channel started using this consent meanwhile; it was not deleted."
        ) from None


def _agree_counts_by_hash(consent: Consent, *conditions) -> dict[str, int]:  # type: ignore[no-untyped-def]
    return dict(
        db.session.execute(
            select(ConsentAgreement.text_hash, func.count())
            .where(ConsentAgreement.consent_id == consent.id, *conditions)
            .group_by(ConsentAgreement.text_hash)
        ).all()
    )


def text_versions(consent: Consent) -> list[TextVersion]:
    """The current version, then archived ones newest first, with their agreement counts."""
    counts = _agree_counts_by_hash(consent, ConsentAgreement.action == AgreementAction.AGREE)
    archives = db.session.scalars(
        select(ConsentArchive)
        .where(ConsentArchive.consent_id == consent.id)
        .order_by(ConsentArchive.archived_at.desc(), ConsentArchive.id.desc())
    )
    current = TextVersion(consent.text_hash, None, counts.get(consent.text_hash, 0))
    return [current] + [
        TextVersion(a.text_hash, a, counts.get(a.text_hash, 0))
        for a in archives
        if a.text_hash != consent.text_hash
    ]


def get_archive(consent: Consent, archive_id: int) -> ConsentArchive | None:
    """The consent's archived version ``archive_id``, or None."""
    archive = db.session.get(ConsentArchive, archive_id)
    return archive if archive is not None and archive.consent_id == consent.id else None


def _counts_by_action(consent: Consent, *conditions) -> dict[AgreementAction, int]:  # type: ignore[no-untyped-def]
    return dict(
        db.session.execute(
            select(ConsentAgreement.action, func.count())
            .where(ConsentAgreement.consent_id == consent.id, *conditions)
            .group_by(ConsentAgreement.action)
        ).all()
    )


def agreement_counts(consent: Consent) -> AgreementCounts:
    """Current agreements and revocations (R14), log totals and current agreements by version."""
    newest = _counts_by_action(consent, _is_newest_row())
    logged = _counts_by_action(consent)
    by_version = _agree_counts_by_hash(consent, _current(AgreementAction.AGREE))
    return AgreementCounts(
        current=newest.get(AgreementAction.AGREE, 0),
        revoked=newest.get(AgreementAction.REVOKE, 0),
        agree_rows=logged.get(AgreementAction.AGREE, 0),
        revoke_rows=logged.get(AgreementAction.REVOKE, 0),
        current_by_version=sorted(by_version.items(), key=lambda kv: (-kv[1], kv[0])),
    )


def list_agreements(
    consent: Consent,
    view: AgreementView,
    *,
    before: int | None = None,
    with_contacts: bool = False,
) -> AgreementPage:
    """Current agreements (R14) or the revocation log, newest first (keyset pagination on id).

    Contacts' emails and names are read only when ``with_contacts`` (users who may see them).
    """
    condition = (
        _current(AgreementAction.AGREE)
        if view == AgreementView.CURRENT
        else ConsentAgreement.action == AgreementAction.REVOKE
    )
    columns = [
        ConsentAgreement.id,
        ConsentAgreement.created_at,
        ConsentAgreement.contact_id,
        ConsentAgreement.text_hash,
    ]
    query = select(*columns).where(ConsentAgreement.consent_id == consent.id, condition)
    if with_contacts:
        name = func.trim(
            func.coalesce(Contact.first_name, "") + " " + func.coalesce(Contact.last_name, "")
        )
        query = query.add_columns(Contact.email, name).join(
            Contact, Contact.id == ConsentAgreement.contact_id
        )
    if before is not None:
        # Any id the database can hold; a larger cursor would overflow its integer.
        query = query.where(ConsentAgreement.id < min(max(before, 0), MAX_ROW_ID))
    query = query.order_by(ConsentAgreement.id.desc()).limit(AGREEMENTS_PAGE_SIZE + 1)
    rows = [
        AgreementRow(*r[:4], *(r[4:6] if with_contacts else (None, None)))
        for r in db.session.execute(query)
    ]
    more = len(rows) > AGREEMENTS_PAGE_SIZE
    rows = rows[:AGREEMENTS_PAGE_SIZE]
    return AgreementPage(rows, rows[-1].id if more else None)
