"""The audit log page."""

from flask import render_template, request

from ..permissions import Permission, permission_required
from . import bp
from .services import audit_actions, list_audit


@bp.get("/")
@permission_required(Permission.VIEW_AUDIT)
def index():
    """List audit entries, newest first, optionally filtered by area."""
    before = request.args.get("before", type=int)
    area = request.args.get("area") or None
    page = list_audit(before=before, action_prefix=f"{area}." if area else None)
    return render_template("audit/index.html", page=page, areas=audit_actions(), area=area)
