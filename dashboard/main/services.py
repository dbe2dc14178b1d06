"""Overview figures, computed set-based over the store."""

from dataclasses import dataclass
from datetime import datetime, time, timedelta

from sqlalchemy import func, select

from ..extensions import db
from ..models import Activity, ActivityType, Channel, Contact, HitCounter, utcnow
from ..models.analytics import ActivityDaily, ContactDaily, RollupState


@dataclass(frozen=True)
class OverviewKpis:
    """Headline numbers of the overview page."""

    contacts: int
    identified: int
    activities_today: int
    hits_30d: int
    tracked_hits_30d: int

    @property
    def identified_share(self) -> float | None:
        """Identified contacts as a fraction of all contacts, or None with no contacts."""
        return self.identified / self.contacts if self.contacts else None

    @property
    def tracked_share(self) -> float | None:
        """Tracked hits as a fraction of all counted hits in the last 30 days."""
        return self.tracked_hits_30d / self.hits_30d if self.hits_30d else None


@dataclass(frozen=True)
class RecentActivity:
    """One row of the overview's recent-activity list."""

    created_at: datetime
    type_name: str
    channel_name: str | None
    title: str | None
    contact_id: int
    contact_label: str


def overview_kpis(now: datetime | None = None) -> OverviewKpis:
    """Return contact counts, today's activities (UTC) and the 30-day tracked share of hits.

    Contact and activity counts come from the analytics rollups once they are built (their cost
    does not grow with the store; they lag by one rollup interval), from the raw tables before.
    """
    now = now or utcnow()
    start_of_day = datetime.combine(now.date(), time.min, tzinfo=now.tzinfo)
    built = set(db.session.scalars(select(RollupState.name)))
    if {"contact", "activity"} <= built:
        contacts, identified = db.session.execute(
            select(
                func.coalesce(func.sum(ContactDaily.contacts), 0),
                func.coalesce(func.sum(ContactDaily.identified), 0),
            )
        ).one()
        activities_today = db.session.scalar(
            select(func.coalesce(func.sum(ActivityDaily.activities), 0)).where(
                ActivityDaily.day == now.date()
            )
        )
    else:
        contacts, identified = db.session.execute(
            select(func.count(), func.count(Contact.email)).select_from(Contact)
        ).one()
        activities_today = db.session.scalar(
            select(func.count()).select_from(Activity).where(Activity.created_at >= start_of_day)
        )
    hits, tracked = db.session.execute(
        select(
            func.coalesce(func.sum(HitCounter.hits), 0),
            func.coalesce(func.sum(HitCounter.hits).filter(HitCounter.tracked.is_(True)), 0),
        ).where(HitCounter.day > (now - timedelta(days=30)).date())
    ).one()
    return OverviewKpis(
        int(contacts), int(identified), int(activities_today or 0), int(hits), int(tracked)
    )


def recent_activities(limit: int = 15) -> list[RecentActivity]:
    """Return the newest activities with their type, channel and a contact label."""
    rows = db.session.execute(
        select(
            Activity.created_at,
            ActivityType.display_name,
            Channel.display_name,
            Activity.title,
            Contact.id,
            Contact.email,
            Contact.first_name,
            Contact.last_name,
        )
        .join(ActivityType, Activity.type_id == ActivityType.id)
        .join(Contact, Activity.contact_id == Contact.id)
        .outerjoin(Channel, Activity.channel_id == Channel.id)
        .order_by(Activity.created_at.desc(), Activity.id.desc())
        .limit(limit)
    ).all()
    return [
        RecentActivity(
            created_at=r[0],
            type_name=r[1],
            channel_name=r[2],
            title=r[3],
            contact_id=r[4],
            contact_label=" ".join(p for p in (r[6], r[7]) if p) or r[5] or "Anonymous contact",
        )
        for r in rows
    ]
