"""Visitor-supplied text is shown inert on every contact page and in the export."""

import csv
import io

import pytest
from markupsafe import escape

from dashboard.models import Role
from tests.test_contacts_support import (
    activity,
    agreement,
    channel,
    consent,
    contact,
    group,
    member,
)

SCRIPT = "<script>alert(1)</script>"
FORMULA = '=HYPERLINK("http://x")'
IMAGE = '<img src=x onerror="alert(2)">'


@pytest.fixture
def visitor(app):
    row = contact(
        email="visitor@example.com",
        first_name=SCRIPT,
        last_name=FORMULA,
        company=IMAGE,
        notes=SCRIPT,
        city=FORMULA,
    )
    activity(row, channel_row=channel("web"), title=SCRIPT, value=IMAGE, url=f"javascript:{SCRIPT}")
    agreement(row, consent(short=SCRIPT))
    member(group(), row)
    return row.id


def _assert_inert(html: str, *values: str) -> None:
    for value in values:
        assert value not in html
        assert str(escape(value)) in html


@pytest.mark.parametrize(
    "url",
    [
        "/contacts/",
        "/contacts/?q=visitor",
        "/contacts/{id}",
        "/contacts/{id}/edit",
        "/contacts/{id}/delete",
        "/contacts/activities",
    ],
)
def test_contact_pages_show_visitor_text_inert(client, login_as, visitor, url):
    login_as(Role.MARKETER)
    response = client.get(url.format(id=visitor))
    assert response.status_code == 200
    _assert_inert(response.text, SCRIPT, FORMULA)


def test_bulk_confirmation_shows_no_visitor_text(client, login_as, visitor):
    login_as(Role.MARKETER)
    response = client.get(f"/contacts/bulk?action=delete&scope=selected&ids={visitor}")
    assert response.status_code == 200
    assert "<strong>1</strong> contact will be deleted" in response.text
    assert SCRIPT not in response.text


def test_profile_shows_every_visitor_field_inert(client, login_as, visitor):
    login_as(Role.MARKETER)
    page = client.get(f"/contacts/{visitor}").text
    _assert_inert(page, SCRIPT, IMAGE)
    assert 'href="javascript:' not in page


@pytest.mark.parametrize(
    "url",
    [
        "/consent/data-protection/?q=visitor@example.com",
        "/consent/data-protection/contacts/{id}/erase",
    ],
)
def test_privacy_pages_show_visitor_text_inert(client, login_as, visitor, url):
    login_as(Role.ADMIN)
    response = client.get(url.format(id=visitor))
    assert response.status_code == 200
    _assert_inert(response.text, SCRIPT)


def test_import_report_shows_uploaded_text_inert(client, login_as):
    login_as(Role.MARKETER)
    response = client.post(
        "/contacts/import",
        data={"file": (io.BytesIO(f"email,{SCRIPT}\na@example.com,x\n".encode()), "x.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 400
    _assert_inert(response.text, SCRIPT)


def test_export_makes_the_formula_inert(client, login_as, visitor):
    login_as(Role.MARKETER)
    [row] = csv.DictReader(io.StringIO(client.get("/contacts/export.csv").get_data(as_text=True)))
    assert row["last_name"] == "'" + FORMULA
    assert row["city"] == "'" + FORMULA
    assert row["first_name"] == SCRIPT  # CSV is data, not markup: kept as typed, not a formula
