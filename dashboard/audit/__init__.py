"""The audit log (admins)."""

from ..blueprints import login_required_blueprint

bp = login_required_blueprint("audit", __name__, "/audit")

from . import views  # noqa: E402, F401
