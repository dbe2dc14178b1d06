"""Email click tracking: signed links, an emailclick only with the contact's agreement."""

import uuid

from sqlalchemy import select, update

from ..domain.events import Event, activity_title, valid_url
from ..domain.signing import verify_click
from ..extensions import db
from ..groups.freshness import queue_membership_refresh
from ..models import Activity, ActivityType, ChannelType, Contact, utcnow
from .collect import TrackingRefused
from .consent_state import has_current_agreement
from .guards import find_channel
from .identity import resolve_contact


def record_click(params: dict[str, str], secret: str) -> str:
    """Verify the link and log the click when allowed; return the target URL (caller commits).

    An unsigned or altered link never redirects (no open redirect).
    """
    if not verify_click(params, params.get("s", ""), secret):
        raise TrackingRefused(400, "bad_request", "the link's signature does not match")
    target = valid_url(params.get("u"))
    if target is None:
        raise TrackingRefused(400, "bad_request", "the link's target is not an http(s) URL")
    channel = find_channel(params.get("ch", ""))
    if channel is None or channel.type != ChannelType.EMAIL:
        return target  # a genuine link of a retired channel still takes the reader on
    try:
        contact = resolve_contact(uuid.UUID(params.get("c", "")))
    except ValueError:
        contact = None
    if contact is None or not has_current_agreement(contact, channel.tracking_consent_id):
        return target
    click_type = db.session.scalar(
        select(ActivityType).where(ActivityType.code_name == "emailclick")
    )
    if click_type is None or not click_type.enabled:
        return target
    now = utcnow()
    event = Event(
        id=uuid.uuid4(), type="emailclick", activity_type="emailclick", value=target[:250]
    )
    db.session.add(
        Activity(
            contact_id=contact.id,
            type_id=click_type.id,
            channel_id=channel.id,
            title=activity_title(event, click_type.display_name),
            value=event.value,
            url=target,
            created_at=now,
        )
    )
    db.session.execute(update(Contact).where(Contact.id == contact.id).values(last_activity_at=now))
    queue_membership_refresh([contact.id])
    return target
