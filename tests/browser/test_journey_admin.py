"""An admin in Chromium answers a person's data-protection requests: finds them by email,
downloads everything held about them, erases them after a confirmation, and finds both acts
in the audit log."""

import json

import pytest
from playwright.sync_api import expect

from dashboard.extensions import db
from dashboard.models import ContactGroup, ContactGroupMember, Role
from tests.browser.helpers import (
    Person,
    busiest_contact,
    flash_text,
    go_to,
    log_in,
    saved_download,
    user,
)

pytestmark = pytest.mark.browser


@pytest.fixture
def person(demo_server) -> Person:
    """A demo contact with activities and agreements, also put by hand into a group."""
    found = busiest_contact()
    group = ContactGroup(code_name="vip", display_name="VIP")
    db.session.add(group)
    db.session.flush()
    db.session.add(ContactGroupMember(group_id=group.id, contact_id=found.id, manual=True))
    db.session.commit()
    db.session.rollback()
    return found


def test_admin_answers_an_export_and_an_erase_request(page, demo_server, person, tmp_path):
    admin = user(Role.ADMIN)
    log_in(page, demo_server, admin)
    go_to(page, "Data protection")
    expect(page.get_by_role("heading", name="Data protection", level=1)).to_be_visible()

    # The request names an email address: the person is found with what is held about them.
    search = page.get_by_role("searchbox", name="Email or contact GUID")
    search.fill(person.email.upper())  # as typed in the request: case does not matter
    page.get_by_role("button", name="Find").click()
    rows = page.locator("table tbody tr")
    expect(rows).to_have_count(1)
    held = (
        f"{person.activities:,} activities, {person.agreements} consent agreements, "
        "1 group memberships"
    )
    expect(rows.first).to_contain_text(person.email)
    expect(rows.first).to_contain_text(held)

    # Access request: everything held, as one JSON file.
    with page.expect_download() as download:
        rows.first.get_by_role("button", name="Export JSON").click()
    assert download.value.suggested_filename == f"contact-{person.id}-data.json"
    document = json.loads(saved_download(download.value, tmp_path))
    assert document["contact"]["email"] == person.email
    assert len(document["activities"]) == person.activities
    histories = document["consent_agreements"]
    assert sum(len(h["history"]) for h in histories) == person.agreements
    assert [m["group"] for m in document["group_memberships"]] == ["vip"]

    # Erasure request: a confirmation that says what goes, then it is gone.
    rows.first.get_by_role("link", name="Erase…").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Erase {person.name}?")
    facts = page.locator("main ul").first
    expect(facts).to_contain_text(f"{person.activities:,} activities")
    expect(facts).to_contain_text(f"{person.agreements} consent agreements")
    page.get_by_role("button", name="Erase contact").click()
    assert (
        f"Erased contact #{person.id} with {person.activities:,} activities, "
        f"{person.agreements:,} consent agreements and 1 group memberships." in flash_text(page)
    )
    page.get_by_role("searchbox", name="Email or contact GUID").fill(person.email)
    page.get_by_role("button", name="Find").click()
    expect(page.get_by_text("No contact has this email or GUID.")).to_be_visible()

    # The audit log keeps who exported and erased whom, without the personal data.
    go_to(page, "Audit")
    entries = page.locator("table tbody tr")
    expect(entries.first).to_contain_text("privacy.erase")
    expect(entries.nth(1)).to_contain_text("privacy.export")
    for entry in (entries.first, entries.nth(1)):
        expect(entry).to_contain_text(admin)
        expect(entry).to_contain_text(f"#{person.id}")
        expect(entry).not_to_contain_text(person.email)
