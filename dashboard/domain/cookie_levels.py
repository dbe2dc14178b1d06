"""Cookie levels and the effective-level rules R1-R3 of domain.md section 3."""

from enum import IntEnum


class CookieLevel(IntEnum):
    """The six cookie levels; values have gaps on purpose and are compared as integers."""

    NONE = -1000
    SYSTEM = -100
    ESSENTIAL = 0
    EDITOR = 100
    VISITOR = 200
    ALL = 1000

    @property
    def label(self) -> str:
        """Human name, e.g. ``Essential``."""
        return self.name.capitalize()


LEVEL_MEANINGS: dict[CookieLevel, str] = {
    CookieLevel.NONE: "No cookies at all, not even the one storing the level.",
    CookieLevel.SYSTEM: "Only the cookie that stores the visitor's level.",
    CookieLevel.ESSENTIAL: "Only what the site needs to work; visitors are not tracked.",
    CookieLevel.EDITOR: "Cookies of editors and administrators; visitors are not tracked.",
    CookieLevel.VISITOR: "Tracking cookies that identify the visitor; activities are recorded.",
    CookieLevel.ALL: "Every cookie, now and later; activities are recorded.",
}

# Cookies written by the snippet that need at least Visitor level (R3, R6).
VISITOR_COOKIES: tuple[str, ...] = ("CurrentContact", "CMSLandingPageLoaded")
# The cookie storing the level itself needs System level (section 3: None means no cookies at all).
LEVEL_COOKIE = "CMSCookieLevel"


class InvalidCookieLevel(ValueError):
    """A claimed cookie level that is not one of the six values (R1: a 400 error)."""


def parse_cookie_level(value: object) -> CookieLevel | None:
    """Return the level for a claimed value, ``None`` when absent; raise for anything else."""
    if value is None:
        return None
    # bool is an int subclass; true/false is not a level.
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidCookieLevel(f"cookie_level must be one of {[int(v) for v in CookieLevel]}")
    try:
        return CookieLevel(value)
    except ValueError:
        raise InvalidCookieLevel(
            f"cookie_level {value} is not one of {[int(v) for v in CookieLevel]}"
        ) from None


def effective_level(
    claimed: CookieLevel | None,
    channel_default: CookieLevel,
    *,
    has_agreement: bool,
    gpc: bool = False,
    honours_gpc: bool = True,
) -> CookieLevel:
    """Compute the effective cookie level of a tracking request (R1).

    A visitor may always lower the level; a raise above the channel default counts only with a
    current agreement to the channel's tracking consent; Global Privacy Control caps the level at
    Essential unless the visitor agreed.
    """
    if claimed is None or claimed <= channel_default:
        level = claimed if claimed is not None else channel_default
    else:
        level = claimed if has_agreement else channel_default
    if honours_gpc and gpc and not has_agreement:
        level = min(level, CookieLevel.ESSENTIAL)
    return CookieLevel(level)


def may_track(level: CookieLevel) -> bool:
    """Contacts and activities are tracked only at Visitor level or above (R2)."""
    return level >= CookieLevel.VISITOR


def cookies_to_clear(level: CookieLevel) -> list[str]:
    """Cookies the browser must delete at this level (R3): every cookie above the level.

    Below Visitor that is the visitor cookies; at None even the cookie storing the level goes.
    """
    if may_track(level):
        return []
    if level < CookieLevel.SYSTEM:
        return [*VISITOR_COOKIES, LEVEL_COOKIE]
    return list(VISITOR_COOKIES)
