"""The overview page."""

from flask import abort, jsonify, render_template
from flask_login import current_user

from ..analytics.services import overview_panels
from ..models import utcnow
from ..permissions import Permission
from ..progress import read_progress, valid_key
from . import bp
from .services import overview_kpis, recent_activities


@bp.get("/")
def index():
    """KPIs and small charts for everyone; the activity log only for roles that may see
    contacts' activities."""
    recent = recent_activities() if current_user.can(Permission.VIEW_CONTACTS) else None
    charts = overview_panels(utcnow().date()) if current_user.can(Permission.VIEW_ANALYTICS) else []
    return render_template("main/index.html", kpis=overview_kpis(), recent=recent, charts=charts)


@bp.get("/progress/<key>")
def progress(key: str):
    """How far a long operation has got, for static/js/progress.js to poll; 404 for an unknown
    key or one of an operation the user may not see."""
    view = read_progress(key, current_user) if valid_key(key) else None
    if view is None:
        abort(404)
    response = jsonify(view.as_json())
    response.headers["Cache-Control"] = "no-store"
    return response
