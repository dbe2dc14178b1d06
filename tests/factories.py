"""Small factory functions for rows, committed so requests see them."""

import itertools
from functools import cache

from werkzeug.security import generate_password_hash

from dashboard.extensions import db
from dashboard.models import Role, User

PASSWORD = "correct horse battery staple"
_seq = itertools.count(1)


@cache
def _password_hash() -> str:
    # Hashing is deliberately slow; do it once per test session.
    return generate_password_hash(PASSWORD)


def user(*, role: Role = Role.MARKETER, email: str | None = None, active: bool = True) -> User:
    """Create and commit a user whose password is ``PASSWORD``."""
    row = User(
        email=email or f"{role.value}{next(_seq)}@example.com",
        role=role,
        active=active,
        password_hash=_password_hash(),
    )
    db.session.add(row)
    db.session.commit()
    return row
