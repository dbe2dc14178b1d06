"""The overview page."""

from flask import render_template
from flask_login import current_user

from ..analytics.services import overview_panels
from ..models import utcnow
from ..permissions import Permission
from . import bp
from .services import overview_kpis, recent_activities


@bp.get("/")
def index():
    """KPIs and small charts for everyone; the activity log only for roles that may see
    contacts' activities."""
    recent = recent_activities() if current_user.can(Permission.VIEW_CONTACTS) else None
    charts = overview_panels(utcnow().date()) if current_user.can(Permission.VIEW_ANALYTICS) else []
    return render_template("main/index.html", kpis=overview_kpis(), recent=recent, charts=charts)
