"""The demo website: public pages that embed the tracking snippet."""

from flask import Blueprint

bp = Blueprint("demo", __name__, url_prefix="/demo")

from . import views  # noqa: E402, F401
