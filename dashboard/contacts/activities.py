"""The global activity log and the activity types (built-in and custom)."""

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ..audit.services import record_audit
from ..extensions import db
from ..models import Activity, ActivityType, Contact, User
from .filters import day_start
from .keyset import Cursor, Page
from .services import FieldError, TimelineEntry, activity_entries

ACTIVITY_PAGE_SIZE = 50


@dataclass(frozen=True)
class ActivityFilter:
    """Filters of the activity log; empty values filter nothing."""

    type_id: int | None = None
    channel_id: int | None = None
    contact_id: int | None = None
    contact_email: str | None = None
    since: date | None = None  # first UTC day included
    until: date | None = None  # last UTC day included

    def to_args(self) -> dict[str, str]:
        """The query-string arguments that reproduce this filter."""
        contact = self.contact_email or self.contact_id
        args = {
            "type": self.type_id,
            "channel": self.channel_id,
            "contact": contact,
            "since": self.since,
            "until": self.until,
        }
        return {k: str(v) for k, v in args.items() if v is not None}


def activity_log(f: ActivityFilter, cursor: Cursor | None) -> Page[TimelineEntry]:
    """A page of every contact's activities, newest first."""
    conditions = []
    if f.type_id is not None:
        conditions.append(Activity.type_id == f.type_id)
    if f.channel_id is not None:
        conditions.append(Activity.channel_id == f.channel_id)
    if f.contact_id is not None:
        conditions.append(Activity.contact_id == f.contact_id)
    if f.contact_email is not None:
        owner = select(Contact.id).where(Contact.email == f.contact_email).scalar_subquery()
        conditions.append(Activity.contact_id == owner)
    if f.since is not None:
        conditions.append(Activity.created_at >= day_start(f.since))
    if f.until is not None:
        conditions.append(Activity.created_at < day_start(f.until + timedelta(days=1)))
    return activity_entries(conditions, cursor, ACTIVITY_PAGE_SIZE)


def list_activity_types() -> list[ActivityType]:
    """Built-in types first, then custom ones, by display name."""
    return list(
        db.session.scalars(
            select(ActivityType).order_by(ActivityType.is_builtin.desc(), ActivityType.display_name)
        )
    )


def get_activity_type(type_id: int) -> ActivityType | None:
    """The activity type with this id, or None."""
    return db.session.get(ActivityType, type_id)


def _save_type(activity_type: ActivityType, action: str, actor: User) -> None:
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise FieldError("code_name", "Already used by another activity type.") from None
    record_audit(action, actor, target=activity_type, details={"code": activity_type.code_name})
    db.session.commit()


def create_activity_type(
    *, code_name: str, display_name: str, description: str, actor: User
) -> ActivityType:
    """Create an enabled custom activity type; the code name must be unused."""
    activity_type = ActivityType(
        code_name=code_name,
        display_name=display_name,
        description=description,
        is_builtin=False,
        enabled=True,
    )
    db.session.add(activity_type)
    _save_type(activity_type, "activity_type.create", actor)
    return activity_type


def update_activity_type(
    activity_type: ActivityType, *, code_name: str, display_name: str, description: str, actor: User
) -> None:
    """Change a custom type's code name, display name and description."""
    if activity_type.is_builtin:
        raise FieldError("code_name", "Built-in types cannot be changed, only switched off.")
    activity_type.code_name = code_name
    activity_type.display_name = display_name
    activity_type.description = description
    _save_type(activity_type, "activity_type.update", actor)


def set_activity_type_enabled(activity_type: ActivityType, enabled: bool, actor: User) -> None:
    """Switch a type on or off; events of a disabled type are dropped (R13)."""
    activity_type.enabled = enabled
    action = "activity_type.enable" if enabled else "activity_type.disable"
    record_audit(action, actor, target=activity_type, details={"code": activity_type.code_name})
    db.session.commit()
