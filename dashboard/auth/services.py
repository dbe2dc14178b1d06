"""Authentication: password checks, failed-login throttling kept in the database, sessions."""

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, func, or_, select
from werkzeug.security import check_password_hash, generate_password_hash

from ..extensions import db
from ..models import LoginFailure, User, utcnow
from ..models.user import new_session_token

# Compared against when the email is unknown, so both failures cost the same time.
_DUMMY_HASH = generate_password_hash("not-a-real-password")


@dataclass(frozen=True)
class ThrottleLimits:
    """How many failures a window allows per email and per client address."""

    window: timedelta
    per_email: int
    per_address: int


class LoginThrottled(Exception):
    """Too many failed logins for this email or address; try again later."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"retry after {retry_after}s")
        self.retry_after = retry_after


def normalise_email(email: str) -> str:
    """Emails are compared lower-cased and trimmed."""
    return email.strip().lower()


def hash_password(password: str) -> str:
    """Return a salted hash of ``password`` (scrypt, werkzeug's default)."""
    return generate_password_hash(password)


def _check_throttle(email: str, address: str, limits: ThrottleLimits) -> None:
    since = utcnow() - limits.window
    by_email, by_address = db.session.execute(
        select(
            func.count().filter(LoginFailure.email == email),
            func.count().filter(LoginFailure.address == address),
        ).where(
            LoginFailure.created_at >= since,
            or_(LoginFailure.email == email, LoginFailure.address == address),
        )
    ).one()
    if by_email >= limits.per_email or by_address >= limits.per_address:
        raise LoginThrottled(int(limits.window.total_seconds()))


def authenticate(email: str, password: str, address: str, limits: ThrottleLimits) -> User | None:
    """Return the active user for these credentials, or ``None``; record failures.

    Raises LoginThrottled when the email or address has failed too often in the window; the
    answer is the same for an unknown email and a wrong password.
    """
    email = normalise_email(email)
    _check_throttle(email, address, limits)
    user = db.session.scalar(select(User).where(User.email == email))
    valid = check_password_hash(user.password_hash if user else _DUMMY_HASH, password)
    if user is None or not valid or not user.active:
        db.session.add(LoginFailure(email=email, address=address))
        db.session.execute(
            delete(LoginFailure).where(LoginFailure.created_at < utcnow() - 2 * limits.window)
        )
        db.session.commit()
        return None
    user.last_login_at = utcnow()
    db.session.execute(delete(LoginFailure).where(LoginFailure.email == email))
    db.session.commit()
    return user


def load_user(session_token: str) -> User | None:
    """Flask-Login loader: the active user whose current session token this is."""
    return db.session.scalar(
        select(User).where(User.session_token == session_token, User.active.is_(True))
    )


def end_sessions(user: User) -> None:
    """Rotate the user's session token so every existing session cookie stops working."""
    user.session_token = new_session_token()
    db.session.commit()
