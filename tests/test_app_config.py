"""Configuration precedence, secret-key refusal, engine set-up, errors and security headers."""

import sqlite3

import pytest
from sqlalchemy import text

from dashboard import create_app
from dashboard.database import check_journal_mode, database_uri, write_intent
from dashboard.extensions import db


def test_config_precedence(tmp_path, monkeypatch):
    (tmp_path / "config.py").write_text(
        "SECRET_KEY = 'from-instance'\nLOGIN_THROTTLE_MAX_PER_EMAIL = 7\nTRUSTED_PROXIES = 0\n"
    )
    monkeypatch.setenv("DASHBOARD_LOGIN_THROTTLE_MAX_PER_EMAIL", "9")
    monkeypatch.setenv("DASHBOARD_LOGIN_THROTTLE_MAX_PER_ADDRESS", "11")
    app = create_app({"LOGIN_THROTTLE_MAX_PER_ADDRESS": 13}, instance_path=str(tmp_path))
    assert app.config["SECRET_KEY"] == "from-instance"  # instance file over defaults
    assert app.config["LOGIN_THROTTLE_MAX_PER_EMAIL"] == 9  # environment over instance file
    assert app.config["LOGIN_THROTTLE_MAX_PER_ADDRESS"] == 13  # test mapping over environment
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path}/dashboard.sqlite"


def test_refuses_to_start_without_a_real_secret(tmp_path, monkeypatch):
    monkeypatch.delenv("DASHBOARD_SECRET_KEY", raising=False)
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app(instance_path=str(tmp_path))
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app({"SECRET_KEY": ""}, instance_path=str(tmp_path))
    assert create_app({"TESTING": True}, instance_path=str(tmp_path)).testing


@pytest.mark.parametrize(
    ("configured", "expected"),
    [
        ("postgresql://u:p@h/db", "postgresql+psycopg://u:p@h/db"),
        ("postgres://u@h:5433/db", "postgresql+psycopg://u@h:5433/db"),
        ("postgresql+psycopg://u@h/db", "postgresql+psycopg://u@h/db"),
        ("sqlite:////tmp/x.sqlite", "sqlite:////tmp/x.sqlite"),
    ],
)
def test_database_uri(configured, expected):
    assert database_uri(configured, "/inst") == expected


def test_wal_is_refused_on_sqlite_with_the_wal_reset_bug():
    with pytest.raises(ValueError, match=r"3\.51\.3"):
        check_journal_mode("wal", (3, 51, 2))
    assert check_journal_mode("WAL", (3, 51, 3)) == "wal"
    assert check_journal_mode("delete", (3, 40, 1)) == "delete"
    with pytest.raises(ValueError, match="unsupported"):
        check_journal_mode("memory", (3, 51, 3))


def test_sqlite_connection_settings(app):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite only")
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 15000
        mode = conn.exec_driver_sql("PRAGMA journal_mode").scalar()
        assert mode == app.config["SQLITE_JOURNAL_MODE"]


def test_sqlite_write_intent_takes_the_write_lock_up_front(app):
    """Under write_intent a transaction holds the RESERVED lock before its first write."""
    if db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite only")
    path = db.engine.url.database
    probe = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        with db.engine.connect() as conn:  # deferred: a read takes no write lock
            conn.execute(text("SELECT 1"))
            probe.execute("BEGIN IMMEDIATE")
            probe.execute("ROLLBACK")
        with write_intent(), db.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                probe.execute("BEGIN IMMEDIATE")
    finally:
        probe.close()


def test_foreign_keys_are_enforced(app):
    from sqlalchemy.exc import IntegrityError

    with pytest.raises(IntegrityError):
        db.session.execute(
            text("INSERT INTO channel_origin (channel_id, origin) VALUES (424242, 'http://x')")
        )
        db.session.flush()
    db.session.rollback()


def test_html_error_pages(client, login_as):
    login_as("analyst")
    forbidden = client.get("/users/")
    assert forbidden.status_code == 403
    assert b"Your role does not give access" in forbidden.data
    missing = client.get("/no-such-page")
    assert missing.status_code == 404
    assert b"There is nothing at this address" in missing.data


def test_json_errors_for_json_clients(client):
    response = client.get("/no-such-page", headers={"Accept": "application/json"})
    assert response.status_code == 404
    assert response.get_json() == {"error": "not_found", "message": response.get_json()["message"]}
    api = client.get("/t/v1/nothing")
    assert api.status_code == 404 and api.is_json


def test_unexpected_error_rolls_back_and_renders_500(app, client):
    from sqlalchemy import func, select

    from dashboard.models import Setting

    @app.get("/boom")
    def boom():
        db.session.add(Setting(key="half", value=1))
        db.session.flush()
        raise RuntimeError("boom")

    response = client.get("/boom")
    assert response.status_code == 500
    assert b"Something went wrong" in response.data
    assert db.session.scalar(select(func.count()).select_from(Setting)) == 0


def test_security_headers_on_every_page(client):
    response = client.get("/auth/login")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert "<script>" not in response.get_data(as_text=True)  # no inline script


def test_hsts_only_over_https(client):
    assert "Strict-Transport-Security" not in client.get("/auth/login").headers
    secure = client.get("/auth/login", base_url="https://localhost")
    assert secure.headers["Strict-Transport-Security"].startswith("max-age=")


def test_huge_ids_in_urls_are_404_not_500(client, login_as):
    login_as("admin")
    assert client.get("/users/99999999999999999999999/edit").status_code == 404
