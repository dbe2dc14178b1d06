"""Helpers shared by the blueprints."""

from flask import Blueprint

from .permissions import Permission, require_login


def login_required_blueprint(name: str, import_name: str, url_prefix: str) -> Blueprint:
    """Return a blueprint whose every route needs a logged-in user."""
    bp = Blueprint(name, import_name, url_prefix=url_prefix)
    bp.before_request(require_login)
    return bp


def add_placeholder_index(bp: Blueprint, permission: Permission, title: str, planned: str) -> None:
    """Give ``bp`` an honest "not built yet" index page behind ``permission``."""
    from flask import render_template

    from .permissions import permission_required

    @permission_required(permission)
    def index():  # type: ignore[no-untyped-def]
        return render_template("placeholder.html", title=title, planned=planned)

    bp.add_url_rule("/", "index", index, methods=["GET"])
