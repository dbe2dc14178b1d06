"""CSV import: header check, per-row report before any write, upsert by GUID or email, batches."""

import io
import re
import uuid

import pytest
from sqlalchemy import select

from dashboard.contacts import importing
from dashboard.extensions import db
from dashboard.models import Contact, ContactAlias, MembershipRefresh, Role
from tests.test_contacts_support import audit_entries, contact, count, status_id


@pytest.fixture
def marketer(login_as):
    return login_as(Role.MARKETER)


def _check(client, text: str | bytes):
    data = text.encode() if isinstance(text, str) else text
    return client.post(
        "/contacts/import",
        data={"file": (io.BytesIO(data), "contacts.csv")},
        content_type="multipart/form-data",
    )


def _payload(html: str) -> str:
    return re.search(r'name="payload" type="hidden" value="([^"]+)"', html).group(1)


def _import(client, text: str):
    checked = _check(client, text)
    assert checked.status_code == 200, checked.text
    return client.post("/contacts/import/confirm", data={"payload": _payload(checked.text)})


def _problems(html: str) -> list[tuple[str, str, str]]:
    rows = re.findall(r"<tr><td>([^<]*)</td><td>([^<]*)</td><td>([^<]*)</td></tr>", html)
    return [(line, column, problem) for line, column, problem in rows]


def test_upload_page(client, marketer):
    page = client.get("/contacts/import")
    assert page.status_code == 200
    assert 'enctype="multipart/form-data"' in page.text


def test_check_reports_counts_and_writes_nothing(client, marketer):
    contact(email="known@example.com", first_name="Known")
    response = _check(client, "email,first_name\nknown@example.com,K\nnew@example.com,N\n")
    assert response.status_code == 200
    assert "<strong>2</strong> rows read" in response.text
    assert "1 new contact," in response.text and "1 update of existing" in response.text
    assert "Import 2 rows" in response.text
    assert count(Contact) == 1


def test_import_creates_and_updates_by_email_keeping_empty_cells(client, marketer):
    known = contact(email="known@example.com", first_name="Known", city="Oslo", country="NO")
    known_id = known.id
    text = (
        "email,first_name,last_name,city,country,birthday,status\n"
        "KNOWN@example.com,Kari,,,se,,customer\n"
        "new@example.com,Nils,Berg,Bergen,no,1980-05-06,lead\n"
    )
    response = _import(client, text)
    assert response.status_code == 302
    db.session.rollback()
    updated = db.session.get(Contact, known_id)
    assert (updated.first_name, updated.city, updated.country) == ("Kari", "Oslo", "SE")
    assert updated.status_id == status_id("customer")
    new = db.session.scalar(select(Contact).where(Contact.email == "new@example.com"))
    assert (new.first_name, new.last_name, new.country) == ("Nils", "Berg", "NO")
    assert new.birthday.isoformat() == "1980-05-06" and new.status_id == status_id("lead")
    queued = set(db.session.scalars(select(MembershipRefresh.contact_id)))
    assert queued == {known_id, new.id}  # R17
    [entry] = audit_entries("contact.import")
    assert entry.details == {"rows": 2, "created": 1, "updated": 1}


def test_import_by_guid_updates_sets_email_or_creates(client, marketer):
    anon = contact()
    merged_away = uuid.uuid4()
    survivor = contact(email="survivor@example.com", first_name="Before")
    db.session.add(ContactAlias(guid=merged_away, contact_id=survivor.id))
    db.session.commit()
    fresh = uuid.uuid4()
    anon_id, anon_guid, survivor_id = anon.id, anon.guid, survivor.id
    text = (
        "guid,email,first_name\n"
        f"{anon_guid},identified@example.com,Ida\n"
        f"{merged_away},,After\n"
        f"{fresh},,Fresh\n"
    )
    assert _import(client, text).status_code == 302
    db.session.rollback()
    assert db.session.get(Contact, anon_id).email == "identified@example.com"
    assert db.session.get(Contact, survivor_id).first_name == "After"
    created = db.session.scalar(select(Contact).where(Contact.guid == fresh))
    assert created.first_name == "Fresh" and created.email is None
    assert count(Contact) == 3


def test_exported_file_imports_again(client, marketer):
    contact(email="round@example.com", first_name="=Round", mobile_phone="+49 30 1234")
    exported = client.get("/contacts/export.csv").text
    checked = _check(client, exported)
    assert checked.status_code == 200, _problems(checked.text)
    assert "1 update of existing" in checked.text
    assert (
        client.post(
            "/contacts/import/confirm", data={"payload": _payload(checked.text)}
        ).status_code
        == 302
    )
    db.session.rollback()
    row = db.session.scalar(select(Contact))
    assert (row.first_name, row.mobile_phone) == ("=Round", "+49 30 1234")


HEADER_CASES = [
    ("", "1", "—", "The file is empty"),
    ("email,shoe_size\nx@example.com,42\n", "1", "shoe_size", "Unknown column"),
    ("email,email\na@example.com,b@example.com\n", "1", "email", "Appears twice"),
    ("first_name\nAna\n", "1", "—", "needs an email or a guid column"),
]


@pytest.mark.parametrize(("text", "line", "column", "message"), HEADER_CASES)
def test_header_problems(client, marketer, text, line, column, message):
    response = _check(client, text)
    assert response.status_code == 400
    assert (line, column) in [(p[0], p[1]) for p in _problems(response.text)]
    assert message in response.text
    assert count(Contact) == 0


ROW_CASES = [
    ("not-an-email,A", "email", "Not a valid email address."),
    (",A", "email", "Needs an email or a guid."),
    ("a@example.com,A,extra", "—", "Has 3 cells; the header has 2."),
    ("a@example.com," + "x" * 101, "first_name", "Longer than 100 characters."),
    ("a@example.com,A\x00B", "first_name", "Contains a NUL character."),
]


@pytest.mark.parametrize(("row", "column", "message"), ROW_CASES)
def test_row_problems_are_reported_with_line_and_column(client, marketer, row, column, message):
    response = _check(client, f"email,first_name\nok@example.com,Ok\n{row}\n")
    assert response.status_code == 400
    assert ("3", column, message) in _problems(response.text)
    assert "nothing was written" in response.text
    assert count(Contact) == 0


@pytest.mark.parametrize(
    ("header", "value", "column", "message"),
    [
        ("country", "Deutschland", "country", "two-letter"),
        ("birthday", "31/12/1990", "birthday", "YYYY-MM-DD"),
        ("status", "vip", "status", "Unknown status; known: customer, inactive, lead, prospect."),
        ("guid", "not-a-guid", "guid", "Not a valid GUID."),
    ],
)
def test_value_problems(client, marketer, header, value, column, message):
    response = _check(client, f"email,{header}\na@example.com,{value}\n")
    assert response.status_code == 400
    [(line, col, problem)] = _problems(response.text)
    assert (line, col) == ("2", column) and message in problem


def test_an_email_of_another_contact_is_reported_never_merged(client, marketer):
    """R10: only live-site actions merge."""
    owner = contact(email="taken@example.com", first_name="Owner")
    other = contact(email="other@example.com")
    text = f"guid,email\n{other.guid},taken@example.com\n{uuid.UUID(int=3)},taken@example.com\n"
    problems = _problems(_check(client, text).text)
    message = f"Already used by contact #{owner.id} (Owner); contacts are never merged here."
    assert ("2", "email", message) in problems  # existing contact, another's email
    assert ("3", "email", message) in problems  # new GUID, another's email


def test_second_claims_within_the_file_are_reported(client, marketer):
    other = contact(email="other@example.com")
    text = (
        "guid,email\n"
        ",dup@example.com\n"  # 2
        ",DUP@example.com\n"  # 3: the same email again
        f"{uuid.UUID(int=7)},\n"  # 4
        f"{uuid.UUID(int=7)},\n"  # 5: the same GUID again
        f"{other.guid},\n"  # 6
        ",other@example.com\n"  # 7: the same contact as line 6, found by email
    )
    problems = _problems(_check(client, text).text)
    assert problems == [
        ("3", "email", "Also on line 2."),
        ("5", "guid", "Also on line 4."),
        ("7", "—", "Updates the same contact as line 6."),
    ]
    assert count(Contact) == 1


def test_file_that_is_not_utf8(client, marketer):
    response = _check(client, b"email,first_name\na@example.com,J\xf6rg\n")
    assert response.status_code == 400
    assert ("2", "—", "The file is not UTF-8 text from this line on.") in _problems(response.text)


def test_utf8_bom_and_crlf_are_fine(client, marketer):
    assert _import(client, "\ufeffEmail,First_Name\r\na@example.com,Jörg\r\n").status_code == 302
    db.session.rollback()
    assert db.session.scalar(select(Contact.first_name)) == "Jörg"


def test_header_only_file_has_nothing_to_import(client, marketer):
    response = _check(client, "email\n")
    assert response.status_code == 400
    assert "no contact rows" in response.text


def test_missing_file_is_a_field_error(client, marketer):
    response = client.post("/contacts/import", data={}, content_type="multipart/form-data")
    assert response.status_code == 400
    assert "Choose a CSV file." in response.text


def test_damaged_or_oversized_payload_is_refused(client, marketer, app):
    assert client.post("/contacts/import/confirm", data={"payload": "%%%"}).status_code == 400
    big = importing.pack_upload(b"email\n" + b"a" * (app.config["MAX_CONTENT_LENGTH"] + 10))
    assert client.post("/contacts/import/confirm", data={"payload": big}).status_code == 400
    assert client.post("/contacts/import/confirm", data={}).status_code == 400
    assert count(Contact) == 0


def test_confirm_checks_again_and_refuses_a_file_that_went_stale(client, marketer):
    checked = _check(client, f"guid,email\n{uuid.UUID(int=1)},late@example.com\n")
    contact(email="late@example.com")  # someone takes the email meanwhile
    response = client.post("/contacts/import/confirm", data={"payload": _payload(checked.text)})
    assert response.status_code == 400
    assert "Already used by contact" in response.text
    assert count(Contact) == 1


def test_import_writes_in_batches(client, marketer, monkeypatch):
    monkeypatch.setattr(importing, "IMPORT_BATCH", 2)
    contact(email="e1@example.com")
    text = "email,city\n" + "".join(f"e{i}@example.com,City {i}\n" for i in range(7))
    assert _import(client, text).status_code == 302
    assert count(Contact) == 7
    [entry] = audit_entries("contact.import")
    assert entry.details == {"rows": 7, "created": 6, "updated": 1}


# --- command line -----------------------------------------------------------------------------


def test_cli_imports_with_progress(runner, tmp_path, monkeypatch):
    monkeypatch.setattr(importing, "IMPORT_BATCH", 2)
    path = tmp_path / "people.csv"
    path.write_text("email,first_name\n" + "".join(f"c{i}@example.com,C{i}\n" for i in range(5)))
    result = runner.invoke(args=["import-contacts", str(path)])
    assert result.exit_code == 0, result.output
    assert "imported 4 of 5 rows" in result.output
    assert "Imported 5 rows from people.csv: 5 contacts created, 0 updated" in result.output
    assert count(Contact) == 5
    assert audit_entries("contact.import")[0].actor_email == "system"


def test_cli_check_only_writes_nothing(runner, tmp_path):
    path = tmp_path / "people.csv"
    path.write_text("email\na@example.com\n")
    result = runner.invoke(args=["import-contacts", "--check", str(path)])
    assert result.exit_code == 0, result.output
    assert "Checked 1 rows" in result.output and "1 contacts would be created" in result.output
    assert count(Contact) == 0


def test_cli_reports_problems_and_fails(runner, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_bytes(b"email,country\na@example.com,XYZ\nb@example.com,DE\n\xff\xfe\n")
    result = runner.invoke(args=["import-contacts", str(path)])
    assert result.exit_code != 0
    assert "line 2, country: Use the two-letter ISO 3166 code" in result.output
    assert "line 4, row: The file is not UTF-8 text from this line on." in result.output
    assert "2 problems in bad.csv; nothing was imported." in result.output
    assert count(Contact) == 0


def test_cli_refuses_missing_file(runner, tmp_path):
    result = runner.invoke(args=["import-contacts", str(tmp_path / "nope.csv")])
    assert result.exit_code != 0


def test_a_file_that_changes_between_check_and_write_stops_at_the_conflict(app, monkeypatch):
    """Batches before the conflict stay written, and the audit entry says how many."""
    monkeypatch.setattr(importing, "IMPORT_BATCH", 1)
    taken = contact(email="taken@example.com").id
    versions = iter(
        [
            "email\nfirst@example.com\nsecond@example.com\n",  # what the check reads
            f"guid,email\n,first@example.com\n{uuid.UUID(int=5)},taken@example.com\n",
        ]
    )
    with pytest.raises(importing.ImportAborted, match="Stopped at line 3") as caught:
        importing.run_import(lambda: io.StringIO(next(versions)), None)
    assert "the 1 rows before it were imported" in str(caught.value)
    assert count(Contact) == 2
    assert db.session.get(Contact, taken).email == "taken@example.com"
    [entry] = audit_entries("contact.import")
    assert entry.details == {"rows": 2, "created": 1, "updated": 0}
