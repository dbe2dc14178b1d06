"""Streamed, formula-safe CSV export of the filtered contact list."""

import csv
import io

import pytest

from dashboard.contacts import exporting
from dashboard.models import Role
from tests.test_contacts_support import audit_entries, contact, status_id


@pytest.fixture
def marketer(login_as):
    return login_as(Role.MARKETER)


def _rows(response) -> list[dict]:
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))


def test_export_streams_the_filtered_list_with_a_header(client, marketer, monkeypatch):
    monkeypatch.setattr(exporting, "EXPORT_BATCH", 2)
    for i in range(5):
        contact(email=f"de{i}@example.com", country="DE", status_id=status_id("lead"))
    contact(email="fr@example.com", country="FR")
    response = client.get("/contacts/export.csv", query_string={"country": "DE"})
    assert response.status_code == 200
    assert response.is_streamed
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = _rows(response)
    assert [r["email"] for r in rows] == [f"de{i}@example.com" for i in range(5)]
    assert {r["status"] for r in rows} == {"lead"}
    assert list(rows[0]) == list(exporting.EXPORT_COLUMNS)


def test_export_of_nothing_is_just_the_header(client, marketer):
    response = client.get("/contacts/export.csv", query_string={"country": "JP"})
    assert response.get_data(as_text=True).splitlines() == [",".join(exporting.EXPORT_COLUMNS)]


@pytest.mark.parametrize(
    "value", ['=HYPERLINK("http://x","y")', "+1+1", "-1+1", "@SUM(1)", "\t=1", "\r=1"]
)
def test_export_cells_are_formula_safe(client, marketer, value):
    contact(email="f@example.com", first_name=value, company=value, notes=value)
    [row] = _rows(client.get("/contacts/export.csv"))
    for column in ("first_name", "company", "notes"):
        assert row[column] == "'" + value


def test_export_is_audited(client, marketer):
    email = marketer.email
    client.get("/contacts/export.csv", query_string={"identified": "identified"}).get_data()
    [entry] = audit_entries("contact.export")
    assert entry.actor_email == email
    assert entry.details == {"filter": {"identified": "identified"}}


def test_export_refuses_bad_filters(client, marketer):
    assert client.get("/contacts/export.csv", query_string={"country": "XYZ"}).status_code == 400
    assert audit_entries("contact.export") == []
