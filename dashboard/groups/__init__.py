"""Contact groups."""

from ..blueprints import login_required_blueprint

bp = login_required_blueprint("groups", __name__, "/contacts/groups")

from . import views  # noqa: E402, F401
