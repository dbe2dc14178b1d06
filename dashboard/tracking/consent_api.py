"""The consent endpoints of the tracking API (R4, R5, R14, R15)."""

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from ..consent.services import plain_text, sanitise_html
from ..domain.cookie_levels import CookieLevel, cookies_to_clear, effective_level, may_track
from ..domain.events import CollectError, parse_channel, parse_guid, parse_json, parse_level
from ..extensions import db
from ..groups.freshness import queue_membership_refresh
from ..models import AgreementAction, Consent, ConsentTranslation
from . import ratelimit
from .collect import Sender, TrackingRefused, authorised_channel
from .consent_state import erase_activities, has_current_agreement, record_agreement
from .guards import ChannelInfo, find_channel
from .identity import create_contact, resolve_contact


@dataclass(frozen=True)
class ConsentChange:
    """A parsed POST /t/v1/consent body."""

    channel: str
    contact: Any
    consent: str
    action: AgreementAction
    hash: str | None


def tracking_consent(channel: ChannelInfo) -> Consent:
    """The channel's tracking consent, or 404."""
    consent = (
        db.session.get(Consent, channel.tracking_consent_id)
        if channel.tracking_consent_id
        else None
    )
    if consent is None:
        raise TrackingRefused(404, "not_found", "this channel has no tracking consent")
    return consent


def consent_texts(code: str, language: str | None, sender: Sender) -> dict[str, Any]:
    """GET /t/v1/consent: the channel's tracking consent texts and their version hash."""
    channel = find_channel(code)
    if channel is None:
        raise TrackingRefused(404, "not_found", "unknown or disabled channel")
    consent = tracking_consent(channel)
    short_text, full_text = consent.short_text, consent.full_text
    if language and "\x00" not in language:
        variant = db.session.scalar(
            select(ConsentTranslation).where(
                ConsentTranslation.consent_id == consent.id,
                ConsentTranslation.language == language[:10],
            )
        )
        if variant is not None:
            short_text, full_text = variant.short_text, variant.full_text
    # The texts go to other sites' pages (and to API clients that may insert the full text as
    # HTML): clean them on the way out too, not only when the dashboard's form saves them, so a
    # row written any other way cannot carry script. For saved texts this changes nothing.
    return {
        "code": consent.code_name,
        "display_name": consent.display_name,
        "short_text": plain_text(short_text),
        "full_text": sanitise_html(full_text or ""),
        "hash": consent.text_hash,
    }


def parse_change(body: bytes) -> tuple[ConsentChange, CookieLevel | None]:
    """Parse a POST /t/v1/consent body or raise TrackingRefused(400)."""
    try:
        data = parse_json(body)
        if not isinstance(data, dict):
            raise CollectError("body must be a JSON object")
        action = data.get("action")
        if action not in ("agree", "revoke"):
            raise CollectError('action must be "agree" or "revoke"')
        consent, text_hash = data.get("consent"), data.get("hash")
        if not isinstance(consent, str) or not isinstance(text_hash, str | None):
            raise CollectError("consent must be a code name and hash a string")
        change = ConsentChange(
            channel=parse_channel(data.get("channel")),
            contact=parse_guid(data.get("contact")),
            consent=consent,
            action=AgreementAction(action),
            hash=text_hash,
        )
        return change, parse_level(data.get("cookie_level"))
    except CollectError as exc:
        raise TrackingRefused(400, "bad_request", str(exc)) from None


def change_consent(body: bytes, sender: Sender, policy: ratelimit.RatePolicy) -> dict[str, Any]:
    """POST /t/v1/consent: agree (R4, R15) or revoke (R5); the caller commits."""
    change, _claimed = parse_change(body)
    channel, _ = authorised_channel(change.channel, sender)
    consent = tracking_consent(channel)
    if change.consent != consent.code_name:
        raise TrackingRefused(400, "bad_request", "consent is not this channel's tracking consent")
    # Counted before anything is written, as collect requests count (see together.record_one):
    # PostgreSQL transactions then lock the rate-limit rows first. A later refusal (409) rolls
    # the count back with the rest.
    ratelimit.hit(policy.limits(channel.code_name, sender.address_key))
    contact = resolve_contact(change.contact)
    agreed = has_current_agreement(contact, consent.id)
    if change.action is AgreementAction.AGREE:
        if change.hash != consent.text_hash:
            raise TrackingRefused(409, "conflict", "the consent text has changed; show it again")
        level = CookieLevel.ALL  # R4: the level rises before the contact is resolved or created
        contact = contact or create_contact()
        if not agreed:
            record_agreement(contact, consent, AgreementAction.AGREE)
        agreed = True
    else:
        if contact is not None and agreed:
            record_agreement(contact, consent, AgreementAction.REVOKE)
            if channel.erase_on_revoke:
                erase_activities(contact)
        agreed = False
        level = effective_level(
            None,
            CookieLevel(channel.default_cookie_level),
            has_agreement=False,
            gpc=sender.gpc,
            honours_gpc=channel.honour_gpc,
        )
    if contact is not None:
        db.session.flush()
        queue_membership_refresh([contact.id])
    tracked = may_track(level)
    return {
        "agreed": agreed,
        "contact": str(contact.guid) if tracked and contact is not None else None,
        "cookie_level": int(level),
        "clear": cookies_to_clear(level),
    }


def consent_status(code: str, guid: str | None) -> dict[str, bool]:
    """GET /t/v1/consent/status: whether the contact currently agrees (R14)."""
    channel = find_channel(code)
    if channel is None:
        raise TrackingRefused(404, "not_found", "unknown or disabled channel")
    consent = tracking_consent(channel)
    try:
        contact = resolve_contact(parse_guid(guid))
    except CollectError:
        contact = None
    return {"agreed": has_current_agreement(contact, consent.id)}
