"""Roles mapped to permissions in one table, and the decorator views use to require them."""

import enum
from collections.abc import Callable
from functools import wraps
from typing import ParamSpec, TypeVar

from flask import abort
from flask_login import current_user

from .models.user import Role

P = ParamSpec("P")
R = TypeVar("R")


class Permission(enum.StrEnum):
    """What a role may do (domain.md section 1)."""

    VIEW_CONTACTS = "view_contacts"  # personal data: contacts, profiles, activity logs
    EDIT_CONTACTS = "edit_contacts"  # edit, import, export, delete
    MANAGE_GROUPS = "manage_groups"
    MANAGE_ACTIVITY_TYPES = "manage_activity_types"
    MANAGE_CHANNELS = "manage_channels"
    MANAGE_CONSENTS = "manage_consents"
    VIEW_ANALYTICS = "view_analytics"  # aggregates only
    MANAGE_USERS = "manage_users"
    DATA_PROTECTION = "data_protection"  # export / erase requests, retention
    VIEW_AUDIT = "view_audit"


_MARKETER = {
    Permission.VIEW_CONTACTS,
    Permission.EDIT_CONTACTS,
    Permission.MANAGE_GROUPS,
    Permission.MANAGE_ACTIVITY_TYPES,
    Permission.VIEW_ANALYTICS,
}
_CHANNEL_MANAGER = {
    Permission.MANAGE_CHANNELS,
    Permission.MANAGE_CONSENTS,
    Permission.VIEW_ANALYTICS,
}

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.MARKETER: frozenset(_MARKETER),
    Role.CHANNEL_MANAGER: frozenset(_CHANNEL_MANAGER),
    Role.ANALYST: frozenset({Permission.VIEW_ANALYTICS}),
    Role.ADMIN: frozenset(Permission),
}


def role_has(role: Role, permission: Permission) -> bool:
    """Return whether ``role`` grants ``permission``."""
    return permission in ROLE_PERMISSIONS[role]


def permission_required(permission: Permission) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Refuse the view with 403 unless the logged-in user's role grants ``permission``."""

    def decorator(view: Callable[P, R]) -> Callable[P, R]:
        @wraps(view)
        def wrapped(*args: P.args, **kwargs: P.kwargs) -> R:
            if not current_user.is_authenticated or not current_user.can(permission):
                abort(403)
            return view(*args, **kwargs)

        wrapped.required_permission = permission  # type: ignore[attr-defined]
        return wrapped

    return decorator


def require_login() -> None:
    """``before_request`` hook for blueprints that need a logged-in user."""
    from .extensions import login_manager

    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    return None
