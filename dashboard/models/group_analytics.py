"""Per-group analytics rollups: the daily tables of ``analytics.py`` keyed by contact group.

Group-filtered charts read these, so their cost depends on days, groups, types and pages, not on
the members' activities. They are kept by the activity stream of the rollup job
(``dashboard/analytics/group_rollups.py``) from two logs that database triggers fill in the same
transaction as the change (migration 0006): ``GroupMemberChange`` for every inserted or deleted
``contact_group_member`` row (cascades included), ``GroupDirtyDay`` for every deleted activity
and every activity whose contact, time or counted columns changed (erasure, merges, purges).
The agreement stream keeps ``GroupConsentDaily`` the same way; ``GroupConsentDirty`` (migration
0007) logs the contacts of deleted or changed agreements.
"""

from datetime import date

from sqlalchemy import Date, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .analytics import BigId


def _group_fk() -> ForeignKey:
    return ForeignKey("contact_group.id", ondelete="CASCADE")


class GroupActivityDaily(db.Model):
    """A group's members' activities per UTC day, channel and activity type."""

    group_id: Mapped[int] = mapped_column(_group_fk(), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    channel_id: Mapped[int] = mapped_column(primary_key=True)
    type_id: Mapped[int] = mapped_column(
        ForeignKey("activity_type.id", ondelete="CASCADE"), primary_key=True
    )
    activities: Mapped[int] = mapped_column(default=0)


class GroupPageDaily(db.Model):
    """A group's members' page visits and landings per UTC day and page."""

    group_id: Mapped[int] = mapped_column(_group_fk(), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    page_id: Mapped[int] = mapped_column(
        ForeignKey("analytics_page.id", ondelete="CASCADE"), primary_key=True
    )
    type_id: Mapped[int] = mapped_column(
        ForeignKey("activity_type.id", ondelete="CASCADE"), primary_key=True
    )
    views: Mapped[int] = mapped_column(default=0)


class GroupSourceDaily(db.Model):
    """A group's members' landings per UTC day, channel and source."""

    group_id: Mapped[int] = mapped_column(_group_fk(), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    channel_id: Mapped[int] = mapped_column(primary_key=True)
    dimension: Mapped[str] = mapped_column(String(20), primary_key=True)
    value: Mapped[str] = mapped_column(String(250), primary_key=True)  # "" = none
    visits: Mapped[int] = mapped_column(default=0)


class GroupContactDaily(db.Model):
    """A group's members created per UTC day, and how many of them are identified now."""

    group_id: Mapped[int] = mapped_column(_group_fk(), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    contacts: Mapped[int] = mapped_column(default=0)
    identified: Mapped[int] = mapped_column(default=0)


class GroupConsentDaily(db.Model):
    """A group's members' agree and revoke rows per UTC day and consent, and the change in
    current agreements (R14) they caused, as ``consent_daily`` counts them: the agreed count at
    the start of a range is the sum of ``net`` before it."""

    group_id: Mapped[int] = mapped_column(_group_fk(), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    consent_id: Mapped[int] = mapped_column(
        ForeignKey("consent.id", ondelete="CASCADE"), primary_key=True
    )
    agrees: Mapped[int] = mapped_column(default=0)
    revokes: Mapped[int] = mapped_column(default=0)
    net: Mapped[int] = mapped_column(default=0)


class GroupRollupMember(db.Model):
    """The membership the group rollups count: ``contact_group_member`` as of the last change the
    job applied. Only the job writes it (under the activity stream's lock), so new activities are
    added for exactly the members whose earlier activities were counted. No key to ``contact``:
    a deleted contact's rows stay until the job has applied its removal."""

    group_id: Mapped[int] = mapped_column(_group_fk(), primary_key=True)
    contact_id: Mapped[int] = mapped_column(primary_key=True)
    created_day: Mapped[date] = mapped_column(Date)  # the contact's: recounted when it leaves

    __table_args__ = (Index("ix_group_rollup_member_contact", "contact_id"),)


class GroupMemberChange(db.Model):
    """A membership row inserted (+1) or deleted (-1), appended by a trigger; the job applies and
    deletes it."""

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    group_id: Mapped[int] = mapped_column()
    contact_id: Mapped[int] = mapped_column()
    delta: Mapped[int] = mapped_column()


class GroupDirtyDay(db.Model):
    """A contact's UTC day whose activities were deleted or changed after they may have been
    counted, appended by a trigger; the job recounts that day for the contact's groups."""

    contact_id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)


class GroupConsentDirty(db.Model):
    """A contact one of whose agreements was deleted or changed (merge, erasure, a consent
    deleted), appended by a trigger: the job recounts the consent rollups of its groups, since
    the change alters the running state of the contact's later rows."""

    contact_id: Mapped[int] = mapped_column(primary_key=True)
