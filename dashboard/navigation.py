"""The main navigation: each role sees only the areas it may use."""

from dataclasses import dataclass

from flask import Flask, request
from flask_login import current_user

from .permissions import Permission


@dataclass(frozen=True)
class NavItem:
    """A navigation entry and the permission it needs (None: every logged-in user)."""

    label: str
    endpoint: str
    blueprint: str
    permission: Permission | None


NAV: tuple[NavItem, ...] = (
    NavItem("Overview", "main.index", "main", None),
    NavItem("Contacts", "contacts.index", "contacts", Permission.VIEW_CONTACTS),
    NavItem("Groups", "groups.index", "groups", Permission.MANAGE_GROUPS),
    NavItem("Channels", "channels.index", "channels", Permission.MANAGE_CHANNELS),
    NavItem("Consent", "consent.index", "consent", Permission.MANAGE_CONSENTS),
    NavItem("Analytics", "analytics.index", "analytics", Permission.VIEW_ANALYTICS),
    NavItem("Data protection", "privacy.index", "privacy", Permission.DATA_PROTECTION),
    NavItem("Users", "users.index", "users", Permission.MANAGE_USERS),
    NavItem("Audit", "audit.index", "audit", Permission.VIEW_AUDIT),
)


@dataclass(frozen=True)
class VisibleNavItem:
    """A navigation entry as rendered."""

    label: str
    endpoint: str
    active: bool


def nav_items() -> list[VisibleNavItem]:
    """Entries the current user may use, marking the current area."""
    if not current_user.is_authenticated:
        return []
    return [
        VisibleNavItem(i.label, i.endpoint, request.blueprint == i.blueprint)
        for i in NAV
        if i.permission is None or current_user.can(i.permission)
    ]


def register(app: Flask) -> None:
    """Make ``nav_items()`` available to templates."""
    app.jinja_env.globals["nav_items"] = nav_items
