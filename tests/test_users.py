"""User management: create with a generated password, change roles, the last-admin rule."""

from sqlalchemy import select
from werkzeug.security import check_password_hash

from dashboard.extensions import db
from dashboard.models import AuditEntry, Role, User
from tests import factories


def _user(email: str) -> User:
    return db.session.scalar(select(User).where(User.email == email))


def test_admin_creates_user_and_sees_password_once(client, login_as):
    login_as(Role.ADMIN)
    response = client.post(
        "/users/new", data={"email": "New.Person@Example.com", "name": "New", "role": "analyst"}
    )
    assert response.status_code == 200
    created = _user("new.person@example.com")
    assert created is not None and created.role == Role.ANALYST
    page = response.get_data(as_text=True)
    password = page.split("<code>")[1].split("</code>")[0]
    assert len(password) >= 12
    assert password not in created.password_hash  # stored hashed
    assert check_password_hash(created.password_hash, password)
    assert password not in client.get("/users/").get_data(as_text=True)


def test_create_rejects_bad_email_and_duplicate(client, login_as):
    admin = login_as(Role.ADMIN)
    bad = client.post("/users/new", data={"email": "not-an-email", "role": "analyst"})
    assert bad.status_code == 400
    assert b"Invalid email address." in bad.data
    dup = client.post("/users/new", data={"email": admin.email, "role": "analyst"})
    assert dup.status_code == 400
    assert b"already exists" in dup.data


def test_create_rejects_unknown_role(client, login_as):
    login_as(Role.ADMIN)
    response = client.post("/users/new", data={"email": "x@example.com", "role": "superuser"})
    assert response.status_code == 400
    assert _user("x@example.com") is None


def test_role_change_is_audited(client, login_as):
    admin = login_as(Role.ADMIN)
    target = factories.user(role=Role.ANALYST)
    response = client.post(
        f"/users/{target.id}/edit", data={"name": "T", "role": "marketer", "active": "y"}
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(User, target.id).role == Role.MARKETER
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "user.update"))
    assert entry.actor_email == admin.email
    assert entry.target_id == str(target.id)
    assert entry.details == {"role": ["analyst", "marketer"]}


def test_last_admin_cannot_demote_or_deactivate_themselves(client, login_as):
    admin = login_as(Role.ADMIN)
    demote = client.post(f"/users/{admin.id}/edit", data={"role": "analyst", "active": "y"})
    assert demote.status_code == 400
    assert b"last active admin" in demote.data
    deactivate = client.post(f"/users/{admin.id}/edit", data={"role": "admin"})
    assert deactivate.status_code == 400
    db.session.expire_all()
    assert db.session.get(User, admin.id).role == Role.ADMIN
    assert db.session.get(User, admin.id).active


def test_admin_can_be_demoted_when_another_admin_exists(client, login_as):
    login_as(Role.ADMIN)
    other = factories.user(role=Role.ADMIN)
    response = client.post(f"/users/{other.id}/edit", data={"role": "analyst", "active": "y"})
    assert response.status_code == 302


def test_reset_password_ends_sessions_and_shows_new_password(app, client, login_as):
    login_as(Role.ADMIN)
    target = factories.user(role=Role.MARKETER)
    victim = app.test_client()
    victim.post("/auth/login", data={"email": target.email, "password": factories.PASSWORD})
    assert victim.get("/").status_code == 200
    response = client.post(f"/users/{target.id}/reset-password")
    assert response.status_code == 200
    assert victim.get("/").status_code == 302  # old session ended
    password = response.get_data(as_text=True).split("<code>")[1].split("</code>")[0]
    fresh = app.test_client()
    ok = fresh.post("/auth/login", data={"email": target.email, "password": password})
    assert ok.status_code == 302


def test_edit_unknown_user_is_404(client, login_as):
    login_as(Role.ADMIN)
    assert client.get("/users/999999/edit").status_code == 404
