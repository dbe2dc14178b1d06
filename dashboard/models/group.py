"""Contact groups (segments) and their materialised members."""

import enum
from datetime import datetime

from sqlalchemy import JSON, Enum, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .types import UTCDateTime, utcnow


class GroupStatus(enum.StrEnum):
    """Where a group's materialised membership stands against its condition (R17)."""

    READY = "ready"
    CONDITION_CHANGED = "condition_changed"
    CALCULATING = "calculating"


class ContactGroup(db.Model):
    """A segment: a condition tree (dynamic), manual members (static), or both."""

    id: Mapped[int] = mapped_column(primary_key=True)
    code_name: Mapped[str] = mapped_column(String(100), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    enabled: Mapped[bool] = mapped_column(default=True)
    condition: Mapped[dict | None] = mapped_column(JSON)
    status: Mapped[GroupStatus] = mapped_column(
        Enum(
            GroupStatus,
            native_enum=False,
            length=20,
            values_callable=lambda e: [m.value for m in e],
        ),
        default=GroupStatus.READY,
    )
    last_calculated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class ContactGroupMember(db.Model):
    """A contact in a group, with how it got there: by the condition, by hand, or both."""

    group_id: Mapped[int] = mapped_column(
        ForeignKey("contact_group.id", ondelete="CASCADE"), primary_key=True
    )
    contact_id: Mapped[int] = mapped_column(
        ForeignKey("contact.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    by_condition: Mapped[bool] = mapped_column(default=False)
    manual: Mapped[bool] = mapped_column(default=False)
    added_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class MembershipRefresh(db.Model):
    """A contact whose data or activities changed and whose memberships need refreshing (R17).

    Written in the same transaction as the change, drained within seconds by the refresher, so a
    membership never waits for a nightly job and a crash loses no pending refresh.
    """

    contact_id: Mapped[int] = mapped_column(
        ForeignKey("contact.id", ondelete="CASCADE"), primary_key=True
    )
    queued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
