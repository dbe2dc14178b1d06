"""Analytics rollups: daily aggregates, a bounded contact sample and the job's watermarks.

Counts add up across days, so charts read them from daily tables whose size does not grow with
the number of activities. Distinct contacts over a range do not add up from daily numbers; those
questions are answered from ``ActivitySample``, the activities of a consistent sample of contacts
(every contact while the store is small). See ``dashboard/analytics/rollups.py`` for how the
tables are kept current.
"""

from datetime import date, datetime

from sqlalchemy import BigInteger, Date, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .types import UTCDateTime, utcnow

BigId = BigInteger().with_variant(Integer(), "sqlite")

# ``channel_id`` of rollup rows for activities stored without a channel (R9 form submissions).
# Rollups keep no foreign key to ``channel``: channels are never deleted, and a key column of a
# primary key cannot be NULL.
NO_CHANNEL = 0


class RollupState(db.Model):
    """Where a rollup stream stands: every source row with ``id <= position`` is rolled up,
    except the ids listed in ``RollupGap``. Its row is also the lock two workers contend for."""

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    position: Mapped[int] = mapped_column(BigInteger, default=0)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class RollupGap(db.Model):
    """Ids skipped because no committed row had them yet (a transaction still open, rolled back
    or the row deleted); looked at again until ``seen_at`` is older than the gap timeout."""

    stream: Mapped[str] = mapped_column(String(40), primary_key=True)
    first_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    last_id: Mapped[int] = mapped_column(BigInteger)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ActivityDaily(db.Model):
    """Activities per UTC day, channel and activity type."""

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    channel_id: Mapped[int] = mapped_column(primary_key=True)
    type_id: Mapped[int] = mapped_column(
        ForeignKey("activity_type.id", ondelete="CASCADE"), primary_key=True
    )
    activities: Mapped[int] = mapped_column(default=0)


class AnalyticsPage(db.Model):
    """A page of a channel: its URL without query string or fragment, and its latest title."""

    id: Mapped[int] = mapped_column(primary_key=True)
    channel_id: Mapped[int] = mapped_column()
    url_hash: Mapped[str] = mapped_column(String(32))
    url: Mapped[str] = mapped_column(String(2000))
    title: Mapped[str | None] = mapped_column(String(250))

    __table_args__ = (UniqueConstraint("channel_id", "url_hash"),)


class PageDaily(db.Model):
    """Page visits and landings (``type_id`` pagevisit or landingpage) per UTC day and page."""

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    page_id: Mapped[int] = mapped_column(
        ForeignKey("analytics_page.id", ondelete="CASCADE"), primary_key=True
    )
    type_id: Mapped[int] = mapped_column(
        ForeignKey("activity_type.id", ondelete="CASCADE"), primary_key=True
    )
    views: Mapped[int] = mapped_column(default=0)


class SourceDaily(db.Model):
    """Landings per UTC day, channel and source: the referrer's host or a UTM value."""

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    channel_id: Mapped[int] = mapped_column(primary_key=True)
    dimension: Mapped[str] = mapped_column(String(20), primary_key=True)
    value: Mapped[str] = mapped_column(String(250), primary_key=True)  # "" = none
    visits: Mapped[int] = mapped_column(default=0)


class ContactDaily(db.Model):
    """Contacts created per UTC day, and how many of them are identified now."""

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    contacts: Mapped[int] = mapped_column(default=0)
    identified: Mapped[int] = mapped_column(default=0)


class ConsentDaily(db.Model):
    """Agree and revoke rows per UTC day and consent, and the change in current agreements
    (R14) they caused: +1 for an agree after none or a revoke, -1 for a revoke after an agree."""

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    consent_id: Mapped[int] = mapped_column(
        ForeignKey("consent.id", ondelete="CASCADE"), primary_key=True
    )
    agrees: Mapped[int] = mapped_column(default=0)
    revokes: Mapped[int] = mapped_column(default=0)
    net: Mapped[int] = mapped_column(default=0)


class ActivitySample(db.Model):
    """The activities of the sampled contacts, for distinct-contact questions (page uniques,
    cross-channel overlap, funnels). Deleting an activity or contact deletes its sample rows."""

    activity_id: Mapped[int] = mapped_column(
        BigId,
        ForeignKey("activity.id", ondelete="CASCADE"),
        primary_key=True,
        autoincrement=False,
    )
    contact_id: Mapped[int] = mapped_column(ForeignKey("contact.id", ondelete="CASCADE"))
    type_id: Mapped[int] = mapped_column()
    channel_id: Mapped[int] = mapped_column()
    page_id: Mapped[int | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        Index("ix_activity_sample_created", "created_at"),
        Index("ix_activity_sample_contact", "contact_id"),
    )
