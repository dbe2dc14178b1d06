"""The activity log (filters, pages) and activity types (switches, custom types)."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from dashboard.extensions import db
from dashboard.models import ActivityType, Role
from tests.test_contacts_support import (
    NOW,
    activity,
    audit_entries,
    channel,
    contact,
    next_cursor,
    type_id,
)


@pytest.fixture
def marketer(login_as):
    return login_as(Role.MARKETER)


def _titles(client, **args) -> list[str]:
    response = client.get("/contacts/activities", query_string=args)
    assert response.status_code == 200, response.text
    return [t for t in response.text.split("<td>") if t.startswith("T-")]


def _log(client, **args) -> list[str]:
    return [t.split("<", 1)[0] for t in _titles(client, **args)]


@pytest.fixture
def log(app):
    web, mail = channel("web"), channel("mail")
    ana = contact(email="ana@example.com", first_name="Ana")
    bo = contact(email="bo@example.com")
    activity(
        ana, "pagevisit", channel_row=web, created_at=NOW - timedelta(days=3), title="T-ana-visit"
    )
    activity(ana, "click", channel_row=web, created_at=NOW - timedelta(days=2), title="T-ana-click")
    activity(
        bo, "emailclick", channel_row=mail, created_at=NOW - timedelta(days=1), title="T-bo-mail"
    )
    activity(bo, "bizformsubmit", created_at=NOW, title="T-bo-form")  # R9: no channel
    return {"web": web.id, "mail": mail.id, "ana": ana.id, "bo": bo.id}


def test_log_lists_newest_first_with_contacts(client, marketer, log):
    assert _log(client) == ["T-bo-form", "T-bo-mail", "T-ana-click", "T-ana-visit"]
    page = client.get("/contacts/activities").text
    assert f'href="/contacts/{log["ana"]}">Ana</a>' in page


def test_log_filters_by_type_channel_contact_and_time(client, marketer, log):
    assert _log(client, type=type_id("click")) == ["T-ana-click"]
    assert _log(client, channel=log["web"]) == ["T-ana-click", "T-ana-visit"]
    assert _log(client, contact=str(log["bo"])) == ["T-bo-form", "T-bo-mail"]
    assert _log(client, contact="BO@example.com") == ["T-bo-form", "T-bo-mail"]
    assert _log(client, contact="nobody@example.com") == []
    day = (NOW - timedelta(days=2)).date()
    assert _log(client, since=day.isoformat(), until=day.isoformat()) == ["T-ana-click"]
    assert _log(client, since=(NOW - timedelta(days=1)).date().isoformat()) == [
        "T-bo-form",
        "T-bo-mail",
    ]
    assert _log(client, type=type_id("pagevisit"), channel=log["mail"]) == []


@pytest.mark.parametrize(
    "args",
    [
        {"contact": "someone"},
        {"type": "99"},
        {"since": "2024-02-31"},
        {"since": "2024-05-02", "until": "2024-05-01"},
        {"until": "9999-12-31"},
        {"after": "garbage"},
    ],
)
def test_log_refuses_bad_filters(client, marketer, log, args):
    assert client.get("/contacts/activities", query_string=args).status_code == 400


def test_log_pages_by_keyset(client, marketer):
    person = contact(email="p@example.com")
    for i in range(55):
        activity(person, created_at=NOW - timedelta(minutes=i), title=f"T-{i:02d}")
    first = client.get("/contacts/activities").text
    assert "T-00" in first and "T-49" in first and "T-50" not in first
    second = client.get("/contacts/activities", query_string={"after": next_cursor(first)}).text
    assert "T-50" in second and "T-54" in second and "T-49" not in second
    assert next_cursor(second) is None


# --- activity types ------------------------------------------------------------------------------


def test_types_page_lists_builtins_and_custom(client, marketer):
    db.session.add(ActivityType(code_name="filedownload", display_name="File download"))
    db.session.commit()
    page = client.get("/contacts/activity-types/").text
    for code in ("pagevisit", "bizformsubmit", "memberregistration", "filedownload"):
        assert f"<code>{code}</code>" in page
    assert page.count(">Edit<") == 1  # only the custom type is editable


def test_switch_a_builtin_type_off_and_on(client, marketer):
    click = type_id("click")
    response = client.post(f"/contacts/activity-types/{click}/toggle", data={"enabled": "off"})
    assert response.status_code == 302
    db.session.rollback()
    assert db.session.get(ActivityType, click).enabled is False
    client.post(f"/contacts/activity-types/{click}/toggle", data={"enabled": "on"})
    db.session.rollback()
    assert db.session.get(ActivityType, click).enabled is True
    assert [e.action for e in audit_entries("activity_type.disable")] == ["activity_type.disable"]
    assert len(audit_entries("activity_type.enable")) == 1
    assert client.post(f"/contacts/activity-types/{click}/toggle", data={}).status_code == 400


def test_create_and_edit_a_custom_type(client, marketer):
    response = client.post(
        "/contacts/activity-types/new",
        data={"code_name": "filedownload", "display_name": "File download", "description": "PDFs"},
    )
    assert response.status_code == 302
    created = db.session.scalar(
        select(ActivityType).where(ActivityType.code_name == "filedownload")
    )
    assert created.enabled and not created.is_builtin and created.description == "PDFs"
    created_id = created.id
    response = client.post(
        f"/contacts/activity-types/{created_id}/edit",
        data={"code_name": "file-download", "display_name": "Download", "description": ""},
    )
    assert response.status_code == 302
    db.session.rollback()
    edited = db.session.get(ActivityType, created_id)
    assert (edited.code_name, edited.display_name) == ("file-download", "Download")
    assert len(audit_entries("activity_type.create")) == 1
    assert len(audit_entries("activity_type.update")) == 1


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("File Download", "Lower-case letters and digits"),
        ("pagevisit", "Already used by another activity type."),
        ("", "This field is required."),
        ("-x", "Lower-case letters and digits"),
    ],
)
def test_custom_type_code_name_must_be_a_unique_slug(client, marketer, code, message):
    response = client.post(
        "/contacts/activity-types/new", data={"code_name": code, "display_name": "X"}
    )
    assert response.status_code == 400
    assert message in response.text
    assert audit_entries("activity_type.create") == []


def test_builtin_types_cannot_be_edited(client, marketer):
    click = type_id("click")
    assert client.get(f"/contacts/activity-types/{click}/edit").status_code == 404
    response = client.post(
        f"/contacts/activity-types/{click}/edit", data={"code_name": "klick", "display_name": "K"}
    )
    assert response.status_code == 404
    db.session.rollback()
    assert db.session.get(ActivityType, click).code_name == "click"
