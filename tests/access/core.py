"""Login, overview, users, audit and static files."""

from . import ADMINS, ALL_ROLES, PUBLIC

RULES = {
    "static": (("GET",), PUBLIC),
    "auth.login": (("GET", "POST"), PUBLIC),
    "auth.logout": (("POST",), PUBLIC),
    "main.index": (("GET",), ALL_ROLES),
    "main.progress": (("GET",), ALL_ROLES),
    "users.index": (("GET",), ADMINS),
    "users.create": (("GET", "POST"), ADMINS),
    "users.edit": (("GET", "POST"), ADMINS),
    "users.reset": (("POST",), ADMINS),
    "audit.index": (("GET",), ADMINS),
}
URL_VALUES = {"user_id": 1, "filename": "css/app.css", "key": "0" * 32}
