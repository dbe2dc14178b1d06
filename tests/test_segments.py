"""The segment condition model (domain.md section 7): validation, sentences, references.

Pure functions: no app, no database.
"""

import pytest

from dashboard.domain import segments as s

CATALOGUE = s.Catalogue(
    activity_types={1: "Page visit", 2: "Landing page", 5: "Form submission"},
    consents={1: "Tracking cookies"},
    channels={3: "Corporate site"},
    groups={10: "Newsletter", 11: "VIP", 12: "Leads"},
)


def rule(rule_type: str, negate: bool = False, **params: object) -> dict:
    return {"type": rule_type, "negate": negate, "params": params}


def one(*rules: dict, op: str = "all") -> dict:
    return {"op": "all", "groups": [{"op": op, "rules": list(rules)}]}


def errors_of(condition: object, **kwargs: object) -> dict[str, str]:
    return s.validate_condition(condition, CATALOGUE, **kwargs).errors  # type: ignore[arg-type]


def sentence(r: dict) -> str:
    checked = s.validate_condition(one(r), CATALOGUE)
    assert checked.condition is not None, checked.errors
    return s.describe_rule(checked.condition.groups[0].rules[0], CATALOGUE)


# --- Sentences -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("r", "expected"),
    [
        (
            rule("activity_types", match="any", type_ids=[1, 5], days=30),
            "Contact has performed any of: Page visit, Form submission in the last 30 days",
        ),
        (
            rule("activity_types", True, match="all", type_ids=["5", "1"], days="7"),
            "Contact has not performed all of: Page visit, Form submission in the last 7 days",
        ),
        (
            rule("contact_field", field="email", operator="ends_with", value=" .com "),
            "Contact email ends with “.com”",
        ),
        (
            rule("contact_field", True, field="company", operator="is_empty", value="ignored"),
            "Contact company is not empty",
        ),
        (
            rule("activity_count", type_id=1, times=3, days=30),
            "Contact has performed Page visit at least 3 times in the last 30 days",
        ),
        (
            rule("activity_count", True, type_id=1, times=1, days=1),
            "Contact has not performed Page visit at least once in the last 1 day",
        ),
        (
            rule("activity_value", type_id=None, operator="contains", value="pricing", days=30),
            "Contact has performed an activity (any type) whose value contains “pricing” "
            "in the last 30 days",
        ),
        (
            rule("visited_url", url="/pricing", days=14),
            "Contact has visited a page whose URL contains “/pricing” in the last 14 days",
        ),
        (
            rule("landing_page", True, url="/spring", days=""),
            "Contact has not come to a landing page whose URL contains “/spring”",
        ),
        (
            rule("form_submitted", form="contact-us", days=30),
            "Contact has submitted form “contact-us” in the last 30 days",
        ),
        (rule("consent_agreed", consent_id=1), "Contact has agreed with consent Tracking cookies"),
        (
            rule("in_groups", True, match="any", group_ids=[11, 10]),
            "Contact is not in any of: Newsletter, VIP",
        ),
        (rule("inactive", days=90), "Contact has been inactive for at least 90 days"),
        (rule("country", countries="de, at"), "Contact is from any of: AT, DE"),
        (rule("identified", True), "Contact is not identified (has no email)"),
        (
            rule("channel_active", channel_id=3, days=30),
            "Contact has been active on channel Corporate site in the last 30 days",
        ),
        (rule("any_activity", days=7), "Contact has performed any activity in the last 7 days"),
    ],
)
def test_every_rule_reads_as_a_sentence(r, expected):
    assert sentence(r) == expected


def test_catalogue_has_every_rule_of_section_7():
    assert set(s.RULES) == {
        "contact_field",
        "any_activity",
        "activity_types",
        "activity_count",
        "activity_value",
        "visited_url",
        "landing_page",
        "form_submitted",
        "consent_agreed",
        "in_groups",
        "inactive",
        "country",
        "identified",
        "channel_active",
    }
    assert set(s.FIELD_OPERATORS) == {
        "contains",
        "not_contains",
        "starts_with",
        "ends_with",
        "equals",
        "not_equals",
        "is_empty",
    }


def test_condition_sentences_name_the_combinators():
    condition = {
        "op": "any",
        "groups": [
            {"op": "all", "rules": [rule("identified"), rule("country", countries=["DE"])]},
            {"op": "any", "rules": [rule("consent_agreed", consent_id=1)]},
        ],
    }
    checked = s.validate_condition(condition, CATALOGUE)
    assert checked.condition is not None
    assert s.describe_condition(checked.condition, CATALOGUE) == [
        "Contacts matching any of these rule groups:",
        "All of: Contact is identified (has an email); Contact is from any of: DE",
        "Any of: Contact has agreed with consent Tracking cookies",
    ]
    assert s.describe_condition(s.Condition(), CATALOGUE) == []


def test_deleted_references_read_as_deleted():
    stored = one(rule("consent_agreed", consent_id=99))
    condition = s.condition_from_json(stored)
    assert s.describe_rule(condition.rules()[0], CATALOGUE) == (
        "Contact has agreed with consent (deleted consent #99)"
    )


# --- Validation ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ("nonsense", {"": "The condition is not readable."}),
        ({"groups": "x"}, {"": "The condition is not readable."}),
        ({"op": "most", "groups": []}, {"op": "Choose “all of” or “any of”."}),
        (
            {"groups": [{"op": "all", "rules": []}]},
            {"g0": "Add a rule to this group or remove the group."},
        ),
        ({"groups": [7]}, {"g0": "This rule group is not readable."}),
        (
            {"groups": [{"op": "?", "rules": [rule("identified")]}]},
            {"g0-op": "Choose “all of” or “any of”."},
        ),
        (one("x"), {"g0-r0": "This rule is not readable."}),
        (
            one(rule("favourite_colour")),
            {"g0-r0-type": "Unknown rule: choose a rule from the list."},
        ),
        (one(rule("any_activity", days=0)), {"g0-r0-days": "Days must be between 1 and 3650."}),
        (one(rule("any_activity", days="ten")), {"g0-r0-days": "Days must be a whole number."}),
        (one(rule("any_activity", days=True)), {"g0-r0-days": "Days must be a whole number."}),
        (one(rule("any_activity")), {"g0-r0-days": "Enter days."}),
        (
            one(rule("any_activity", days=99999999999)),
            {"g0-r0-days": "Days must be between 1 and 3650."},
        ),
        (
            one(rule("any_activity", days="9" * 40)),
            {"g0-r0-days": "Days must be between 1 and 3650."},
        ),
        (one(rule("any_activity", days="-3")), {"g0-r0-days": "Days must be a whole number."}),
        (one(rule("any_activity", days="٣")), {"g0-r0-days": "Days must be a whole number."}),
        (
            one(rule("activity_count", type_id=4, times=0, days=30)),
            {
                "g0-r0-type_id": "Choose activity type from the list.",
                "g0-r0-times": "Times must be between 1 and 1000.",
            },
        ),
        (
            one(rule("activity_types", match="any", type_ids=[], days=30)),
            {"g0-r0-type_ids": "Choose at least one activity type."},
        ),
        (
            one(rule("activity_types", match="some", type_ids=[1], days=30)),
            {"g0-r0-match": "Choose match from the list."},
        ),
        (
            one(rule("contact_field", field="password", operator="contains", value="x")),
            {"g0-r0-field": "Choose field from the list."},
        ),
        (
            one(rule("contact_field", field="email", operator="contains", value="  ")),
            {"g0-r0-value": "Enter value."},
        ),
        (
            one(rule("contact_field", field="email", operator="contains", value="x" * 251)),
            {"g0-r0-value": "Value must be at most 250 characters."},
        ),
        (
            one(rule("contact_field", field="email", operator="equals", value="a\x00b")),
            {"g0-r0-value": "Value must not contain control characters."},
        ),
        (
            one(rule("country", countries="DE, Germany")),
            {"g0-r0-countries": "“Germany” is not a two-letter country code."},
        ),
        (
            one(rule("country", countries="")),
            {"g0-r0-countries": "Enter at least one country code."},
        ),
        (
            one(rule("consent_agreed", consent_id=2)),
            {"g0-r0-consent_id": "Choose consent from the list."},
        ),
        (one(rule("identified", negate="yes")), {"g0-r0-negate": "Negation must be on or off."}),
        (
            one(rule("in_groups", match="any", group_ids=[10, 404])),
            {"g0-r0-group_ids": "Choose groups from the list."},
        ),
    ],
)
def test_validation_errors_name_the_field(condition, expected):
    assert errors_of(condition) == expected


def test_validation_normalises_values():
    checked = s.validate_condition(
        one(
            rule("activity_types", match="all", type_ids=["5", 1, "1"], days=" 30 "),
            rule("country", countries=["de", "AT", "de"]),
            rule("contact_field", field="email", operator="is_empty"),
        ),
        CATALOGUE,
    )
    assert checked.errors == {}
    assert checked.condition is not None
    assert checked.condition.to_json()["groups"][0]["rules"] == [
        {
            "type": "activity_types",
            "negate": False,
            "params": {"match": "all", "type_ids": [1, 5], "days": 30},
        },
        {"type": "country", "negate": False, "params": {"countries": ["AT", "DE"]}},
        {
            "type": "contact_field",
            "negate": False,
            "params": {"field": "email", "operator": "is_empty", "value": ""},
        },
    ]
    assert s.condition_from_json(checked.condition.to_json()) == checked.condition


def test_empty_condition_is_a_static_group():
    assert s.validate_condition(None, CATALOGUE).condition == s.Condition()
    assert s.validate_condition({"op": "all", "groups": []}, CATALOGUE).condition == s.Condition()


def test_limits():
    too_many = {"groups": [{"rules": [rule("identified")]}] * (s.MAX_GROUPS + 1)}
    assert errors_of(too_many) == {"": f"Use at most {s.MAX_GROUPS} rule groups."}
    long_group = one(*[rule("identified")] * (s.MAX_RULES_PER_GROUP + 1))
    assert errors_of(long_group) == {"g0": f"Use at most {s.MAX_RULES_PER_GROUP} rules in a group."}


# --- Self-reference ----------------------------------------------------------------------------


def test_a_group_cannot_contain_itself_directly():
    condition = one(rule("in_groups", match="any", group_ids=[10, 11]))
    assert errors_of(condition, group_id=11) == {
        "g0-r0-group_ids": "A group cannot contain itself: choose other groups."
    }


def test_a_group_cannot_contain_itself_through_others():
    condition = {
        "groups": [
            {"rules": [rule("identified")]},
            {"rules": [rule("identified"), rule("in_groups", match="all", group_ids=[10])]},
        ]
    }
    references = {10: {12}, 12: {11}, 11: set()}
    assert errors_of(condition, group_id=11, references=references) == {
        "g1-r1-group_ids": "This would make the group contain itself: "
        "this group → Newsletter → Leads → this group."
    }
    # Without the loop back, the same condition is fine; a new group cannot be in a loop.
    assert errors_of(condition, group_id=11, references={10: {12}, 12: set()}) == {}
    assert errors_of(condition, group_id=None, references=references) == {}


def test_find_cycle_and_dependency_order():
    references = {1: {2}, 2: {3}, 3: set(), 4: {1, 3}}
    assert s.find_cycle(3, {1}, references) == [3, 1, 2, 3]
    assert s.find_cycle(4, {1}, references) is None
    assert s.dependency_order(references) == [3, 2, 1, 4]
    # A loop (which validation prevents) still yields every group once.
    assert sorted(s.dependency_order({1: {2}, 2: {1}, 3: set()})) == [1, 2, 3]


def test_stored_references_tolerate_damaged_json():
    assert s.stored_references(one(rule("in_groups", match="any", group_ids=[3, 4]))) == {3, 4}
    assert s.stored_references({"groups": [{"rules": [{"type": "in_groups"}]}]}) == set()
    assert s.stored_references(None) == set()


def test_fold_case_is_ascii_only():
    assert s.fold_case("ÄBC Straße İ") == "Äbc straße İ"
