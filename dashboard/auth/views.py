"""Login and logout routes."""

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user, logout_user

from ..extensions import login_manager
from ..urls import safe_next
from . import bp
from .forms import LoginForm, LogoutForm
from .services import LoginThrottled, ThrottleLimits, authenticate, end_sessions, load_user

login_manager.login_view = "auth.login"
login_manager.login_message = "Please log in to see that page."
login_manager.login_message_category = "info"
login_manager.user_loader(load_user)


def _limits() -> ThrottleLimits:
    from datetime import timedelta

    cfg = current_app.config
    return ThrottleLimits(
        window=timedelta(seconds=cfg["LOGIN_THROTTLE_WINDOW_SECONDS"]),
        per_email=cfg["LOGIN_THROTTLE_MAX_PER_EMAIL"],
        per_address=cfg["LOGIN_THROTTLE_MAX_PER_ADDRESS"],
    )


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Show the login form; log in on a valid POST."""
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        try:
            user = authenticate(
                form.email.data, form.password.data, request.remote_addr or "-", _limits()
            )
        except LoginThrottled as exc:
            form.form_errors.append(
                f"Too many failed attempts. Try again in {exc.retry_after // 60} minutes."
            )
            return (
                render_template("auth/login.html", form=form),
                429,
                {"Retry-After": str(exc.retry_after)},
            )
        if user is not None:
            session.clear()
            login_user(user)
            return redirect(safe_next(request.args.get("next"), url_for("main.index")))
        form.form_errors.append("Email or password is not correct.")
        status = 401
    elif request.method == "POST":
        status = 400
    return render_template("auth/login.html", form=form), status


@bp.post("/logout")
def logout():
    """End the session everywhere (rotated token) and return to the login page."""
    form = LogoutForm()
    if form.validate_on_submit() and current_user.is_authenticated:
        end_sessions(current_user._get_current_object())
    logout_user()
    session.clear()
    flash("You are logged out.", "info")
    return redirect(url_for("auth.login"))
