"""Bulk actions on selected contacts or on everything the filter matches, with a count first."""

import pytest
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from dashboard.contacts import bulk
from dashboard.extensions import db
from dashboard.models import (
    Activity,
    Contact,
    ContactGroupMember,
    MembershipRefresh,
    Role,
)
from tests.test_contacts_support import (
    activity,
    audit_entries,
    contact,
    count,
    group,
    member,
    status_id,
)


@pytest.fixture
def marketer(login_as):
    return login_as(Role.MARKETER)


@pytest.fixture
def people(app):
    rows = [contact(email=f"p{i}@example.com", country="DE" if i < 5 else "FR") for i in range(8)]
    return [r.id for r in rows]


def _ids(*conditions) -> set[int]:
    db.session.rollback()
    return set(db.session.scalars(select(Contact.id).where(*conditions)))


def test_confirm_page_counts_filter_matches_before_anything_changes(client, marketer, people):
    response = client.get(
        "/contacts/bulk", query_string={"action": "delete", "scope": "filter", "country": "DE"}
    )
    assert response.status_code == 200
    assert "<strong>5</strong> contacts will be deleted" in response.text
    assert 'name="country" value="DE"' in response.text  # the filter travels to the POST
    assert count(Contact) == 8


def test_confirm_page_counts_selected_rows(client, marketer, people):
    response = client.get(
        "/contacts/bulk",
        query_string=[
            ("action", "delete"),
            ("scope", "selected"),
            ("ids", people[0]),
            ("ids", people[1]),
            ("ids", 99999),
        ],
    )
    assert response.status_code == 200
    assert "<strong>2</strong> contacts will be deleted" in response.text
    assert count(Contact) == 8


def test_bulk_delete_selected(client, marketer, people):
    activity(db.session.get(Contact, people[0]))
    response = client.post(
        "/contacts/bulk",
        data=MultiDict(
            [("action", "delete"), ("scope", "selected"), ("ids", people[0]), ("ids", people[1])]
        ),
    )
    assert response.status_code == 302
    assert _ids() == set(people[2:])
    assert count(Activity) == 0  # R11
    [entry] = audit_entries("contact.bulk_delete")
    assert entry.details["count"] == 2 and entry.details["scope"] == "selected"


def test_bulk_delete_by_filter_in_batches(client, marketer, people, monkeypatch):
    monkeypatch.setattr(bulk, "BULK_BATCH", 2)
    response = client.post(
        "/contacts/bulk", data={"action": "delete", "scope": "filter", "country": "DE"}
    )
    assert response.status_code == 302
    assert "country=DE" in response.headers["Location"]
    assert _ids() == set(people[5:])
    [entry] = audit_entries("contact.bulk_delete")
    assert entry.details == {"scope": "filter", "filter": {"country": "DE"}, "count": 5}


def test_bulk_add_to_static_group_keeps_condition_flag(client, marketer, people):
    g = group("static")
    already = db.session.get(Contact, people[0])
    member(g, already, manual=False, by_condition=True)
    group_id = g.id
    response = client.post(
        "/contacts/bulk",
        data={
            "action": "add_to_group",
            "scope": "filter",
            "country": "DE",
            "target_group": group_id,
        },
    )
    assert response.status_code == 302
    db.session.rollback()
    rows = {
        m.contact_id: m
        for m in db.session.scalars(
            select(ContactGroupMember).where(ContactGroupMember.group_id == group_id)
        )
    }
    assert set(rows) == set(people[:5])
    assert all(m.manual for m in rows.values())
    assert rows[people[0]].by_condition and not rows[people[1]].by_condition
    assert _ids(Contact.id.in_(select(MembershipRefresh.contact_id))) == set(people[:5])
    [entry] = audit_entries("contact.bulk_add_to_group")
    assert entry.details["count"] == 5 and entry.details["group_id"] == group_id


def test_bulk_set_status_selected_and_clear(client, marketer, people):
    lead = status_id("lead")
    response = client.post(
        "/contacts/bulk",
        data=MultiDict(
            [
                ("action", "set_status"),
                ("scope", "selected"),
                ("target_status", lead),
                ("ids", people[3]),
            ]
        ),
    )
    assert response.status_code == 302
    assert _ids(Contact.status_id == lead) == {people[3]}
    assert _ids(Contact.id.in_(select(MembershipRefresh.contact_id))) == {people[3]}
    client.post(
        "/contacts/bulk",
        data={"action": "set_status", "scope": "filter", "target_status": "", "status": lead},
    )
    assert _ids(Contact.status_id.is_not(None)) == set()
    assert len(audit_entries("contact.bulk_set_status")) == 2


def test_bulk_set_status_by_status_filter_changes_every_match(
    client, marketer, people, monkeypatch
):
    """Rows leave the filter as they change; keyset batches over the id still reach them all."""
    monkeypatch.setattr(bulk, "BULK_BATCH", 3)
    lead, customer = status_id("lead"), status_id("customer")
    db.session.execute(Contact.__table__.update().values(status_id=lead))
    db.session.commit()
    client.post(
        "/contacts/bulk",
        data={"action": "set_status", "scope": "filter", "status": lead, "target_status": customer},
    )
    assert _ids(Contact.status_id == customer) == set(people)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"scope": "filter"}, "Choose an action."),
        ({"action": "explode", "scope": "filter"}, "Not a valid choice"),
        ({"action": "delete", "scope": "selected"}, "Select at least one contact"),
        ({"action": "delete", "scope": "selected", "ids": "abc"}, "Contacts"),
        ({"action": "delete", "scope": "selected", "ids": str(2**40)}, "Not a contact id"),
        ({"action": "add_to_group", "scope": "filter"}, "Choose a group."),
        (
            {"action": "add_to_group", "scope": "filter", "target_group": "999"},
            "Not a valid choice",
        ),
        ({"action": "delete", "scope": "filter", "country": "Germany"}, "two-letter"),
    ],
)
def test_bad_bulk_requests_change_nothing(client, marketer, people, data, message):
    for method in (client.get, client.post):
        kwargs = {"query_string": data} if method == client.get else {"data": data}
        response = method("/contacts/bulk", **kwargs)
        assert response.status_code == 400
        assert message in response.text
    assert count(Contact) == 8
    assert audit_entries("contact.bulk_delete") == []


def test_too_many_selected_rows_are_refused(client, marketer, people, monkeypatch):
    monkeypatch.setattr(bulk, "MAX_SELECTED", 2)
    from dashboard.contacts import forms

    monkeypatch.setattr(forms, "MAX_SELECTED", 2)
    data = MultiDict(
        [("action", "delete"), ("scope", "selected"), *(("ids", i) for i in people[:3])]
    )
    assert client.post("/contacts/bulk", data=data).status_code == 400
    assert count(Contact) == 8


def test_nothing_matching_writes_no_audit_entry(client, marketer, people):
    response = client.post(
        "/contacts/bulk", data={"action": "delete", "scope": "filter", "country": "JP"}
    )
    assert response.status_code == 302
    assert count(Contact) == 8
    assert audit_entries("contact.bulk_delete") == []


def test_list_page_offers_bulk_form_with_row_checkboxes(client, marketer, people):
    page = client.get("/contacts/", query_string={"country": "DE"}).text
    assert 'action="/contacts/bulk"' in page
    assert page.count('name="ids"') == 5
    assert 'name="country" value="DE"' in page
