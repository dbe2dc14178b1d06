"""Contacts."""

from ..blueprints import login_required_blueprint

bp = login_required_blueprint("contacts", __name__, "/contacts")

from . import views  # noqa: E402, F401
