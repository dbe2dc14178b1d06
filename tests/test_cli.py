"""Command line: init-db, create-user, setup; and the migrations match the models."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, select
from werkzeug.security import check_password_hash

from dashboard.extensions import db
from dashboard.models import ActivityType, Role, User


def test_init_db_is_idempotent(runner):
    result = runner.invoke(args=["init-db"])
    assert result.exit_code == 0, result.output
    assert "Schema is up to date" in result.output
    assert runner.invoke(args=["init-db"]).exit_code == 0


def test_migration_seeds_builtin_activity_types(app):
    codes = set(db.session.scalars(select(ActivityType.code_name).where(ActivityType.is_builtin)))
    assert codes == {
        "pagevisit",
        "landingpage",
        "click",
        "datainput",
        "bizformsubmit",
        "emailclick",
        "memberregistration",
    }


def test_migrations_match_the_models(app):
    """Autogenerate finds nothing to do: the committed migrations build exactly the models."""
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, db.metadata)
    assert diff == []


def test_create_user_prompts_twice(runner):
    result = runner.invoke(
        args=["create-user", "Ana@Example.com", "--role", "marketer"],
        input="a long enough password\na long enough password\n",
    )
    assert result.exit_code == 0, result.output
    user = db.session.scalar(select(User).where(User.email == "ana@example.com"))
    assert user.role == Role.MARKETER
    assert check_password_hash(user.password_hash, "a long enough password")
    assert "a long enough password" not in result.output


def test_create_user_refuses_short_password_and_duplicates(runner):
    short = runner.invoke(
        args=["create-user", "b@example.com", "--role", "analyst"], input="short\nshort\n"
    )
    assert short.exit_code != 0
    assert "12 characters" in short.output
    ok = runner.invoke(
        args=["create-user", "b@example.com", "--role", "analyst", "--generate-password"]
    )
    assert ok.exit_code == 0
    password = ok.output.rsplit("password: ", 1)[1].strip()
    user = db.session.scalar(select(User).where(User.email == "b@example.com"))
    assert check_password_hash(user.password_hash, password)
    again = runner.invoke(
        args=["create-user", "b@example.com", "--role", "admin", "--generate-password"]
    )
    assert again.exit_code != 0
    assert "already exists" in again.output


def test_create_user_rejects_unknown_role(runner):
    result = runner.invoke(args=["create-user", "c@example.com", "--role", "root"])
    assert result.exit_code != 0
    assert db.session.scalar(select(func.count()).select_from(User)) == 0
