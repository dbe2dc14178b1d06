"""Analytics."""

from ..blueprints import login_required_blueprint

bp = login_required_blueprint("analytics", __name__, "/analytics")

from . import views  # noqa: E402, F401
