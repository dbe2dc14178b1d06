"""Events: validation (R13), titles, idempotency, identification (R8), legitimate interest (R9),
merge (R10)."""

import uuid

import pytest
from sqlalchemy import select

from dashboard.extensions import db
from dashboard.models import (
    Activity,
    ActivityType,
    ConsentAgreement,
    Contact,
    ContactAlias,
    ContactGroup,
    ContactGroupMember,
    MembershipRefresh,
)
from tests import factories
from tests.tracking_helpers import activities, collect, contacts, event


@pytest.fixture
def sites(app):
    consent = factories.consent()
    db.session.add(ActivityType(code_name="filedownload", display_name="File download"))
    db.session.commit()
    return {
        "corporate": factories.channel("corporate-site", level=0, consent=consent),
        "shop": factories.channel("shop-site", level=1000, consent=consent),
        "consent": consent,
    }


def _results(response) -> list[tuple[str, str | None]]:
    return [(r["status"], r.get("reason")) for r in response.get_json()["results"]]


# (event, expected status, reason) - R13 and the field limits of the contract
EVENT_CASES = [
    (event("pagevisit"), "accepted", None),
    (event("pagevisit", url=None), "rejected", "missing_url"),
    (event("pagevisit", url="javascript:alert(1)"), "rejected", "invalid_url"),
    (event("pagevisit", url="http://x/" + "a" * 2000), "rejected", "invalid_url"),
    (event("pagevisit", referrer="ftp://x/"), "rejected", "invalid_referrer"),
    (event("pagevisit", title="t" * 251), "rejected", "field_too_long"),
    (event("click", label="Contact sales"), "accepted", None),
    (event("click"), "rejected", "missing_value"),
    (event("datainput"), "rejected", "missing_value"),
    (event("datainput", label="newsletter", fields={"password": "x"}), "rejected", "unknown_field"),
    (event("datainput", fields={"email": "not-an-email"}), "rejected", "invalid_email"),
    (event("datainput", fields={"first_name": 5}), "rejected", "invalid_fields"),
    (event("datainput", fields={"country": "D1"}), "rejected", "invalid_country"),
    (event("customactivity", activity_type="filedownload", value="a.pdf"), "accepted", None),
    (event("customactivity", activity_type="nosuchtype", value="x"), "rejected", "unknown_type"),
    (event("customactivity", activity_type="pagevisit", value="x"), "rejected", "unknown_type"),
    (event("emailclick", value="x"), "rejected", "unknown_type"),
    ({"id": "not-a-uuid", "type": "pagevisit", "url": "http://x/"}, "rejected", "invalid_id"),
    ("just a string", "rejected", "invalid_event"),
]


@pytest.mark.parametrize(("raw", "status", "reason"), EVENT_CASES)
def test_r13_event_validation(client, sites, raw, status, reason):
    response = collect(client, "shop-site", events=[raw])
    assert response.status_code == 200
    assert _results(response) == [(status, reason)]
    assert activities() == (1 if status == "accepted" else 0)


def test_r13_disabled_type_is_dropped(client, sites):
    click = db.session.scalar(select(ActivityType).where(ActivityType.code_name == "click"))
    click.enabled = False
    db.session.commit()
    response = collect(client, "shop-site", events=[event("click", label="x"), event()])
    assert _results(response) == [("dropped", "type_disabled"), ("accepted", None)]


def test_titles_follow_the_rules(client, sites):
    collect(
        client,
        "shop-site",
        events=[
            event("click", label="Contact sales"),
            event("customactivity", activity_type="filedownload", value="brochure.pdf"),
            event("pagevisit", title="Pricing"),
        ],
    )
    titles = set(db.session.scalars(select(Activity.title)))
    assert titles == {"Clicked 'Contact sales'", "File download 'brochure.pdf'", "Pricing"}


def test_landing_flag_logs_a_landing_page_too(client, sites):
    visit = event(landing=True)
    collect(client, "shop-site", events=[visit])
    codes = db.session.scalars(
        select(ActivityType.code_name).join(Activity, Activity.type_id == ActivityType.id)
    ).all()
    assert sorted(codes) == ["landingpage", "pagevisit"]
    again = collect(client, "shop-site", events=[visit])  # a retry stores neither twice
    assert _results(again) == [("duplicate", None)]
    assert activities() == 2


def test_retry_with_same_event_ids_stores_once_and_keeps_the_contact(client, sites):
    events = [event(), event("click", label="a")]
    first = collect(client, "shop-site", events=events).get_json()
    # The first answer was lost: the browser retries without a contact.
    second = collect(client, "shop-site", events=events).get_json()
    assert [r["status"] for r in second["results"]] == ["duplicate", "duplicate"]
    assert second["contact"] == first["contact"]
    assert activities() == 2
    assert contacts() == 1


def test_same_event_twice_in_one_request(client, sites):
    visit = event()
    response = collect(client, "shop-site", events=[visit, visit])
    assert _results(response) == [("accepted", None), ("duplicate", None)]


def test_r8_anonymous_contact_gets_the_submitted_email(client, sites):
    body = collect(client, "shop-site").get_json()
    collect(
        client,
        "shop-site",
        contact=body["contact"],
        events=[
            event(
                "datainput",
                label="newsletter",
                fields={"email": "Ana@Example.com", "first_name": "Ana"},
            )
        ],
    )
    row = db.session.scalar(select(Contact))
    assert (row.email, row.first_name, str(row.guid)) == ("ana@example.com", "Ana", body["contact"])
    assert contacts() == 1


def test_r8_email_is_never_overwritten_data_goes_to_the_other_contact(client, sites):
    known = factories.contact(email="x@example.com", first_name="Xavier")
    body = collect(
        client,
        "shop-site",
        contact=str(known.guid),
        events=[
            event(
                "datainput", label="form", fields={"email": "y@example.com", "first_name": "Yara"}
            )
        ],
    ).get_json()
    assert body["contact"] == str(known.guid)  # the browser keeps its contact
    db.session.expire_all()
    assert db.session.get(Contact, known.id).email == "x@example.com"
    assert db.session.get(Contact, known.id).first_name == "Xavier"
    other = db.session.scalar(select(Contact).where(Contact.email == "y@example.com"))
    assert other.first_name == "Yara"
    owner = db.session.scalar(select(Activity.contact_id).where(Activity.data.is_not(None)))
    assert owner == other.id


def test_r10_identification_merges_history_into_the_existing_contact(client, sites):
    existing = factories.contact(email="ana@example.com", first_name="Ana", city="Porto")
    consent = sites["consent"]
    group = ContactGroup(code_name="g", display_name="G")
    db.session.add(group)
    db.session.commit()
    anonymous = collect(client, "shop-site", events=[event(), event()]).get_json()["contact"]
    anon_row = db.session.scalar(select(Contact).where(Contact.guid == uuid.UUID(anonymous)))
    factories.agreement(anon_row, consent)
    db.session.add(ContactGroupMember(group_id=group.id, contact_id=anon_row.id, manual=True))
    db.session.commit()

    merged = collect(
        client,
        "shop-site",
        contact=anonymous,
        events=[
            event(
                "datainput",
                label="login",
                fields={"email": "ana@example.com", "first_name": "Anna"},
            )
        ],
    ).get_json()
    assert merged["contact"] == str(existing.guid)
    db.session.expire_all()
    assert contacts() == 1
    survivor = db.session.get(Contact, existing.id)
    assert survivor.first_name == "Anna"  # the newer (child) value wins
    assert survivor.city == "Porto"
    assert activities(Activity.contact_id == existing.id) == 3  # history kept (issue: Matomo)
    assert db.session.scalar(select(ConsentAgreement.contact_id)) == existing.id
    assert db.session.scalar(select(ContactGroupMember.contact_id)) == existing.id
    alias = db.session.get(ContactAlias, uuid.UUID(anonymous))
    assert alias.contact_id == existing.id
    # The old cookie keeps resolving to the survivor.
    again = collect(client, "shop-site", contact=anonymous).get_json()
    assert again["contact"] == str(existing.guid)


def test_r9_form_submission_below_visitor_keeps_only_the_submitted_data(client, sites):
    response = collect(
        client,
        "corporate-site",
        events=[
            event(
                "bizformsubmit",
                form="contact-us",
                url="http://localhost:5000/demo/contact?utm_source=x",
                referrer="https://search.example/",
                fields={"email": "lea@example.com", "last_name": "Lee"},
            ),
            event("datainput", label="newsletter", fields={"email": "lea@example.com"}),
        ],
    ).get_json()
    assert response["tracked"] is False
    assert response["contact"] is None  # no CurrentContact is issued
    assert [r["status"] for r in response["results"]] == ["accepted", "dropped"]
    row = db.session.scalar(select(Activity))
    assert (row.url, row.referrer, row.channel_id, row.utm_source) == (None, None, None, None)
    assert row.data == {"email": "lea@example.com", "last_name": "Lee"}
    assert db.session.scalar(select(Contact.email)) == "lea@example.com"


def test_r9_reuses_the_contact_with_that_email(client, sites):
    known = factories.contact(email="lea@example.com")
    collect(
        client,
        "corporate-site",
        events=[event("bizformsubmit", form="f", fields={"email": "lea@example.com"})],
    )
    assert contacts() == 1
    assert activities(Activity.contact_id == known.id) == 1


def test_r17_changed_contacts_are_queued_for_membership_refresh(client, sites):
    body = collect(client, "shop-site").get_json()
    queued = db.session.scalars(select(MembershipRefresh.contact_id)).all()
    guid = db.session.scalar(select(Contact.guid).where(Contact.id.in_(queued)))
    assert str(guid) == body["contact"]
