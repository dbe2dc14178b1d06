"""Access rules per area, merged by tests/test_access_matrix.py.

Each module defines ``RULES: dict[endpoint, (methods, who)]`` and optionally ``URL_VALUES`` for
URL parameters. ``who`` is PUBLIC or a frozenset of roles; anonymous visitors of non-public
routes must be sent to the login page (or, for JSON APIs, refused).
"""

from dashboard.models import Role

PUBLIC = "public"
ALL_ROLES = frozenset(Role)
MARKETERS = frozenset({Role.MARKETER, Role.ADMIN})
CHANNEL_MANAGERS = frozenset({Role.CHANNEL_MANAGER, Role.ADMIN})
ADMINS = frozenset({Role.ADMIN})
