"""Typed SQLAlchemy models, one module per aggregate; imported here so Alembic sees them all."""

from . import (
    analytics,  # noqa: F401 - analytics rollups, imported from their module
    group_analytics,  # noqa: F401 - per-group rollups, imported from their module
)
from .activity import Activity, ActivityType
from .audit import AuditEntry
from .channel import Channel, ChannelApiKey, ChannelOrigin, ChannelType
from .consent import AgreementAction, Consent, ConsentAgreement, ConsentArchive, ConsentTranslation
from .contact import Contact, ContactAlias, ContactStatus
from .group import ContactGroup, ContactGroupMember, GroupStatus, MembershipRefresh
from .hits import HitCounter
from .progress import OperationProgress
from .ratelimit import RateLimitWindow
from .setting import Setting
from .types import UTCDateTime, utcnow
from .user import LoginFailure, Role, User

__all__ = [
    "Activity",
    "ActivityType",
    "AgreementAction",
    "AuditEntry",
    "Channel",
    "ChannelApiKey",
    "ChannelOrigin",
    "ChannelType",
    "Consent",
    "ConsentAgreement",
    "ConsentArchive",
    "ConsentTranslation",
    "Contact",
    "ContactAlias",
    "ContactGroup",
    "ContactGroupMember",
    "ContactStatus",
    "GroupStatus",
    "HitCounter",
    "LoginFailure",
    "MembershipRefresh",
    "OperationProgress",
    "RateLimitWindow",
    "Role",
    "Setting",
    "UTCDateTime",
    "User",
    "utcnow",
]
