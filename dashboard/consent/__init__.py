"""Consent."""

from ..blueprints import login_required_blueprint

bp = login_required_blueprint("consent", __name__, "/consent")

from . import views  # noqa: E402, F401
