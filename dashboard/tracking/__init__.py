"""The public tracking API (no login; CSRF exempt; JSON errors)."""

from flask import Blueprint

from ..extensions import csrf

bp = Blueprint("tracking", __name__, url_prefix="/t/v1")
csrf.exempt(bp)

from . import views  # noqa: E402, F401
