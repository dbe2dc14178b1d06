"""Data protection: find, JSON export and erase (R11), retention setting and purge (R12)."""

import json
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select

from dashboard.extensions import db
from dashboard.models import (
    Activity,
    AgreementAction,
    ConsentAgreement,
    Contact,
    ContactAlias,
    ContactGroupMember,
    MembershipRefresh,
    Role,
    Setting,
)
from dashboard.privacy import services
from tests.test_contacts_support import (
    NOW,
    activity,
    agreement,
    archive,
    audit_entries,
    channel,
    consent,
    contact,
    count,
    group,
    member,
)


@pytest.fixture
def admin(login_as):
    return login_as(Role.ADMIN)


@pytest.fixture
def person(app):
    """A contact with something of every kind held about it."""
    row = contact(email="subject@example.com", first_name="Sub", last_name="Ject", city="Bonn")
    web = channel("web")
    activity(row, channel_row=web, title="Pricing", url="https://www.example.com/pricing")
    activity(row, "bizformsubmit", data={"email": "subject@example.com"})
    tracking = consent("tracking", short="Now", full="<p>Now</p>")
    old = archive(tracking, "Before", "<p>Before</p>")
    agreement(row, tracking, text_hash=old.text_hash, created_at=NOW - timedelta(days=9))
    agreement(row, tracking, AgreementAction.REVOKE, created_at=NOW - timedelta(days=5))
    agreement(row, tracking, created_at=NOW - timedelta(days=1))
    member(group("vip"), row, manual=True)
    db.session.add(ContactAlias(guid=uuid.UUID(int=99), contact_id=row.id))
    db.session.add(MembershipRefresh(contact_id=row.id))
    db.session.commit()
    return row


def test_find_by_email_any_case_or_guid_or_merged_guid(client, admin, person):
    contact(email="other@example.com")
    for q in ("SUBJECT@example.com", str(person.guid), str(uuid.UUID(int=99))):
        page = client.get("/consent/data-protection/", query_string={"q": q}).text
        assert "Sub Ject" in page and "other@example.com" not in page, q
        assert "2 activities, 3 consent agreements, 1 group memberships" in page
    missing = client.get("/consent/data-protection/", query_string={"q": "nobody@example.com"})
    assert "No contact has this email or GUID." in missing.text
    assert client.get("/consent/data-protection/", query_string={"q": ""}).status_code == 400


def test_json_export_holds_everything_and_is_audited(client, admin, person):
    admin_email, person_id = admin.email, person.id
    response = client.post(f"/consent/data-protection/contacts/{person_id}/export")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert "attachment" in response.headers["Content-Disposition"]
    data = json.loads(response.data)
    assert data["contact"]["email"] == "subject@example.com"
    assert data["contact"]["city"] == "Bonn"
    assert data["contact"]["merged_guids"] == [str(uuid.UUID(int=99))]
    assert [a["title"] for a in data["activities"]] == ["Pricing", None]
    assert data["activities"][0]["channel"] == "web"
    assert data["activities"][1]["data"] == {"email": "subject@example.com"}
    [tracking] = data["consent_agreements"]
    assert tracking["currently_agreed"] is True
    history = tracking["history"]
    assert [h["action"] for h in history] == ["agree", "revoke", "agree"]
    assert (history[0]["text_version"], history[0]["short_text"]) == ("current", "Now")
    assert (history[2]["text_version"], history[2]["short_text"]) == ("archived", "Before")
    assert history[2]["full_text"] == "<p>Before</p>"
    assert data["group_memberships"][0]["group"] == "vip"
    assert data["group_memberships"][0]["manual"] is True
    [entry] = audit_entries("privacy.export")
    assert (entry.actor_email, entry.target_id) == (admin_email, str(person_id))


def test_erase_confirms_then_deletes_everything_r11(client, admin, person):
    bystander = contact(email="bystander@example.com")
    activity(bystander)
    person_id, bystander_id = person.id, bystander.id
    confirm = client.get(f"/consent/data-protection/contacts/{person_id}/erase")
    assert confirm.status_code == 200
    assert "2 activities" in confirm.text and "3 consent agreements" in confirm.text
    assert count(Contact, Contact.id == person_id) == 1
    response = client.post(f"/consent/data-protection/contacts/{person_id}/erase")
    assert response.status_code == 302
    for model in (Activity, ConsentAgreement, ContactGroupMember, ContactAlias, MembershipRefresh):
        assert count(model, model.contact_id == person_id) == 0, model
    assert count(Contact, Contact.id == person_id) == 0
    assert count(Activity, Activity.contact_id == bystander_id) == 1
    [entry] = audit_entries("privacy.erase")
    assert entry.target_id == str(person_id)
    assert entry.details == {"activities": 2, "agreements": 3, "memberships": 1, "aliases": 1}
    assert "subject@example.com" not in json.dumps(entry.details)


def test_erase_of_missing_contact_is_404(client, admin):
    assert client.post("/consent/data-protection/contacts/5/erase").status_code == 404
    assert client.post("/consent/data-protection/contacts/5/export").status_code == 404


def test_marketer_cannot_use_data_protection(client, login_as, person):
    login_as(Role.MARKETER)
    person_id = person.id
    assert client.post(f"/consent/data-protection/contacts/{person_id}/erase").status_code == 403
    assert count(Contact, Contact.id == person_id) == 1


# --- retention setting ---------------------------------------------------------------------------


def test_retention_setting_is_stored_and_audited(client, admin):
    assert "Off: contacts are kept" in client.get("/consent/data-protection/").text
    response = client.post(
        "/consent/data-protection/retention", data={"enabled": "y", "days": "30"}
    )
    assert response.status_code == 302
    db.session.rollback()
    assert db.session.get(Setting, services.RETENTION_KEY).value == {"enabled": True, "days": 30}
    assert "more than <strong>30 days</strong>" in client.get("/consent/data-protection/").text
    client.post("/consent/data-protection/retention", data={"days": "60"})
    db.session.rollback()
    assert db.session.get(Setting, services.RETENTION_KEY).value == {"enabled": False, "days": 60}
    entries = audit_entries("privacy.retention")
    assert [e.details["to"] for e in entries] == [
        {"enabled": True, "days": 30},
        {"enabled": False, "days": 60},
    ]
    assert entries[1].details["from"] == {"enabled": True, "days": 30}


@pytest.mark.parametrize("days", ["6", "0", "-1", "", "seven"])
def test_retention_needs_at_least_seven_days(client, admin, days):
    response = client.post(
        "/consent/data-protection/retention", data={"enabled": "y", "days": days}
    )
    assert response.status_code == 400
    assert count(Setting) == 0


def test_retention_form_shows_stored_values(client, admin):
    db.session.add(Setting(key=services.RETENTION_KEY, value={"enabled": True, "days": 45}))
    db.session.commit()
    page = client.get("/consent/data-protection/retention").text
    assert 'value="45"' in page and "checked" in page


# --- purge (R12) ---------------------------------------------------------------------------------


def _enable(days: int) -> None:
    db.session.add(Setting(key=services.RETENTION_KEY, value={"enabled": True, "days": days}))
    db.session.commit()


@pytest.fixture
def ages(app):
    """Contacts on both sides of a 30-day period, and the moment the purge runs."""
    now = NOW
    cutoff = now - timedelta(days=30)
    rows = {
        "active_exactly_30_days_ago": contact(last_activity_at=cutoff, created_at=cutoff),
        "active_30_days_and_1s_ago": contact(
            last_activity_at=cutoff - timedelta(seconds=1), created_at=cutoff - timedelta(days=9)
        ),
        "active_yesterday": contact(last_activity_at=now - timedelta(days=1)),
        "never_active_created_exactly_30_days_ago": contact(created_at=cutoff),
        "never_active_created_31_days_ago": contact(created_at=now - timedelta(days=31)),
        "stale_column_but_recent_activity": contact(
            last_activity_at=now - timedelta(days=90), created_at=now - timedelta(days=90)
        ),
    }
    activity(rows["stale_column_but_recent_activity"], created_at=now - timedelta(days=2))
    activity(rows["active_30_days_and_1s_ago"], created_at=cutoff - timedelta(seconds=1))
    return now, {name: row.id for name, row in rows.items()}


def _remaining(ids: dict[str, int]) -> set[str]:
    db.session.rollback()
    left = set(db.session.scalars(select(Contact.id)))
    return {name for name, i in ids.items() if i in left}


def test_purge_deletes_only_contacts_inactive_longer_than_the_period(app, ages, monkeypatch):
    now, ids = ages
    monkeypatch.setattr(services, "PURGE_BATCH", 1)
    deleted = services.purge_inactive(services.Retention(True, 30), now=now)
    assert deleted == 2
    assert _remaining(ids) == {
        "active_exactly_30_days_ago",
        "active_yesterday",
        "never_active_created_exactly_30_days_ago",
        "stale_column_but_recent_activity",
    }
    assert count(Activity) == 1  # R11: the purged contact's activity went with it
    [entry] = audit_entries("contact.purge_inactive")
    assert entry.details == {"days": 30, "count": 2} and entry.actor_email == "system"


def test_purge_does_nothing_when_off(app, ages):
    now, ids = ages
    assert services.purge_inactive(services.Retention(False, 30), now=now) == 0
    assert _remaining(ids) == set(ids)
    assert audit_entries("contact.purge_inactive") == []


def test_purge_command(runner, app):
    recent = contact(last_activity_at=NOW - timedelta(days=10)).id
    old = contact(last_activity_at=NOW - timedelta(days=50)).id
    never = contact(created_at=NOW - timedelta(days=60)).id
    ids = {"recent": recent, "old": old, "never": never}
    off = runner.invoke(args=["purge-inactive"])
    assert off.exit_code == 0 and "Retention is off" in off.output
    _enable(30)
    dry = runner.invoke(args=["purge-inactive", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "2 contacts inactive for more than 30 days would be deleted" in dry.output
    assert _remaining(ids) == set(ids)
    result = runner.invoke(args=["purge-inactive"])
    assert result.exit_code == 0, result.output
    assert "Deleted 2 contacts inactive for more than 30 days" in result.output
    assert _remaining(ids) == {"recent"}
