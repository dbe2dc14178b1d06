"""Dashboard users, their roles and failed-login records."""

import enum
import secrets
from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import Enum, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .types import UTCDateTime, utcnow


class Role(enum.StrEnum):
    """The four roles of domain.md section 1."""

    MARKETER = "marketer"
    CHANNEL_MANAGER = "channel_manager"
    ANALYST = "analyst"
    ADMIN = "admin"

    @property
    def label(self) -> str:
        """Human name, e.g. ``Channel manager``."""
        return self.value.replace("_", " ").capitalize()


def new_session_token() -> str:
    """Return a fresh random token identifying a user's login sessions."""
    return secrets.token_urlsafe(32)


class User(UserMixin, db.Model):
    """A person who logs in to the dashboard."""

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(120), default="")
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(
        Enum(Role, native_enum=False, length=20, values_callable=lambda e: [m.value for m in e])
    )
    active: Mapped[bool] = mapped_column(default=True)
    # Rotated on logout and password change: every session cookie carrying the old one dies.
    session_token: Mapped[str] = mapped_column(String(64), unique=True, default=new_session_token)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive users
        return self.active

    def get_id(self) -> str:
        """Flask-Login stores the session token, not the primary key, in the session."""
        return self.session_token

    def can(self, permission: "Permission") -> bool:  # noqa: F821 - resolved at call time
        """Return whether this user's role grants ``permission``."""
        from ..permissions import role_has

        return role_has(self.role, permission)

    def __repr__(self) -> str:
        return f"<User {self.email} {self.role.value}>"


class LoginFailure(db.Model):
    """One failed login; counted per email and per client address to throttle guessing."""

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254))
    address: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        Index("ix_login_failure_email_created", "email", "created_at"),
        Index("ix_login_failure_address_created", "address", "created_at"),
    )
