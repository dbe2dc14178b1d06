"""User management (admins)."""

from ..blueprints import login_required_blueprint

bp = login_required_blueprint("users", __name__, "/users")

from . import views  # noqa: E402, F401
