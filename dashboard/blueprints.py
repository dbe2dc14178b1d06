"""Helpers shared by the blueprints."""

from flask import Blueprint

from .permissions import require_login


def login_required_blueprint(name: str, import_name: str, url_prefix: str) -> Blueprint:
    """Return a blueprint whose every route needs a logged-in user."""
    bp = Blueprint(name, import_name, url_prefix=url_prefix)
    bp.before_request(require_login)
    return bp
