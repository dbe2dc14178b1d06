"""Contact-group pages: list, builder (without JavaScript), preview, members, export, delete."""

import csv
import io
import re
import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from dashboard.extensions import db
from dashboard.models import (
    AuditEntry,
    Contact,
    ContactAlias,
    ContactGroup,
    ContactGroupMember,
    GroupStatus,
)
from tests import factories
from tests.test_groups_membership import rows

BUILDER = "/contacts/groups/new"


@pytest.fixture
def marketer(login_as):
    return login_as("marketer")


def details(code: str = "germans", name: str = "Germans") -> dict:
    return {"display_name": name, "code_name": code, "enabled": "y"}


def country_rule(countries: str = "DE", g: int = 0, r: int = 0, negate: bool = False) -> dict:
    base = f"g{g}-r{r}"
    fields = {
        f"{base}-type": "country",
        f"{base}-shown": "country",
        f"{base}-countries": countries,
    }
    if negate:
        fields[f"{base}-negate"] = "1"
    return fields


def builder_form(*rules: dict, op: str = "all", groups: int = 1, **extra: str) -> dict:
    form = {"op": op, **{f"g{i}-op": "all" for i in range(groups)}}
    for r in rules:
        form.update(r)
    form.update(extra)
    return form


def errors(response) -> list[str]:
    return re.findall(r'class="error"[^>]*>([^<]+)<', response.get_data(as_text=True))


def flashes(response) -> list[str]:
    return re.findall(r'class="flash[^"]*">([^<]+)<', response.get_data(as_text=True))


def group_named(code: str) -> ContactGroup:
    db.session.expire_all()
    return db.session.scalars(select(ContactGroup).where(ContactGroup.code_name == code)).one()


def member_rows(group_id: int) -> dict[int, tuple[bool, bool]]:
    return rows(db.session.get(ContactGroup, group_id))


def saved_group(code: str = "germans", condition: dict | None = None, **fields) -> ContactGroup:
    group = ContactGroup(code_name=code, display_name=code.title(), condition=condition, **fields)
    db.session.add(group)
    db.session.commit()
    return group


GERMANS = {
    "op": "all",
    "groups": [
        {
            "op": "all",
            "rules": [{"type": "country", "negate": False, "params": {"countries": ["DE"]}}],
        }
    ],
}


# --- List --------------------------------------------------------------------------------------


def test_list_shows_counts_status_and_last_calculation(client, marketer):
    empty = client.get("/contacts/groups/")
    assert empty.status_code == 200
    assert "No contact groups yet" in empty.get_data(as_text=True)
    group = saved_group(condition=GERMANS, status=GroupStatus.CONDITION_CHANGED)
    saved_group("vips")
    a, b = factories.contact(), factories.contact()
    db.session.add_all(
        [
            ContactGroupMember(group_id=group.id, contact_id=a.id, by_condition=True),
            ContactGroupMember(group_id=group.id, contact_id=b.id, manual=True),
        ]
    )
    db.session.commit()
    page = client.get("/contacts/groups/").get_data(as_text=True)
    assert "Condition changed: recalculate" in page
    assert "Up to date" in page  # the static group
    assert re.search(
        r"Germans</a> <code>germans</code></td>\s*<td>Dynamic</td>\s*"
        r'<td class="num">2</td>\s*<td class="num">1</td>\s*<td class="num">1</td>',
        page,
    )


# --- Builder without JavaScript ------------------------------------------------------------------


def test_builder_starts_with_one_rule_and_plain_fields(client, marketer):
    page = client.get(BUILDER).get_data(as_text=True)
    assert 'name="g0-r0-type"' in page
    assert 'name="action" value="add_rule:0"' in page
    assert 'name="action" value="remove_rule:0:0"' in page
    assert 'name="action" value="add_group"' in page
    assert "js/segments.js" in page
    assert "<script>" not in page  # no inline script (CSP script-src 'self')


def test_edit_actions_round_trip_the_tree(client, marketer):
    form = builder_form(country_rule("DE, AT"), **details())
    added = client.post(BUILDER, data={**form, "action": "add_rule:0", "g0-new": "activity_count"})
    page = added.get_data(as_text=True)
    assert added.status_code == 200
    assert 'value="AT, DE"' not in page and 'value="DE, AT"' in page  # typed values kept
    assert 'name="g0-r1-times"' in page and 'name="g0-r1-type_id"' in page
    assert re.search(r'<select id="g0-r1-type" name="g0-r1-type" autofocus>', page)

    grouped = client.post(BUILDER, data={**form, "action": "add_group", "new-group": "identified"})
    page = grouped.get_data(as_text=True)
    assert "Rule group 2" in page and 'name="g1-r0-type"' in page

    removed = client.post(BUILDER, data={**form, "action": "remove_rule:0:0"})
    page = removed.get_data(as_text=True)
    assert 'name="g0-r0-type"' not in page and "No rules in this group." in page

    gone = client.post(BUILDER, data={**form, "action": "remove_group:0"})
    assert "Rule group 1" not in gone.get_data(as_text=True)


def test_changing_a_rule_type_shows_its_fields(client, marketer):
    form = builder_form(
        {"g0-r0-type": "any_activity", "g0-r0-shown": "country", "g0-r0-countries": "DE"}
    )
    page = client.post(BUILDER, data={**form, "action": "change_type:0:0"}).get_data(as_text=True)
    assert 'name="g0-r0-days" value="30"' in page
    assert "g0-r0-countries" not in page


def test_negation_and_combinators_survive_a_round_trip(client, marketer):
    form = builder_form(country_rule("DE", negate=True), op="any", **details(), **{"g0-op": "any"})
    page = client.post(BUILDER, data={**form, "action": "add_group"}).get_data(as_text=True)
    assert re.search(r'name="g0-r0-negate" value="1" checked', page)
    assert re.search(r'<option value="any" selected>any of</option>', page)
    assert "Contact is not from any of: DE" in page


def test_preview_counts_and_samples_before_saving(client, marketer):
    de = factories.contact(email="de@example.com", country="DE")
    factories.contact(country="FR")
    response = client.post(BUILDER, data={**builder_form(country_rule()), "action": "preview"})
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<strong>1</strong> contact match now" in page
    assert f'href="/contacts/{de.id}"' in page
    assert db.session.scalar(select(ContactGroup.id)) is None  # nothing saved


def test_enter_in_a_field_previews_rather_than_removing(client, marketer):
    """Implicit submission sends no action: it must not be taken as the first edit button."""
    page = client.post(BUILDER, data=builder_form(country_rule())).get_data(as_text=True)
    assert 'name="g0-r0-type"' in page
    assert "match now" in page


def test_save_marks_condition_changed_and_save_recalculate_fills_members(client, marketer):
    de = factories.contact(country="DE")
    response = client.post(
        BUILDER, data={**builder_form(country_rule()), **details(), "action": "save"}
    )
    group = group_named("germans")
    assert response.status_code == 302
    assert response.location == f"/contacts/groups/{group.id}"
    assert group.status == GroupStatus.CONDITION_CHANGED
    assert group.condition == GERMANS
    assert member_rows(group.id) == {}

    response = client.post(
        BUILDER,
        data={
            **builder_form(country_rule()),
            **details("germans-2", "Germans again"),
            "action": "save_recalculate",
        },
        follow_redirects=True,
    )
    again = group_named("germans-2")
    assert again.status == GroupStatus.READY
    assert member_rows(again.id) == {de.id: (True, False)}
    assert "Recalculated: 1 members" in " ".join(flashes(response))


def test_static_group_without_rule_groups(client, marketer):
    response = client.post(
        BUILDER, data={"op": "all", **details("static", "Static"), "action": "save"}
    )
    assert response.status_code == 302
    group = group_named("static")
    assert group.condition is None
    assert group.status == GroupStatus.READY


def test_edit_changes_status_only_when_the_condition_changes(client, marketer):
    group = saved_group(condition=GERMANS, status=GroupStatus.READY)
    url = f"/contacts/groups/{group.id}/edit"
    page = client.get(url).get_data(as_text=True)
    assert 'name="g0-r0-countries" value="DE"' in page
    client.post(
        url, data={**builder_form(country_rule()), **details(name="Renamed"), "action": "save"}
    )
    assert group_named("germans").status == GroupStatus.READY
    assert group_named("germans").display_name == "Renamed"
    client.post(url, data={**builder_form(country_rule("AT")), **details(), "action": "save"})
    assert group_named("germans").status == GroupStatus.CONDITION_CHANGED


def test_enabling_a_disabled_group_asks_for_recalculation(client, marketer):
    group = saved_group(condition=GERMANS, status=GroupStatus.READY, enabled=False)
    client.post(
        f"/contacts/groups/{group.id}/edit",
        data={**builder_form(country_rule()), **details(), "action": "save"},
    )
    assert group_named("germans").status == GroupStatus.CONDITION_CHANGED


# --- Validation --------------------------------------------------------------------------------


def test_field_errors_rerender_with_400(client, marketer):
    form = builder_form(
        {"g0-r0-type": "any_activity", "g0-r0-shown": "any_activity", "g0-r0-days": "0"},
        {"g0-r1-type": "teleported", "g0-r1-shown": "teleported"},
        {"g0-r2-type": "activity_count", "g0-r2-shown": "activity_count", "g0-r2-times": "x"},
        display_name="",
        code_name="Not A Slug",
    )
    response = client.post(BUILDER, data={**form, "action": "save"})
    assert response.status_code == 400
    found = errors(response)
    assert "Days must be between 1 and 3650." in found
    assert "Unknown rule: choose a rule from the list." in found
    assert "Times must be a whole number." in found
    assert "Choose activity type from the list." in found
    assert "Use lower-case letters, digits, hyphens and underscores." in found
    assert "This field is required." in found
    assert 'aria-invalid="true" aria-describedby="g0-r0-days-error"' in response.get_data(
        as_text=True
    )
    assert db.session.scalar(select(ContactGroup.id)) is None


def test_duplicate_code_name(client, marketer):
    saved_group()
    response = client.post(
        BUILDER, data={**builder_form(country_rule()), **details(), "action": "save"}
    )
    assert response.status_code == 400
    assert "Another group has this code name." in errors(response)


def test_a_group_cannot_contain_itself(client, marketer):
    a = saved_group("a")
    b = saved_group(
        "b",
        {
            "op": "all",
            "groups": [
                {"rules": [{"type": "in_groups", "params": {"match": "any", "group_ids": [a.id]}}]}
            ],
        },
    )
    form = builder_form(
        {
            "g0-r0-type": "in_groups",
            "g0-r0-shown": "in_groups",
            "g0-r0-match": "any",
            "g0-r0-group_ids": str(b.id),
        },
        **details("a", "A"),
    )
    response = client.post(f"/contacts/groups/{a.id}/edit", data={**form, "action": "save"})
    assert response.status_code == 400
    assert "This would make the group contain itself: this group → B → this group." in errors(
        response
    )
    direct = {**form, "g0-r0-group_ids": str(a.id)}
    response = client.post(f"/contacts/groups/{a.id}/edit", data={**direct, "action": "save"})
    assert "A group cannot contain itself: choose other groups." in errors(response)


def test_empty_rule_group_needs_a_rule(client, marketer):
    response = client.post(
        BUILDER, data={"op": "all", "g0-op": "all", **details(), "action": "save"}
    )
    assert response.status_code == 400
    assert "Add a rule to this group or remove the group." in errors(response)


# --- Live preview (JSON) and the script's fragment -----------------------------------------------


def test_json_preview(client, marketer):
    de = factories.contact(first_name="Dora", country="DE")
    ok = client.post("/contacts/groups/preview", data=builder_form(country_rule()))
    assert ok.status_code == 200
    assert ok.json == {
        "ok": True,
        "count": 1,
        "sample": [{"id": de.id, "label": "Dora", "email": None, "url": f"/contacts/{de.id}"}],
        "sentences": [
            "Contacts matching all of these rule groups:",
            "All of: Contact is from any of: DE",
        ],
    }
    bad = client.post("/contacts/groups/preview", data=builder_form(country_rule("Germany")))
    assert bad.status_code == 200
    assert bad.json == {
        "ok": False,
        "errors": {"g0-r0-countries": "“Germany” is not a two-letter country code."},
    }


def test_fragment_request_returns_only_the_builder(client, marketer):
    response = client.post(
        BUILDER,
        data={**builder_form(country_rule()), "action": "add_rule:0"},
        headers={"X-Builder-Fragment": "1"},
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<html" not in page and 'name="g0-r1-type"' in page
    assert "autofocus" in page


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    fields=st.dictionaries(
        st.sampled_from(
            [
                "op",
                "g0-op",
                "g0-r0-type",
                "g0-r0-shown",
                "g0-r0-days",
                "g0-r0-type_ids",
                "g0-r0-group_ids",
                "g0-r0-countries",
                "g0-r0-value",
                "g0-r0-operator",
                "g0-r0-field",
                "g999-op",
                "g1-r7-type",
                "action",
                "code_name",
            ]
        ),
        st.one_of(
            st.text(max_size=30),
            st.sampled_from(
                [
                    "all",
                    "any",
                    "country",
                    "in_groups",
                    "activity_count",
                    "contact_field",
                    "remove_rule:0:9",
                    "add_rule:5",
                    "remove_group:0",
                    "change_type:0:0",
                    "save",
                    "preview",
                    "-1",
                    "1e9",
                ]
            ),
        ),
    )
)
def test_no_builder_input_gives_a_server_error(app, client, marketer, fields):
    for url in (BUILDER, "/contacts/groups/preview"):
        response = client.post(url, data=fields)
        assert response.status_code < 500, (url, fields)
    db.session.rollback()


# --- Detail, members, manual members -------------------------------------------------------


def test_detail_lists_members_with_keyset_pages_and_profile_links(client, marketer, monkeypatch):
    from dashboard.groups import services

    monkeypatch.setattr(services, "MEMBERS_PAGE", 2)
    group = saved_group(condition=GERMANS)
    people = [factories.contact(email=f"m{i}@example.com") for i in range(5)]
    for p in people:
        db.session.add(ContactGroupMember(group_id=group.id, contact_id=p.id, by_condition=True))
    db.session.commit()
    first = client.get(f"/contacts/groups/{group.id}").get_data(as_text=True)
    assert "Contact is from any of: DE" in first
    assert f'href="/contacts/{people[0].id}"' in first
    assert "m2@example.com" not in first
    assert f"after={people[1].id}" in first
    second = client.get(f"/contacts/groups/{group.id}?after={people[1].id}").get_data(as_text=True)
    assert "m2@example.com" in second and "m0@example.com" not in second
    last = client.get(f"/contacts/groups/{group.id}?after={people[3].id}").get_data(as_text=True)
    assert "End of the list." in last
    manual_only = client.get(f"/contacts/groups/{group.id}?how=manual").get_data(as_text=True)
    assert "No members of this kind." in manual_only


def test_members_without_contact_profiles_are_plain_text(client, marketer, app, monkeypatch):
    group = saved_group()
    person = factories.contact(email="p@example.com")
    db.session.add(ContactGroupMember(group_id=group.id, contact_id=person.id, manual=True))
    db.session.commit()
    monkeypatch.delitem(app.view_functions, "contacts.detail")
    page = client.get(f"/contacts/groups/{group.id}").get_data(as_text=True)
    assert "p@example.com" in page and f'href="/contacts/{person.id}"' not in page


def test_add_members_by_email_guid_and_merged_guid(client, marketer):
    group = saved_group("vips")
    by_email = factories.contact(email="ann@example.com")
    by_guid = factories.contact()
    survivor = factories.contact()
    merged = uuid.uuid4()
    db.session.add(ContactAlias(guid=merged, contact_id=survivor.id))
    db.session.commit()
    entries = f"ANN@example.com\n{by_guid.guid}, {merged}; nobody@example.com"
    response = client.post(
        f"/contacts/groups/{group.id}/members", data={"entries": entries}, follow_redirects=True
    )
    assert "Added 3 contact(s) by hand. Not found: nobody@example.com." in flashes(response)
    assert member_rows(group.id) == {
        by_email.id: (False, True),
        by_guid.id: (False, True),
        survivor.id: (False, True),
    }
    again = client.post(
        f"/contacts/groups/{group.id}/members",
        data={"entries": "ann@example.com"},
        follow_redirects=True,
    )
    assert "Added 0 contact(s) by hand. 1 were members by hand already." in flashes(again)


def test_add_members_rejects_what_is_neither_email_nor_guid(client, marketer):
    group = saved_group("vips")
    response = client.post(
        f"/contacts/groups/{group.id}/members", data={"entries": "ann@example.com =cmd|x"}
    )
    assert response.status_code == 400
    assert "Neither an email nor a GUID: &#39;=cmd|x&#39;." in errors(response)
    empty = client.post(f"/contacts/groups/{group.id}/members", data={"entries": ""})
    assert empty.status_code == 400


def test_removing_a_manual_member_keeps_a_condition_member(client, marketer):
    group = saved_group(condition=GERMANS)
    only_manual = factories.contact()
    both = factories.contact()
    db.session.add_all(
        [
            ContactGroupMember(group_id=group.id, contact_id=only_manual.id, manual=True),
            ContactGroupMember(
                group_id=group.id, contact_id=both.id, manual=True, by_condition=True
            ),
        ]
    )
    db.session.commit()
    for person in (only_manual, both):
        response = client.post(f"/contacts/groups/{group.id}/members/{person.id}/remove")
        assert response.status_code == 302
    assert member_rows(group.id) == {both.id: (True, False)}
    assert client.post(f"/contacts/groups/{group.id}/members/{both.id}/remove").status_code == 404


def test_recalculate_button(client, marketer):
    group = saved_group(condition=GERMANS, status=GroupStatus.CONDITION_CHANGED)
    de = factories.contact(country="DE")
    response = client.post(f"/contacts/groups/{group.id}/recalculate", follow_redirects=True)
    assert "Recalculated: 1 members" in " ".join(flashes(response))
    assert member_rows(group.id) == {de.id: (True, False)}
    busy = saved_group("busy", condition=GERMANS, status=GroupStatus.CALCULATING)
    response = client.post(f"/contacts/groups/{busy.id}/recalculate", follow_redirects=True)
    assert "This group is being recalculated already." in flashes(response)


def test_unknown_group_is_404(client, marketer):
    for url in ("/contacts/groups/99", "/contacts/groups/99/edit", "/contacts/groups/99/export"):
        assert client.get(url).status_code == 404


# --- Export ------------------------------------------------------------------------------------


def test_export_is_formula_safe_streamed_and_audited(client, marketer):
    group = saved_group(condition=GERMANS)
    attacker = factories.contact(
        email="evil@example.com", first_name='=HYPERLINK("http://x","y")', last_name="+1-2"
    )
    plain = factories.contact(email="plain@example.com", first_name="Ann", company="@home")
    db.session.add_all(
        [
            ContactGroupMember(group_id=group.id, contact_id=attacker.id, by_condition=True),
            ContactGroupMember(
                group_id=group.id, contact_id=plain.id, by_condition=True, manual=True
            ),
        ]
    )
    db.session.commit()
    response = client.get(f"/contacts/groups/{group.id}/export")
    assert response.status_code == 200
    assert response.is_streamed
    assert response.headers["Content-Disposition"] == 'attachment; filename="group-germans.csv"'
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0][:3] == ["contact_id", "guid", "email"]
    assert rows[1][3:5] == ['\'=HYPERLINK("http://x","y")', "'+1-2"]
    assert rows[2][5] == "'@home"
    assert [r[7] for r in rows[1:]] == ["condition", "condition+manual"]
    assert db.session.scalar(select(AuditEntry.action)) == "group.export"


# --- Delete ------------------------------------------------------------------------------------


def test_delete_is_refused_while_another_condition_uses_the_group(client, marketer):
    used = saved_group("used")
    saved_group(
        "user",
        {
            "groups": [
                {
                    "rules": [
                        {"type": "in_groups", "params": {"match": "all", "group_ids": [used.id]}}
                    ]
                }
            ]
        },
    )
    page = client.get(f"/contacts/groups/{used.id}/delete").get_data(as_text=True)
    assert "cannot be deleted" in page and "User</a> <code>user</code>" in page
    response = client.post(f"/contacts/groups/{used.id}/delete")
    assert response.status_code == 409
    assert "User</a>" in response.get_data(as_text=True)
    assert group_named("used")


def test_delete_removes_group_and_memberships_but_not_contacts(client, marketer):
    group = saved_group()
    person = factories.contact()
    db.session.add(ContactGroupMember(group_id=group.id, contact_id=person.id, manual=True))
    db.session.commit()
    confirm = client.get(f"/contacts/groups/{group.id}/delete").get_data(as_text=True)
    assert "its 1 membership." in confirm
    response = client.post(f"/contacts/groups/{group.id}/delete", follow_redirects=True)
    assert "Deleted Germans." in flashes(response)
    db.session.expire_all()
    assert db.session.scalar(select(ContactGroup.id)) is None
    assert db.session.scalar(select(ContactGroupMember.contact_id)) is None
    assert db.session.get(Contact, person.id) is not None
