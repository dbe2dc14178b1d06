"""Channels."""

from ..blueprints import login_required_blueprint

bp = login_required_blueprint("channels", __name__, "/channels")

from . import views  # noqa: E402, F401
