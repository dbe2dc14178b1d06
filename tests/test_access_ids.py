"""Access by ids: changing an id in a URL or a form field reaches no data the role may not see.

tests/test_access_matrix.py proves every route refuses the wrong roles with ids that name no
row. Here the ids are real: a refused request answers 403 before it reads the row, shows none
of its data and changes nothing; and a permitted role naming an object through another one
(a member of group B removed through group A, another channel's key, another consent's archived
text, extra form fields naming another contact) gets 404 or has no effect.
"""

import dataclasses
from dataclasses import dataclass

import pytest
from sqlalchemy import select

from dashboard.extensions import db
from dashboard.models import (
    Activity,
    ActivityType,
    AuditEntry,
    Channel,
    ChannelApiKey,
    Consent,
    ConsentAgreement,
    ConsentArchive,
    Contact,
    ContactGroup,
    ContactGroupMember,
    Role,
    User,
)
from tests import factories

ALICE_EMAIL = "alice.private@example.com"
BOB_EMAIL = "bob.private@example.com"
ALICE_ACTIVITY = "Read the confidential pricing page"
ARCHIVED_TEXT = "Archived wording of the other consent"


@dataclass(frozen=True)
class World:
    """Real rows of every kind an id can name."""

    alice: int
    alice_guid: str
    bob: int
    bob_guid: str
    group_a: int  # alice is a member by hand
    group_b: int  # bob is a member by hand
    consent: int  # alice agreed to it
    other_consent: int
    other_archive: int  # an archived text version of other_consent
    website: int
    app_a: int
    key_a: int
    app_b: int
    key_b: int
    admin: int
    admin_email: str


def _group(code: str, member: Contact) -> ContactGroup:
    group = ContactGroup(code_name=code, display_name=code.upper(), condition=None)
    db.session.add(group)
    db.session.flush()
    db.session.add(
        ContactGroupMember(group_id=group.id, contact_id=member.id, by_condition=False, manual=True)
    )
    db.session.commit()
    return group


def _key_id(channel: Channel) -> int:
    return db.session.scalar(select(ChannelApiKey.id).where(ChannelApiKey.channel_id == channel.id))


@pytest.fixture
def world(app) -> World:
    alice = factories.contact(email=ALICE_EMAIL, first_name="Alice")
    bob = factories.contact(email=BOB_EMAIL, first_name="Bob")
    consent = factories.consent("tracking")
    other = factories.consent("newsletter", short="Send me news")
    factories.agreement(alice, consent)
    archive = ConsentArchive(consent_id=other.id, text_hash="a" * 64, short_text=ARCHIVED_TEXT)
    db.session.add(archive)
    visit = db.session.scalar(select(ActivityType.id).where(ActivityType.code_name == "pagevisit"))
    db.session.add(Activity(contact_id=alice.id, type_id=visit, title=ALICE_ACTIVITY))
    db.session.commit()
    website = factories.channel("site", level=200, consent=consent)
    app_a = factories.channel("app-a", type="headless", level=200)
    factories.api_key(app_a, "key-of-app-a-0123456789")
    app_b = factories.channel("app-b", type="headless", level=200)
    factories.api_key(app_b, "key-of-app-b-0123456789")
    admin = factories.user(role=Role.ADMIN)
    return World(
        alice=alice.id,
        alice_guid=str(alice.guid),
        bob=bob.id,
        bob_guid=str(bob.guid),
        group_a=_group("group-a", alice).id,
        group_b=_group("group-b", bob).id,
        consent=consent.id,
        other_consent=other.id,
        other_archive=archive.id,
        website=website.id,
        app_a=app_a.id,
        key_a=_key_id(app_a),
        app_b=app_b.id,
        key_b=_key_id(app_b),
        admin=admin.id,
        admin_email=admin.email,
    )


def _rows(*columns) -> list[tuple]:  # type: ignore[no-untyped-def]
    return sorted(tuple(r) for r in db.session.execute(select(*columns)))


def _state() -> dict[str, list[tuple]]:
    """Everything a hostile request could change, read fresh."""
    db.session.expire_all()
    return {
        "contacts": _rows(Contact.id, Contact.guid, Contact.email, Contact.first_name),
        "members": _rows(
            ContactGroupMember.group_id,
            ContactGroupMember.contact_id,
            ContactGroupMember.manual,
            ContactGroupMember.by_condition,
        ),
        "groups": _rows(ContactGroup.id, ContactGroup.display_name, ContactGroup.condition),
        "users": _rows(User.id, User.role, User.active, User.password_hash, User.session_token),
        "channels": _rows(
            Channel.id, Channel.default_cookie_level, Channel.tracking_consent_id, Channel.enabled
        ),
        "keys": _rows(ChannelApiKey.id, ChannelApiKey.revoked_at),
        "consents": _rows(Consent.id, Consent.text_hash, Consent.short_text),
        "agreements": _rows(ConsentAgreement.id),
        "activities": _rows(Activity.id),
        "audit": _rows(AuditEntry.id),
    }


# Who may not use which permission (permissions.py): every role but these is refused.
CONTACT_ROLES = (Role.MARKETER, Role.ADMIN)
CHANNEL_ROLES = (Role.CHANNEL_MANAGER, Role.ADMIN)
ADMIN_ONLY = (Role.ADMIN,)


@dataclass(frozen=True)
class Attempt:
    """A request naming real rows, and the roles that may make it. ``{field}`` in the path and
    in form values is a World field; ``{me}`` the requesting user's id."""

    name: str
    method: str
    path: str
    allowed: tuple[Role, ...]
    form: dict[str, str | list[str]] = dataclasses.field(default_factory=dict)

    def send(self, client, world: World, me: User):  # type: ignore[no-untyped-def]
        values = {**dataclasses.asdict(world), "me": me.id}

        def fill(value: str | list[str]) -> str | list[str]:
            if isinstance(value, list):
                return [v.format(**values) for v in value]
            return value.format(**values)

        form = {key: fill(value) for key, value in self.form.items()}
        return client.open(self.path.format(**values), method=self.method, data=form)


# fmt: off
ATTEMPTS = [
    Attempt("profile", "GET", "/contacts/{alice}", CONTACT_ROLES),
    Attempt("edit form", "GET", "/contacts/{alice}/edit", CONTACT_ROLES),
    Attempt("edit", "POST", "/contacts/{alice}/edit", CONTACT_ROLES,
            {"email": "taken.over@evil.example", "first_name": "Mallory", "status_id": ""}),
    Attempt("delete", "POST", "/contacts/{alice}/delete", CONTACT_ROLES),
    Attempt("bulk delete by ids", "POST", "/contacts/bulk", CONTACT_ROLES,
            {"action": "delete", "scope": "selected", "ids": ["{alice}", "{bob}"]}),
    Attempt("bulk add to a group", "POST", "/contacts/bulk", CONTACT_ROLES,
            {"action": "add_to_group", "scope": "filter", "target_group": "{group_a}"}),
    Attempt("activity log of a contact", "GET", "/contacts/activities?contact={alice}",
            CONTACT_ROLES),
    Attempt("export", "GET", "/contacts/export.csv", CONTACT_ROLES),
    Attempt("group members", "GET", "/contacts/groups/{group_a}", CONTACT_ROLES),
    Attempt("group export", "GET", "/contacts/groups/{group_a}/export", CONTACT_ROLES),
    Attempt("group add member", "POST", "/contacts/groups/{group_a}/members", CONTACT_ROLES,
            {"entries": BOB_EMAIL}),
    Attempt("group remove member", "POST", "/contacts/groups/{group_a}/members/{alice}/remove",
            CONTACT_ROLES),
    Attempt("group delete", "POST", "/contacts/groups/{group_b}/delete", CONTACT_ROLES),
    Attempt("find a person", "GET", f"/consent/data-protection/?q={ALICE_EMAIL}", ADMIN_ONLY),
    Attempt("data export", "POST", "/consent/data-protection/contacts/{alice}/export",
            ADMIN_ONLY),
    Attempt("erase", "POST", "/consent/data-protection/contacts/{alice}/erase", ADMIN_ONLY),
    Attempt("own role to admin", "POST", "/users/{me}/edit", ADMIN_ONLY,
            {"name": "me", "role": "admin", "active": "y"}),
    Attempt("demote the admin", "POST", "/users/{admin}/edit", ADMIN_ONLY,
            {"name": "x", "role": "analyst", "active": ""}),
    Attempt("admin's password", "POST", "/users/{admin}/reset-password", ADMIN_ONLY),
    Attempt("user list", "GET", "/users/", ADMIN_ONLY),
    Attempt("audit log", "GET", "/audit/", ADMIN_ONLY),
    Attempt("channel level", "POST", "/channels/{website}/edit", CHANNEL_ROLES,
            {"display_name": "x", "default_cookie_level": "1000", "enabled": "y"}),
    Attempt("revoke a key", "POST", "/channels/{app_a}/keys/{key_a}/revoke", CHANNEL_ROLES),
    Attempt("issue a key", "POST", "/channels/{app_a}/keys", CHANNEL_ROLES, {"name": "mine"}),
    Attempt("consent text", "POST", "/consent/{consent}/edit", CHANNEL_ROLES,
            {"display_name": "x", "short_text": "We track all", "full_text": "x"}),
    Attempt("consent delete", "POST", "/consent/{other_consent}/delete", CHANNEL_ROLES),
    Attempt("archived text", "GET", "/consent/{other_consent}/versions/{other_archive}",
            CHANNEL_ROLES),
]
# fmt: on
SECRETS = (ALICE_EMAIL, BOB_EMAIL, ALICE_ACTIVITY, ARCHIVED_TEXT, "key-of-app")


@pytest.mark.parametrize("role", [Role.MARKETER, Role.CHANNEL_MANAGER, Role.ANALYST])
def test_real_ids_are_refused_without_data_or_effect(client, login_as, world, role):
    me = login_as(role)
    before = _state()
    refused = [a for a in ATTEMPTS if role not in a.allowed]
    assert refused
    for attempt in refused:
        response = attempt.send(client, world, me)
        assert response.status_code == 403, attempt.name
        body = response.get_data(as_text=True)
        assert not [s for s in (*SECRETS, world.admin_email) if s in body], attempt.name
        assert _state() == before, attempt.name


@pytest.mark.parametrize("attempt", ATTEMPTS, ids=[a.name for a in ATTEMPTS])
def test_the_same_attempts_work_for_a_role_allowed(client, login_as, world, attempt):
    """The same request by an allowed role is served, so the 403s above are the role's doing and
    the ids name real rows. (Admins changing admins are tested in tests/test_users.py.)"""
    me = login_as(attempt.allowed[0])
    if attempt.path.startswith("/users/"):
        me = factories.user(role=Role.ANALYST)  # act on a user who is not the last admin
        world = dataclasses.replace(world, admin=me.id)
    response = attempt.send(client, world, me)
    assert response.status_code in (200, 302), response.status_code


# --- Permitted roles naming one object through another -------------------------------------


def test_removing_another_groups_member_through_this_group_touches_neither(client, login_as, world):
    login_as(Role.MARKETER)
    before = _state()
    response = client.post(f"/contacts/groups/{world.group_a}/members/{world.bob}/remove")
    assert response.status_code == 404
    assert _state() == before
    # The right pair works: the test would see a removal.
    client.post(f"/contacts/groups/{world.group_b}/members/{world.bob}/remove")
    assert (world.group_b, world.bob) not in {m[:2] for m in _state()["members"]}


def test_another_channels_key_cannot_be_revoked_through_this_channel(client, login_as, world):
    login_as(Role.CHANNEL_MANAGER)
    before = _state()
    assert client.post(f"/channels/{world.app_a}/keys/{world.key_b}/revoke").status_code == 404
    assert client.post(f"/channels/{world.website}/keys/{world.key_b}/revoke").status_code == 404
    assert _state() == before
    assert client.post(f"/channels/{world.app_b}/keys/{world.key_b}/revoke").status_code == 302
    assert dict(_state()["keys"])[world.key_b] is not None


def test_another_consents_archived_text_is_not_shown_through_this_consent(client, login_as, world):
    login_as(Role.CHANNEL_MANAGER)
    wrong = client.get(f"/consent/{world.consent}/versions/{world.other_archive}")
    assert wrong.status_code == 404 and ARCHIVED_TEXT not in wrong.get_data(as_text=True)
    right = client.get(f"/consent/{world.other_consent}/versions/{world.other_archive}")
    assert right.status_code == 200 and ARCHIVED_TEXT in right.get_data(as_text=True)


def test_extra_form_fields_naming_another_contact_change_only_the_one_in_the_url(
    client, login_as, world
):
    login_as(Role.MARKETER)
    data = {
        "email": ALICE_EMAIL,
        "first_name": "Alicia",
        "status_id": "",
        "id": str(world.bob),
        "contact_id": str(world.bob),
        "guid": world.bob_guid,
    }
    assert client.post(f"/contacts/{world.alice}/edit", data=data).status_code == 302
    contacts = {row[0]: (str(row[1]), row[2], row[3]) for row in _state()["contacts"]}
    assert contacts[world.alice] == (world.alice_guid, ALICE_EMAIL, "Alicia")
    assert contacts[world.bob] == (world.bob_guid, BOB_EMAIL, "Bob")


def test_an_email_of_another_contact_is_refused_not_merged(client, login_as, world):
    """Editing Alice to Bob's email would take over Bob's identity (R10): refused."""
    login_as(Role.MARKETER)
    before = _state()
    response = client.post(
        f"/contacts/{world.alice}/edit", data={"email": BOB_EMAIL, "status_id": ""}
    )
    assert response.status_code == 400
    assert _state() == before


def test_a_data_export_holds_only_the_contact_in_the_url(client, login_as, world):
    login_as(Role.ADMIN)
    response = client.post(f"/consent/data-protection/contacts/{world.alice}/export")
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert ALICE_EMAIL in text and ALICE_ACTIVITY in text
    assert BOB_EMAIL not in text and world.bob_guid not in text


def test_channel_forms_take_only_existing_consents(client, login_as, world):
    login_as(Role.CHANNEL_MANAGER)
    before = _state()
    data = {"display_name": "Site", "default_cookie_level": "200", "enabled": "y"}
    for consent_id in ("999999", "abc", str(2**40)):
        response = client.post(
            f"/channels/{world.website}/edit", data={**data, "tracking_consent_id": consent_id}
        )
        assert response.status_code == 400
    assert _state() == before


def test_admins_cannot_give_a_role_that_does_not_exist(client, login_as, world):
    login_as(Role.ADMIN)
    before = _state()
    for role in ("owner", "ADMIN", ""):
        response = client.post(
            f"/users/{world.admin}/edit", data={"name": "x", "role": role, "active": "y"}
        )
        assert response.status_code == 400
    assert _state() == before


@pytest.mark.parametrize("role", [Role.CHANNEL_MANAGER, Role.ANALYST])
def test_pages_open_to_other_roles_show_no_person(client, login_as, world, role):
    """The overview and the agreement log are open to roles without contact access: they show
    counts, never who (the marketer's view of the same pages does, so the check can fail)."""
    login_as(role)
    pages = ["/"]
    if role == Role.CHANNEL_MANAGER:
        pages.append(f"/consent/{world.consent}/agreements")
    for page in pages:
        response = client.get(page)
        assert response.status_code == 200, page
        text = response.get_data(as_text=True)
        assert not [s for s in (ALICE_EMAIL, world.alice_guid, ALICE_ACTIVITY) if s in text]
        assert f"/contacts/{world.alice}" not in text
    login_as(Role.ADMIN)
    seen = client.get("/").get_data(as_text=True) + client.get(
        f"/consent/{world.consent}/agreements"
    ).get_data(as_text=True)
    assert ALICE_ACTIVITY in seen and f"/contacts/{world.alice}" in seen


def test_channel_actions_of_another_kind_are_404(client, login_as, world):
    """Keys belong to headless channels and links to email channels: naming a website channel's
    id instead issues nothing."""
    login_as(Role.CHANNEL_MANAGER)
    before = _state()
    assert client.post(f"/channels/{world.website}/keys", data={"name": "k"}).status_code == 404
    link = {"url": "https://example.com/", "contact": world.alice_guid}
    assert client.post(f"/channels/{world.app_a}/link", data=link).status_code == 404
    assert _state() == before


def test_a_role_change_applies_to_the_open_session_at_once(client, login_as, world):
    me = login_as(Role.MARKETER)
    assert client.get(f"/contacts/{world.alice}").status_code == 200
    me.role = Role.ANALYST
    db.session.commit()
    response = client.get(f"/contacts/{world.alice}")
    assert response.status_code == 403 and ALICE_EMAIL not in response.get_data(as_text=True)
