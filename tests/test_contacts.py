"""Contact list (search, every filter, every sort key, keyset pages), profile, edit and delete."""

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select

from dashboard.contacts import keyset, services
from dashboard.contacts.keyset import encode_cursor
from dashboard.extensions import db
from dashboard.models import (
    Activity,
    AgreementAction,
    AuditEntry,
    ConsentAgreement,
    Contact,
    ContactAlias,
    ContactGroupMember,
    MembershipRefresh,
    Role,
)
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
    days_ago,
    group,
    listed_ids,
    member,
    next_cursor,
    status_id,
    type_id,
)


@pytest.fixture
def marketer(login_as):
    return login_as(Role.MARKETER)


def _list(client, **args) -> list[int]:
    response = client.get("/contacts/", query_string=args)
    assert response.status_code == 200, response.text
    return listed_ids(response.text)


# --- search and filters ------------------------------------------------------------------------


def test_search_by_email_prefix_and_name_prefix(client, marketer):
    ana = contact(email="ana.lopez@example.com", first_name="Ana", last_name="Lopez")
    anabel = contact(email="anabel@example.com", first_name="Anabel", last_name="Smith")
    lopez_jr = contact(email="jr@example.com", first_name="Juan", last_name="Lopez-Ruiz")
    contact(email="bob@example.com", first_name="Bob", last_name="Anderson")

    assert set(_list(client, q="ana")) == {ana.id, anabel.id}  # email prefix
    assert _list(client, q="ANA.LOPEZ@EXAMPLE.COM") == [ana.id]  # case-insensitive email
    assert _list(client, q="anabel@") == [anabel.id]
    assert set(_list(client, q="lopez")) == {ana.id, lopez_jr.id}  # last name, any case
    assert set(_list(client, q="Lopez")) == {ana.id, lopez_jr.id}
    assert _list(client, q="Ana Lop") == [ana.id]  # "first last"
    assert _list(client, q="nomatch") == []
    assert _list(client, q="pez") == []  # prefix, not substring


def test_search_treats_like_wildcards_literally(client, marketer):
    contact(email="abc@example.com")
    assert _list(client, q="a%") == []
    assert _list(client, q="a_c") == []


def test_search_for_any_character_is_safe(client, marketer):
    person = contact(email="x@example.com", last_name="\ud7ff\ud7ffname")
    assert _list(client, q="\ud7ff") == [person.id]  # the next code point is a surrogate
    assert _list(client, q="\U0010ffff") == []


def test_filter_identified_and_anonymous(client, marketer):
    known = contact(email="known@example.com")
    anonymous = contact()
    assert _list(client, identified="identified") == [known.id]
    assert _list(client, identified="anonymous") == [anonymous.id]
    assert set(_list(client)) == {known.id, anonymous.id}


def test_filter_country_accepts_lower_case(client, marketer):
    de = contact(country="DE")
    contact(country="FR")
    contact()
    assert _list(client, country="de") == [de.id]
    response = client.get("/contacts/", query_string={"country": "Deutschland"})
    assert response.status_code == 400
    assert "two-letter" in response.text


def test_filter_status(client, marketer):
    lead = contact(status_id=status_id("lead"))
    contact(status_id=status_id("customer"))
    contact()
    assert _list(client, status=str(status_id("lead"))) == [lead.id]
    assert client.get("/contacts/", query_string={"status": "999"}).status_code == 400


def test_filter_created_between_includes_both_days(client, marketer):
    day = NOW.replace(hour=12) - timedelta(days=10)
    before = contact(created_at=day - timedelta(days=1))
    first = contact(created_at=day.replace(hour=0, minute=0, second=0))
    last = contact(created_at=day.replace(hour=23, minute=59, second=59) + timedelta(days=1))
    after = contact(created_at=day + timedelta(days=2))
    found = _list(
        client,
        created_from=day.date().isoformat(),
        created_to=(day + timedelta(days=1)).date().isoformat(),
    )
    assert set(found) == {first.id, last.id}
    assert before.id not in found and after.id not in found
    only_from = _list(client, created_from=(day + timedelta(days=2)).date().isoformat())
    assert set(only_from) == {after.id}
    reversed_range = client.get(
        "/contacts/",
        query_string={"created_from": "2024-05-02", "created_to": "2024-05-01"},
    )
    assert reversed_range.status_code == 400
    assert client.get("/contacts/", query_string={"created_from": "2024-13-01"}).status_code == 400


def test_filter_active_on_channel_in_last_days(client, marketer):
    web, mail = channel("web"), channel("mail")
    recent = contact(email="recent@example.com")
    old = contact(email="old@example.com")
    elsewhere = contact(email="elsewhere@example.com")
    activity(recent, channel_row=web, created_at=days_ago(2))
    activity(old, channel_row=web, created_at=days_ago(20))
    activity(elsewhere, channel_row=mail, created_at=days_ago(1))
    assert _list(client, channel=str(web.id), days="7") == [recent.id]
    assert set(_list(client, channel=str(web.id), days="30")) == {recent.id, old.id}
    assert _list(client, channel=str(mail.id), days="7") == [elsewhere.id]
    assert client.get("/contacts/", query_string={"channel": web.id, "days": 0}).status_code == 400


def test_filter_member_of_group(client, marketer):
    g, other = group("vip"), group("other")
    inside = contact(email="in@example.com")
    outside = contact(email="out@example.com")
    member(g, inside)
    member(other, outside)
    assert _list(client, group=str(g.id)) == [inside.id]


def test_filters_combine(client, marketer):
    match = contact(email="m@example.com", country="DE", status_id=status_id("lead"))
    contact(email="n@example.com", country="DE", status_id=status_id("customer"))
    contact(country="DE", status_id=status_id("lead"))
    found = _list(client, country="DE", status=str(status_id("lead")), identified="identified")
    assert found == [match.id]


def test_count_only_on_request(client, marketer):
    for i in range(3):
        contact(email=f"c{i}@example.com", country="DE")
    contact(country="FR")
    plain = client.get("/contacts/", query_string={"country": "DE"}).text
    assert "</strong> contacts match." not in plain
    assert "Count matching contacts" in plain
    counted = client.get("/contacts/", query_string={"country": "DE", "count": "y"}).text
    assert "<strong>3</strong> contacts match." in counted


# --- sort keys and keyset pages -----------------------------------------------------------------

NAMES = ["adams", "baker", "clark", None]
COUNTRIES = ["AT", "DE", "FR", None]


@pytest.fixture
def sixty(app):
    """60 contacts with ties and NULLs in every sortable column."""
    rows = []
    for i in range(60):
        rows.append(
            Contact(
                email=f"c{i:02d}@example.com" if i % 3 else None,
                last_name=NAMES[i % 4],
                country=COUNTRIES[i % 4 if i % 5 else 3],
                created_at=NOW - timedelta(hours=i // 2),  # pairs tie
                last_activity_at=None if i % 7 == 0 else NOW - timedelta(minutes=i % 9),
            )
        )
    db.session.add_all(rows)
    db.session.commit()
    return rows


SORT_COLUMNS = {
    "last_activity": "last_activity_at",
    "created": "created_at",
    "last_name": "last_name",
    "email": "email",
    "country": "country",
}


def _expected(rows, column: str, descending: bool) -> list[int]:
    """The documented order: key then id in the same direction, NULL keys last."""
    keyed = sorted(
        (r for r in rows if getattr(r, column) is not None),
        key=lambda r: (getattr(r, column), r.id),
        reverse=descending,
    )
    nulls = sorted(
        (r for r in rows if getattr(r, column) is None), key=lambda r: r.id, reverse=descending
    )
    return [r.id for r in keyed + nulls]


def _walk(client, **args) -> tuple[list[int], int]:
    ids, pages, after = [], 0, None
    while True:
        query = dict(args, per_page="25", **({"after": after} if after else {}))
        response = client.get("/contacts/", query_string=query)
        assert response.status_code == 200
        page = listed_ids(response.text)
        assert len(page) <= 25
        ids += page
        pages += 1
        after = next_cursor(response.text)
        if after is None:
            return ids, pages
        assert pages < 10


@pytest.mark.parametrize("sort", sorted(SORT_COLUMNS))
@pytest.mark.parametrize("direction", ["asc", "desc"])
def test_every_sort_key_pages_through_all_rows_in_order(client, marketer, sixty, sort, direction):
    ids, pages = _walk(client, sort=sort, dir=direction)
    assert pages == 3
    assert ids == _expected(sixty, SORT_COLUMNS[sort], direction == "desc")


@pytest.mark.parametrize("window", [3, 30, 2000])
@pytest.mark.parametrize("sort", sorted(SORT_COLUMNS))
@pytest.mark.parametrize("which", ["identified", "country", "group"])
def test_filtered_pages_are_complete_whatever_the_probe_window_finds(
    client, marketer, sixty, monkeypatch, window, sort, which
):
    """A window too small for the page falls back to the filter's own index; either way the
    pages hold exactly the matching rows in order."""
    monkeypatch.setattr(keyset, "PROBE_WINDOW", window)
    g = group("half")
    for row in sixty[::2]:
        member(g, row)
    args, keep = {
        "identified": ({"identified": "identified"}, lambda r: r.email is not None),
        "country": ({"country": "DE"}, lambda r: r.country == "DE"),
        "group": ({"group": str(g.id)}, lambda r: r.id % 2 == sixty[0].id % 2),
    }[which]
    ids, _ = _walk(client, sort=sort, dir="desc", **args)
    assert ids == _expected([r for r in sixty if keep(r)], SORT_COLUMNS[sort], True)


@pytest.mark.parametrize(("few", "window"), [(5000, 2000), (1, 2000), (1, 3)])
@pytest.mark.parametrize("sort", ["last_activity", "last_name"])
def test_search_pages_are_complete_whichever_plan_reads_them(
    client, marketer, sixty, monkeypatch, few, window, sort
):
    """A search with few matches is read through its own index; one with many is probed."""
    monkeypatch.setattr(services, "FEW_MATCHES", few)
    monkeypatch.setattr(keyset, "PROBE_WINDOW", window)
    ids, _ = _walk(client, q="c", sort=sort, dir="desc")
    matches = [r for r in sixty if r.email or r.last_name == "clark"]  # c… emails, Clark
    expected = _expected(matches, SORT_COLUMNS[sort], True)
    assert ids == expected


def test_default_sort_is_latest_activity_first(client, marketer, sixty):
    ids, _ = _walk(client)
    assert ids == _expected(sixty, "last_activity_at", True)


def test_pages_stay_stable_when_rows_are_added_before_the_cursor(client, marketer, sixty):
    first = client.get("/contacts/", query_string={"sort": "created", "per_page": "25"})
    after = next_cursor(first.text)
    contact(email="newest@example.com", created_at=NOW + timedelta(days=1))
    second = client.get(
        "/contacts/", query_string={"sort": "created", "per_page": "25", "after": after}
    )
    expected = _expected(sixty, "created_at", True)
    assert listed_ids(second.text) == expected[25:50]


@pytest.mark.parametrize(
    "args",
    [
        {"sort": "password"},
        {"dir": "sideways"},
        {"per_page": "1000"},
        {"after": "not-a-cursor"},
        {"after": "WzEsMl0"},  # [1,2]: the key has the wrong type for a date sort
        {"after": encode_cursor(None, 2**70)},
        {"after": encode_cursor("a\x00b", 1), "sort": "last_name"},
        {"q": "x\x00y"},
    ],
)
def test_bad_list_arguments_are_refused_not_500(client, marketer, args):
    assert client.get("/contacts/", query_string=args).status_code == 400


# --- profile ------------------------------------------------------------------------------------


def test_profile_shows_details_groups_and_consents_with_text_versions(client, marketer):
    person = contact(
        email="pat@example.com", first_name="Pat", last_name="Jones", city="Lyon", country="FR"
    )
    g = group("newsletter")
    member(g, person, manual=True)
    tracking = consent("tracking", short="Current text", full="<p>now</p>")
    old = archive(tracking, "Old text we showed", "<p>old</p>")
    agreement(person, tracking, text_hash=old.text_hash, created_at=days_ago(10))
    agreement(person, tracking, AgreementAction.REVOKE, created_at=days_ago(5))
    agreement(person, tracking, created_at=days_ago(1))
    response = client.get(f"/contacts/{person.id}")
    assert response.status_code == 200
    page = response.text
    assert "Pat Jones" in page and "Lyon" in page and "pat@example.com" in page
    assert "Group newsletter" in page and "hand (static)" in page
    assert "Consent tracking" in page
    assert page.count("Agreed</td>") == 2 and page.count("Revoked</td>") == 1
    assert "Old text we showed" in page and "Archived text of" in page
    assert "Current text" in page
    assert '<span class="badge ok">Agreed</span>' in page  # newest row is an agree (R14)


def test_profile_of_revoked_consent_says_revoked(client, marketer):
    person = contact(email="r@example.com")
    c = consent("news")
    agreement(person, c, created_at=days_ago(3))
    agreement(person, c, AgreementAction.REVOKE, created_at=days_ago(1))
    page = client.get(f"/contacts/{person.id}").text
    assert '<span class="badge off">Revoked</span>' in page


def test_profile_timeline_pages_and_filters_by_type_and_channel(client, marketer):
    person = contact(email="t@example.com")
    web, mail = channel("web"), channel("mail")
    for i in range(30):
        activity(
            person, "pagevisit", channel_row=web, created_at=days_ago(i), title=f"Page {i:02d}"
        )
    activity(person, "click", channel_row=web, created_at=days_ago(0.5), title="Clicked 'Buy'")
    activity(person, "emailclick", channel_row=mail, created_at=days_ago(0.25), title="Mail link")
    first = client.get(f"/contacts/{person.id}").text
    assert "Mail link" in first and "Page 00" in first
    assert "Page 29" not in first  # 25 per page
    after = next_cursor(first)
    second = client.get(f"/contacts/{person.id}", query_string={"after": after}).text
    assert "Page 29" in second and "Page 00" not in second
    clicks = client.get(f"/contacts/{person.id}", query_string={"type": str(type_id("click"))}).text
    assert (
        "Clicked &#39;Buy&#39;" in clicks and "Page 00" not in clicks and "Mail link" not in clicks
    )
    by_mail = client.get(f"/contacts/{person.id}", query_string={"channel": str(mail.id)}).text
    assert "Mail link" in by_mail and "Page 00" not in by_mail
    assert client.get(f"/contacts/{person.id}", query_string={"type": "x"}).status_code == 400


def test_unknown_or_huge_contact_id_is_404(client, marketer):
    assert client.get("/contacts/12345").status_code == 404
    assert client.get("/contacts/99999999999999999999999").status_code == 404


# --- edit ---------------------------------------------------------------------------------------


def test_edit_saves_normalised_fields_and_queues_membership_refresh(client, marketer):
    person = contact(email="old@example.com", first_name="Old")
    response = client.post(
        f"/contacts/{person.id}/edit",
        data={
            "first_name": "  New ",
            "last_name": "Name",
            "email": "New.Address@Example.com",
            "country": "de",
            "birthday": "1990-02-03",
            "status_id": str(status_id("customer")),
            "notes": "Met at the fair",
        },
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/contacts/{person.id}")
    db.session.rollback()
    saved = db.session.get(Contact, person.id)
    assert saved.first_name == "New" and saved.last_name == "Name"
    assert saved.email == "new.address@example.com"
    assert saved.country == "DE" and saved.birthday.isoformat() == "1990-02-03"
    assert saved.status_id == status_id("customer")
    assert count(MembershipRefresh, MembershipRefresh.contact_id == person.id) == 1


def test_edit_form_shows_current_values(client, marketer):
    person = contact(email="v@example.com", first_name="Vera", status_id=status_id("lead"))
    page = client.get(f"/contacts/{person.id}/edit").text
    assert 'value="Vera"' in page
    assert f'<option selected value="{status_id("lead")}">' in page


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("email", "not-an-email", "Not a valid email address."),
        ("email", "a@b", "Not a valid email address."),
        ("country", "DEU", "two-letter"),
        ("birthday", "1990-02-30", "Not a valid date"),
        ("first_name", "x" * 101, "longer than 100"),
        ("status_id", "999", "Not a valid choice"),
        ("city", "a\x00b", "NUL"),
    ],
)
def test_edit_refuses_bad_values_with_field_errors(client, marketer, field, value, message):
    person = contact(email="keep@example.com", first_name="Keep")
    data = {"first_name": "Changed", "status_id": "", field: value}
    response = client.post(f"/contacts/{person.id}/edit", data=data)
    assert response.status_code == 400
    assert message in response.text
    db.session.rollback()
    assert db.session.get(Contact, person.id).first_name == "Keep"


def test_edit_to_an_email_in_use_is_a_field_error_never_a_merge(client, marketer):
    """R10: admin edits never merge."""
    owner = contact(email="taken@example.com", first_name="Owner", last_name="One")
    person = contact(email="mine@example.com", first_name="Me")
    activity(person, title="mine")
    response = client.post(
        f"/contacts/{person.id}/edit",
        data={"first_name": "Me", "email": "Taken@example.com", "status_id": ""},
    )
    assert response.status_code == 400
    assert f"Already used by contact #{owner.id} (Owner One)" in response.text
    db.session.rollback()
    assert db.session.get(Contact, person.id).email == "mine@example.com"
    assert db.session.get(Contact, owner.id).email == "taken@example.com"
    assert count(Activity, Activity.contact_id == person.id) == 1
    assert count(Activity, Activity.contact_id == owner.id) == 0


def test_edit_may_clear_the_email(client, marketer):
    person = contact(email="gone@example.com")
    response = client.post(f"/contacts/{person.id}/edit", data={"email": "", "status_id": ""})
    assert response.status_code == 302
    db.session.rollback()
    assert db.session.get(Contact, person.id).email is None


# --- delete -------------------------------------------------------------------------------------


def test_delete_asks_first_then_deletes_everything_held_r11(client, marketer):
    person = contact(email="bye@example.com")
    other = contact(email="stay@example.com")
    c = consent()
    g = group()
    activity(person)
    activity(other)
    agreement(person, c)
    member(g, person)
    db.session.add(ContactAlias(guid=uuid.uuid4(), contact_id=person.id))
    db.session.commit()
    person_id = person.id
    confirm = client.get(f"/contacts/{person.id}/delete")
    assert confirm.status_code == 200 and "cannot be undone" in confirm.text
    assert count(Contact, Contact.id == person.id) == 1
    other_id, actor_email = other.id, marketer.email
    response = client.post(f"/contacts/{person_id}/delete")
    assert response.status_code == 302
    assert count(Contact, Contact.id == person_id) == 0
    assert count(Activity, Activity.contact_id == person_id) == 0
    assert count(ConsentAgreement, ConsentAgreement.contact_id == person_id) == 0
    assert count(ContactGroupMember, ContactGroupMember.contact_id == person_id) == 0
    assert count(ContactAlias, ContactAlias.contact_id == person_id) == 0
    assert count(Activity, Activity.contact_id == other_id) == 1
    [entry] = audit_entries("contact.delete")
    assert entry.target_id == str(person_id) and entry.actor_email == actor_email


def test_delete_of_missing_contact_is_404(client, marketer):
    assert client.post("/contacts/4242/delete").status_code == 404
    assert count(AuditEntry) == 0


def test_analyst_sees_no_contact_data(client, login_as):
    person = contact(email="secret@example.com")
    login_as(Role.ANALYST)
    for url in (
        "/contacts/",
        f"/contacts/{person.id}",
        "/contacts/activities",
        "/contacts/export.csv",
    ):
        response = client.get(url)
        assert response.status_code == 403
        assert "secret@example.com" not in response.text


def test_list_links_to_profiles(client, marketer):
    person = contact(email="link@example.com")
    page = client.get("/contacts/").text
    assert f'href="/contacts/{person.id}"' in page
    assert db.session.scalar(select(Contact.email).where(Contact.id == person.id))
