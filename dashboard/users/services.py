"""User management use cases."""

import secrets

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from ..audit.services import record_audit
from ..auth.services import hash_password, normalise_email
from ..extensions import db
from ..models import Role, User
from ..models.user import new_session_token


class UserError(ValueError):
    """A user change that breaks a rule; the message says which."""


def generate_password() -> str:
    """Return a new random password (about 96 bits)."""
    return secrets.token_urlsafe(12)


def list_users() -> list[User]:
    """All users, admins first, then by email."""
    return list(db.session.scalars(select(User).order_by(User.role, User.email)))


def create_user(
    email: str,
    role: Role,
    *,
    name: str = "",
    password: str | None = None,
    actor: User | None = None,
) -> tuple[User, str]:
    """Create a user and return it with its password (generated when not given)."""
    password = password or generate_password()
    user = User(
        email=normalise_email(email),
        name=name.strip(),
        role=role,
        password_hash=hash_password(password),
    )
    db.session.add(user)
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise UserError("A user with this email already exists.") from None
    record_audit("user.create", actor, target=user, details={"email": user.email, "role": role})
    db.session.commit()
    return user, password


def _other_active_admins(user: User) -> int:
    return (
        db.session.scalar(
            select(func.count())
            .select_from(User)
            .where(User.role == Role.ADMIN, User.active.is_(True), User.id != user.id)
        )
        or 0
    )


def update_user(user: User, *, name: str, role: Role, active: bool, actor: User) -> None:
    """Change name, role and active switch; the last active admin can be neither demoted nor
    deactivated."""
    removes_admin = user.role == Role.ADMIN and user.active and (role != Role.ADMIN or not active)
    if removes_admin and _other_active_admins(user) == 0:
        raise UserError("This is the last active admin: make another user admin first.")
    changes = {}
    if role != user.role:
        changes["role"] = [user.role.value, role.value]
    if active != user.active:
        changes["active"] = [user.active, active]
    user.name = name.strip()
    user.role = role
    user.active = active  # an inactive user's sessions stop at once: the loader refuses it
    if changes:
        record_audit("user.update", actor, target=user, details=changes)
    db.session.commit()


def reset_password(user: User, *, actor: User) -> str:
    """Give the user a new generated password and end its sessions; return the password."""
    password = generate_password()
    user.password_hash = hash_password(password)
    user.session_token = new_session_token()
    record_audit("user.reset_password", actor, target=user)
    db.session.commit()
    return password
