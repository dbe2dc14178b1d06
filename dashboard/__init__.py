"""The dashboard application factory."""

import os
from collections.abc import Mapping
from typing import Any

from flask import Flask

DEFAULT_SECRET = "dev-insecure-change-me"  # noqa: S105


def create_app(test_config: Mapping[str, Any] | None = None, *, instance_path: str | None = None):
    """Build the app: config, extensions, blueprints, error handlers, command line."""
    app = Flask(
        __name__,
        template_folder="../templates",
        static_folder="../static",
        instance_relative_config=True,
        instance_path=instance_path or os.environ.get("DASHBOARD_INSTANCE_PATH") or None,
    )
    _load_config(app, test_config)
    _init_extensions(app)
    _register_blueprints(app)

    from . import errors, navigation, progress, security

    errors.register(app)
    security.register(app)
    navigation.register(app)
    progress.register(app)

    from .cli import register_commands

    register_commands(app)

    from .analytics.worker import init_rollups

    init_rollups(app)
    return app


def _load_config(app: Flask, test_config: Mapping[str, Any] | None) -> None:
    """Defaults -> instance/config.py -> DASHBOARD_* environment -> test mapping."""
    app.config.from_object("dashboard.config")
    app.config.from_pyfile("config.py", silent=True)
    app.config.from_prefixed_env("DASHBOARD")
    if test_config is not None:
        app.config.from_mapping(test_config)

    from .database import database_uri

    app.config["SQLALCHEMY_DATABASE_URI"] = database_uri(
        app.config["DATABASE_URL"], app.instance_path
    )
    if app.config["SECRET_KEY"] in ("", DEFAULT_SECRET) and not (app.debug or app.testing):
        raise RuntimeError(
            "SECRET_KEY is missing or the development default: set it in instance/config.py "
            "or DASHBOARD_SECRET_KEY (`make run` writes one for you)."
        )


def _init_extensions(app: Flask) -> None:
    from . import sql  # noqa: F401 - renders SQLite index hints (see sql.py)
    from .auth.session import SecureAwareSessionInterface
    from .database import configure_engine
    from .extensions import csrf, db, login_manager, migrate

    db.init_app(app)
    migrate.init_app(
        app,
        db,
        directory=os.path.join(app.root_path, "..", "migrations"),
        render_as_batch=True,
        compare_type=True,
    )
    csrf.init_app(app)
    login_manager.init_app(app)
    app.session_interface = SecureAwareSessionInterface()
    with app.app_context():
        configure_engine(
            db.engine,
            journal_mode=app.config["SQLITE_JOURNAL_MODE"],
            busy_timeout_ms=app.config["SQLITE_BUSY_TIMEOUT_MS"],
        )
    if app.config["TRUSTED_PROXIES"]:
        from werkzeug.middleware.proxy_fix import ProxyFix

        n = int(app.config["TRUSTED_PROXIES"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)  # type: ignore[method-assign]


def _register_blueprints(app: Flask) -> None:
    from .urls import BoundedIntConverter

    app.url_map.converters["int"] = BoundedIntConverter
    from .analytics import bp as analytics_bp
    from .audit import bp as audit_bp
    from .auth import bp as auth_bp
    from .channels import bp as channels_bp
    from .consent import bp as consent_bp
    from .contacts import bp as contacts_bp
    from .demo import bp as demo_bp
    from .groups import bp as groups_bp
    from .main import bp as main_bp
    from .privacy import bp as privacy_bp
    from .tracking import bp as tracking_bp
    from .users import bp as users_bp

    for bp in (
        auth_bp,
        main_bp,
        contacts_bp,
        groups_bp,
        channels_bp,
        consent_bp,
        privacy_bp,
        analytics_bp,
        users_bp,
        audit_bp,
        tracking_bp,
        demo_bp,
    ):
        app.register_blueprint(bp)
