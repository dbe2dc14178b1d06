"""Data protection (admins): export or erase everything held about a person; retention."""

from ..blueprints import login_required_blueprint

bp = login_required_blueprint("privacy", __name__, "/consent/data-protection")

from . import views  # noqa: E402, F401
