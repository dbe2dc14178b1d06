"""The overview page."""

from ..blueprints import login_required_blueprint

bp = login_required_blueprint("main", __name__, "")

from . import views  # noqa: E402, F401
