"""User management pages (admins only)."""

from flask import abort, flash, redirect, render_template, url_for
from flask_login import current_user

from ..extensions import db
from ..models import Role, User
from ..permissions import Permission, permission_required
from . import bp
from .forms import ResetPasswordForm, UserCreateForm, UserEditForm
from .services import UserError, create_user, list_users, reset_password, update_user


def _user_or_404(user_id: int) -> User:
    return db.session.get(User, user_id) or abort(404)


@bp.get("/")
@permission_required(Permission.MANAGE_USERS)
def index():
    """List users with their roles and state."""
    return render_template("users/index.html", users=list_users())


@bp.route("/new", methods=["GET", "POST"])
@permission_required(Permission.MANAGE_USERS)
def create():
    """Create a user and show its generated password once (not redirected: never stored)."""
    form = UserCreateForm()
    if form.validate_on_submit():
        try:
            user, password = create_user(
                form.email.data,
                Role(form.role.data),
                name=form.name.data or "",
                actor=current_user,
            )
        except UserError as exc:
            form.email.errors.append(str(exc))
        else:
            return render_template("users/password.html", user=user, password=password)
    return render_template("users/create.html", form=form), 400 if form.errors else 200


@bp.route("/<int:user_id>/edit", methods=["GET", "POST"])
@permission_required(Permission.MANAGE_USERS)
def edit(user_id: int):
    """Change a user's name, role or active switch."""
    user = _user_or_404(user_id)
    form = UserEditForm(obj=user)
    if form.validate_on_submit():
        try:
            update_user(
                user,
                name=form.name.data or "",
                role=Role(form.role.data),
                active=form.active.data,
                actor=current_user,
            )
        except UserError as exc:
            db.session.rollback()
            form.form_errors.append(str(exc))
        else:
            flash(f"Saved {user.email}.", "success")
            return redirect(url_for("users.index"))
    elif not form.is_submitted():
        form.role.data = user.role.value
    status = 400 if form.errors or form.form_errors else 200
    return render_template(
        "users/edit.html", form=form, user=user, reset_form=ResetPasswordForm()
    ), status


@bp.post("/<int:user_id>/reset-password")
@permission_required(Permission.MANAGE_USERS)
def reset(user_id: int):
    """Generate a new password for the user and show it once."""
    user = _user_or_404(user_id)
    if not ResetPasswordForm().validate_on_submit():
        abort(400)
    return render_template(
        "users/password.html", user=user, password=reset_password(user, actor=current_user)
    )
