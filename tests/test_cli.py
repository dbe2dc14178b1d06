"""Command line: init-db, create-user, setup (demo data, rollups, groups, the demo site's
origins), seed-demo; and the migrations match the models."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, select
from werkzeug.security import check_password_hash

from dashboard.channels.origins import InvalidOrigin
from dashboard.demo.services import site_origins
from dashboard.domain.segments import condition_from_json
from dashboard.extensions import db
from dashboard.groups.membership import member_count
from dashboard.groups.services import preview
from dashboard.models import (
    ActivityType,
    Channel,
    Contact,
    ContactGroup,
    GroupStatus,
    Role,
    User,
)
from dashboard.models.analytics import RollupState
from dashboard.models.group_analytics import (
    GroupActivityDaily,
    GroupMemberChange,
    GroupRollupMember,
)


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


def test_setup_seeds_demo_rollups_groups_and_prints_the_admin_password_once(runner):
    first = runner.invoke(args=["setup", "--demo-contacts", "80", "--demo-days", "10"])
    assert first.exit_code == 0, first.output
    password = first.output.split("password: ", 1)[1].split()[0]
    admin = db.session.scalar(select(User).where(User.role == Role.ADMIN))
    assert admin.email == "admin@example.com"
    assert check_password_hash(admin.password_hash, password)
    assert db.session.scalar(select(func.count()).select_from(Contact)) == 80
    assert set(db.session.scalars(select(RollupState.name))) >= {"activity", "contact"}
    groups = db.session.scalars(select(ContactGroup).order_by(ContactGroup.code_name)).all()
    assert [g.code_name for g in groups] == ["dach-identified", "engaged-visitors"]
    for group in groups:
        assert group.status == GroupStatus.READY
        expected = preview(condition_from_json(group.condition)).count
        assert member_count(group.id) == expected
    # The groups exist before the rollups are built, so their group rollups are built with the
    # others: a group filter shows the demo data from the first request, not after the job.
    assert db.session.scalar(select(func.count()).select_from(GroupMemberChange)) == 0
    for group in groups:
        rolled = select(func.count()).where(GroupRollupMember.group_id == group.id)
        assert db.session.scalar(rolled) == member_count(group.id)
    engaged = groups[1]
    assert member_count(engaged.id) > 0
    counted = select(func.sum(GroupActivityDaily.activities)).where(
        GroupActivityDaily.group_id == engaged.id
    )
    assert db.session.scalar(counted) > 0

    again = runner.invoke(args=["setup"])
    assert again.exit_code == 0, again.output
    assert "password:" not in again.output
    assert db.session.scalar(select(func.count()).select_from(Contact)) == 80


def test_seed_demo_refuses_a_store_with_contacts_without_a_traceback(runner):
    assert runner.invoke(args=["seed-demo", "--contacts", "5", "--days", "2"]).exit_code == 0
    again = runner.invoke(args=["seed-demo", "--contacts", "5", "--days", "2"])
    assert again.exit_code == 1
    assert again.output.startswith("Error: ")
    assert "Traceback" not in again.output


def _origins(code: str) -> set[str]:
    channel = db.session.scalar(select(Channel).where(Channel.code_name == code))
    return {o.origin for o in channel.origins}


def test_setup_loads_the_demo_creates_an_admin_and_allows_the_served_address(runner):
    first = runner.invoke(args=["setup", "--url", "http://127.0.0.1:5077", "--demo-contacts", "20"])
    assert first.exit_code == 0, first.output
    password = first.output.split("password: ", 1)[1].split()[0]
    admin = db.session.scalar(select(User).where(User.role == Role.ADMIN))
    assert admin.email == "admin@example.com"
    assert check_password_hash(admin.password_hash, password)
    assert db.session.scalar(select(func.count()).select_from(Contact)) == 20
    served = {"http://127.0.0.1:5077", "http://localhost:5077"}
    assert "now also accept http://127.0.0.1:5077, http://localhost:5077." in first.output
    for code in ("corporate-site", "shop-site"):
        assert served <= _origins(code)  # the demo pages on port 5077 may send
    db.session.rollback()

    again = runner.invoke(args=["setup", "--url", "http://127.0.0.1:5077"])
    assert again.exit_code == 0, again.output
    assert "Admin account exists" in again.output and "password:" not in again.output
    assert "accept" not in again.output  # nothing to add
    assert db.session.scalar(select(func.count()).select_from(User)) == 1
    assert db.session.scalar(select(func.count()).select_from(Contact)) == 20

    bad = runner.invoke(args=["setup", "--url", "127.0.0.1:5077"])
    assert bad.exit_code != 0 and "not a URL like" in bad.output


@pytest.mark.parametrize(
    ("url", "origins"),
    [
        ("http://127.0.0.1:5077", ["http://127.0.0.1:5077", "http://localhost:5077"]),
        ("http://localhost:5000/", ["http://127.0.0.1:5000", "http://localhost:5000"]),
        ("http://0.0.0.0:8000", ["http://127.0.0.1:8000", "http://localhost:8000"]),
        ("http://localhost:80", ["http://127.0.0.1", "http://localhost"]),
        ("https://Dash.Example.com", ["https://dash.example.com"]),
        ("http://[::1]:5000", ["http://[::1]:5000"]),
    ],
)
def test_site_origins_are_what_browsers_send(url, origins):
    assert site_origins(url) == origins


@pytest.mark.parametrize("url", ["127.0.0.1:5000", "ftp://example.com", "http://:99999", ""])
def test_site_origins_refuse_what_is_not_an_address(url):
    with pytest.raises(InvalidOrigin):
        site_origins(url)
