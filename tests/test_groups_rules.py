"""Each rule of the catalogue (domain.md section 7) compiled to SQL and run on the store.

Covers negation, time windows at their edges, "all of" vs "any of" and NULL-safe text rules.
The helpers are shared with the property test (tests/test_segments_property.py).
"""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from dashboard.domain import segments as s
from dashboard.extensions import db
from dashboard.groups import compiler
from dashboard.groups.compiler import matching_contacts
from dashboard.groups.services import load_catalogue
from dashboard.models import (
    Activity,
    ActivityType,
    AgreementAction,
    Channel,
    Consent,
    ConsentAgreement,
    Contact,
    ContactGroup,
    ContactGroupMember,
)
from tests import factories

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)
TICK = timedelta(microseconds=1)


def type_ids() -> dict[str, int]:
    """Activity type ids by code name (the migration seeds the built-in ones)."""
    return dict(db.session.execute(select(ActivityType.code_name, ActivityType.id)).all())


def add_activity(
    contact: Contact,
    code: str = "pagevisit",
    at: datetime = NOW - DAY,
    *,
    channel: Channel | None = None,
    url: str | None = None,
    value: str | None = None,
) -> None:
    """Record an activity of ``contact`` at ``at`` (committed)."""
    db.session.add(
        Activity(
            contact_id=contact.id,
            type_id=type_ids()[code],
            channel_id=channel.id if channel else None,
            url=url,
            value=value,
            created_at=at,
        )
    )
    db.session.commit()


def add_group(code: str, *, members: dict[int, tuple[bool, bool]] | None = None) -> ContactGroup:
    """A static group with members {contact_id: (by_condition, manual)}."""
    group = ContactGroup(code_name=code, display_name=code.title())
    db.session.add(group)
    db.session.flush()
    for contact_id, (by_condition, manual) in (members or {}).items():
        db.session.add(
            ContactGroupMember(
                group_id=group.id, contact_id=contact_id, by_condition=by_condition, manual=manual
            )
        )
    db.session.commit()
    return group


def rule(rule_type: str, negate: bool = False, **params: object) -> dict:
    """A rule as the JSON condition holds it."""
    return {"type": rule_type, "negate": negate, "params": params}


def tree(*groups: list[dict], op: str = "all", group_op: str = "all") -> dict:
    """A condition of rule groups, each a list of rules."""
    return {"op": op, "groups": [{"op": group_op, "rules": list(g)} for g in groups]}


def validated(condition: dict) -> s.Condition:
    """The condition validated against the store's catalogue (fails the test when invalid)."""
    checked = s.validate_condition(condition, load_catalogue())
    assert checked.errors == {}, checked.errors
    assert checked.condition is not None
    return checked.condition


def members(condition: dict, now: datetime = NOW) -> set[int]:
    """Ids of the contacts the compiled condition matches."""
    query = matching_contacts(validated(condition), now=now)
    return set(db.session.scalars(query))


def matches(*rules: dict, now: datetime = NOW, group_op: str = "all") -> set[int]:
    """Members of a condition with one rule group of ``rules``."""
    return members(tree(list(rules), group_op=group_op), now)


def both(rule_dict: dict) -> tuple[set[int], set[int]]:
    """Members of the rule and of its negation."""
    negated = {**rule_dict, "negate": True}
    return matches(rule_dict), matches(negated)


def contact(**fields: object) -> Contact:
    """Create a contact created a year before NOW unless told otherwise."""
    fields.setdefault("created_at", NOW - 365 * DAY)
    return factories.contact(**fields)


def all_ids() -> set[int]:
    return set(db.session.scalars(select(Contact.id)))


def assert_partition(rule_dict: dict, expected: set[int]) -> None:
    """The rule matches exactly ``expected``, and its negation exactly everyone else."""
    positive, negative = both(rule_dict)
    assert positive == expected
    assert negative == all_ids() - expected


def test_every_catalogue_rule_has_a_compiler():
    assert set(compiler._RULES) == set(s.RULES)


# --- Contact fields ----------------------------------------------------------------------------


@pytest.fixture
def people(app):
    return {
        "ann": contact(email="ann@example.com", first_name="Ann", company="ACME 100% Ltd"),
        "bob": contact(email="bob@example.org", first_name="Bob", company="Acme_Corp"),
        "anon": contact(),
        "ada": contact(email="ada@example.com", first_name="Ädä", company=""),
    }


@pytest.mark.parametrize(
    ("field", "operator", "value", "expected"),
    [
        ("email", "contains", "EXAMPLE.COM", {"ann", "ada"}),
        ("email", "not_contains", "example.com", {"bob", "anon"}),
        ("email", "starts_with", "a", {"ann", "ada"}),
        ("email", "ends_with", ".org", {"bob"}),
        ("email", "equals", "Bob@Example.org", {"bob"}),
        ("email", "not_equals", "bob@example.org", {"ann", "anon", "ada"}),
        ("email", "is_empty", "", {"anon"}),
        ("company", "is_empty", "", {"anon", "ada"}),
        # LIKE wildcards typed by the user are literal characters.
        ("company", "contains", "100%", {"ann"}),
        ("company", "contains", "e_c", {"bob"}),
        ("company", "contains", "%", {"ann"}),
        ("company", "contains", "_", {"bob"}),
        # ASCII letters ignore case; other letters are compared as typed (same on both engines).
        ("first_name", "equals", "ANN", {"ann"}),
        ("first_name", "equals", "ädä", set()),
        ("first_name", "equals", "Ädä", {"ada"}),
    ],
)
def test_contact_field_operators(people, field, operator, value, expected):
    found = matches(rule("contact_field", field=field, operator=operator, value=value))
    assert found == {people[k].id for k in expected}


def test_contact_field_negation_is_the_complement_even_for_empty_fields(people):
    """NULL fields must not fall out of both a rule and its negation (two-valued logic)."""
    for operator in ("contains", "not_contains", "equals", "is_empty", "ends_with"):
        r = rule("contact_field", field="company", operator=operator, value="acme")
        positive, negative = both(r)
        assert positive | negative == all_ids(), operator
        assert not positive & negative, operator


def test_identified_and_countries(app):
    de = contact(email="de@example.com", country="DE")
    at = contact(country="AT")
    nowhere = contact(email="")
    assert_partition(rule("identified"), {de.id})
    assert_partition(rule("country", countries=["DE", "CH"]), {de.id})
    assert_partition(rule("country", countries="at, de"), {de.id, at.id})
    assert nowhere.id in matches(rule("country", True, countries=["DE"]))


# --- Activities and time windows ---------------------------------------------------------------


def test_any_activity_window_edges(app):
    edge = contact()
    outside = contact()
    never = contact()
    add_activity(edge, at=NOW - 30 * DAY)  # exactly 30 days ago: inside "the last 30 days"
    add_activity(outside, at=NOW - 30 * DAY - TICK)
    assert_partition(rule("any_activity", days=30), {edge.id})
    assert never.id in matches(rule("any_activity", True, days=30))


def test_activity_types_any_of_versus_all_of(app):
    visit_only = contact()
    both_types = contact()
    old_form = contact()
    add_activity(visit_only, "pagevisit")
    add_activity(both_types, "pagevisit")
    add_activity(both_types, "bizformsubmit", at=NOW - 2 * DAY)
    add_activity(old_form, "pagevisit")
    add_activity(old_form, "bizformsubmit", at=NOW - 10 * DAY - TICK)
    ids = type_ids()
    types = [ids["pagevisit"], ids["bizformsubmit"]]
    any_of = rule("activity_types", match="any", type_ids=types, days=10)
    all_of = rule("activity_types", match="all", type_ids=types, days=10)
    assert_partition(any_of, {visit_only.id, both_types.id, old_form.id})
    assert_partition(all_of, {both_types.id})


def test_activity_count_threshold_and_window(app):
    three = contact()
    two_in_window = contact()
    other_type = contact()
    for days in (1, 5, 7):
        add_activity(three, at=NOW - days * DAY)
    add_activity(three, "click", at=NOW - DAY)
    add_activity(two_in_window, at=NOW - DAY)
    add_activity(two_in_window, at=NOW - 7 * DAY)
    add_activity(two_in_window, at=NOW - 7 * DAY - TICK)
    for _ in range(3):
        add_activity(other_type, "click")
    visit = type_ids()["pagevisit"]
    assert_partition(rule("activity_count", type_id=visit, times=3, days=7), {three.id})
    assert_partition(
        rule("activity_count", type_id=visit, times=2, days=7), {three.id, two_in_window.id}
    )
    assert_partition(
        rule("activity_count", type_id=visit, times=1, days=30), {three.id, two_in_window.id}
    )


def test_activity_value_with_and_without_type(app):
    pricing_click = contact()
    pricing_form = contact()
    add_activity(pricing_click, "click", value="See PRICING plans")
    add_activity(pricing_form, "bizformsubmit", value="pricing-request")
    click = type_ids()["click"]
    assert_partition(
        rule("activity_value", type_id=click, operator="contains", value="pricing", days=30),
        {pricing_click.id},
    )
    assert_partition(
        rule("activity_value", type_id=None, operator="starts_with", value="pricing", days=30),
        {pricing_form.id},
    )
    assert_partition(
        rule("activity_value", type_id="", operator="equals", value="PRICING-REQUEST", days=30),
        {pricing_form.id},
    )


def test_visited_url_landing_page_and_form(app):
    visitor = contact()
    lander = contact()
    former = contact()
    add_activity(visitor, "pagevisit", url="https://www.example.com/Pricing?x=1")
    add_activity(lander, "landingpage", url="https://www.example.com/pricing", at=NOW - 400 * DAY)
    add_activity(former, "bizformsubmit", value="contact-us", at=NOW - 3 * DAY)
    assert_partition(rule("visited_url", url="/pricing", days=30), {visitor.id})
    # The landing page rule looks at any time unless days are given.
    assert_partition(rule("landing_page", url="pricing", days=None), {lander.id})
    assert_partition(rule("landing_page", url="pricing", days=30), set())
    assert_partition(rule("form_submitted", form="Contact-Us", days=3), {former.id})
    assert_partition(rule("form_submitted", form="contact-us", days=2), set())


def test_channel_active(app):
    site = factories.channel("corporate-site")
    shop = factories.channel("shop-site")
    on_site = contact()
    on_shop = contact()
    add_activity(on_site, channel=site, at=NOW - 14 * DAY)
    add_activity(on_shop, channel=shop)
    assert_partition(rule("channel_active", channel_id=site.id, days=14), {on_site.id})
    assert_partition(rule("channel_active", channel_id=site.id, days=13), set())


def test_inactive_uses_last_activity_or_created(app):
    edge = contact(last_activity_at=NOW - 30 * DAY)  # active exactly 30 days ago: not inactive
    idle = contact(last_activity_at=NOW - 30 * DAY - TICK)
    new_quiet = contact(created_at=NOW - 5 * DAY)
    old_quiet = contact(created_at=NOW - 31 * DAY)
    assert_partition(rule("inactive", days=30), {idle.id, old_quiet.id})
    assert edge.id not in matches(rule("inactive", days=30))
    assert new_quiet.id in matches(rule("inactive", True, days=30))


# --- Consent (R14) and other groups --------------------------------------------------------------


def test_consent_agreed_follows_the_newest_row(app):
    tracking = factories.consent("tracking-consent")
    email = factories.consent("email-consent", "Email tracking.")
    agreed = contact()
    revoked = contact()
    agreed_again = contact()
    other_consent = contact()
    never = contact()
    factories.agreement(agreed, tracking)
    factories.agreement(revoked, tracking)
    factories.agreement(revoked, tracking, "revoke")
    factories.agreement(agreed_again, tracking, "revoke")
    factories.agreement(agreed_again, tracking)
    factories.agreement(other_consent, email)
    factories.agreement(other_consent, tracking, "revoke")
    assert_partition(rule("consent_agreed", consent_id=tracking.id), {agreed.id, agreed_again.id})
    assert never.id in matches(rule("consent_agreed", True, consent_id=tracking.id))


def test_consent_newest_is_by_row_order_not_clock(app):
    """Rows are appended; the log's order (id) decides, as has_current_agreement does."""
    tracking = factories.consent()
    person = contact()
    db.session.add_all(
        [
            ConsentAgreement(
                contact_id=person.id,
                consent_id=tracking.id,
                action=AgreementAction.AGREE,
                text_hash=tracking.text_hash,
                created_at=NOW,
            ),
            ConsentAgreement(
                contact_id=person.id,
                consent_id=tracking.id,
                action=AgreementAction.REVOKE,
                text_hash=tracking.text_hash,
                created_at=NOW - DAY,
            ),
        ]
    )
    db.session.commit()
    assert matches(rule("consent_agreed", consent_id=tracking.id)) == set()


def test_in_groups_any_of_versus_all_of(app):
    a, b, c = contact(), contact(), contact()
    vip = add_group("vip", members={a.id: (True, False), b.id: (False, True)})
    news = add_group("news", members={b.id: (True, True), c.id: (True, False)})
    assert_partition(
        rule("in_groups", match="any", group_ids=[vip.id, news.id]), {a.id, b.id, c.id}
    )
    assert_partition(rule("in_groups", match="all", group_ids=[vip.id, news.id]), {b.id})


# --- Combining ---------------------------------------------------------------------------------


def test_group_and_top_level_combinators(app):
    de_active = contact(country="DE")
    de_quiet = contact(country="DE")
    fr_active = contact(country="FR")
    add_activity(de_active)
    add_activity(fr_active)
    german = rule("country", countries=["DE"])
    active = rule("any_activity", days=7)
    assert matches(german, active) == {de_active.id}
    assert matches(german, active, group_op="any") == {de_active.id, de_quiet.id, fr_active.id}
    assert members(tree([german], [active], op="all")) == {de_active.id}
    assert members(tree([german], [active], op="any")) == {de_active.id, de_quiet.id, fr_active.id}
    assert members(tree([{**german, "negate": True}, active])) == {fr_active.id}


def test_empty_condition_matches_nobody(app):
    contact()
    assert set(db.session.scalars(matching_contacts(s.Condition(), now=NOW))) == set()


def test_deleted_references_match_nothing(app):
    """A stored rule naming a consent or group that was deleted compiles and matches nobody."""
    person = contact()
    stored = {"groups": [{"rules": [rule("consent_agreed", consent_id=999)]}]}
    query = matching_contacts(s.condition_from_json(stored), now=NOW)
    assert set(db.session.scalars(query)) == set()
    negated = {"groups": [{"rules": [rule("in_groups", True, match="any", group_ids=[999])]}]}
    query = matching_contacts(s.condition_from_json(negated), now=NOW)
    assert set(db.session.scalars(query)) == {person.id}


def test_text_rules_fold_ascii_only_on_both_engines(app):
    """SQLite's LIKE folds ASCII itself; PostgreSQL lowers under the "C" collation (ASCII only)."""
    from sqlalchemy.dialects import postgresql, sqlite

    expression = compiler.ascii_like(Contact.email, "%x%")
    assert str(expression.compile(dialect=sqlite.dialect())) == ("contact.email LIKE ? ESCAPE '/'")
    assert str(expression.compile(dialect=postgresql.dialect())).startswith(
        'lower((contact.email) COLLATE "C") LIKE %(ascii_like_1)s'
    )
    assert compiler.like_pattern("contains", "A_b%c/") == "%a/_b/%c//%"
    assert Consent  # the models import stays used by the helpers above


def test_sqlite_index_hint_prefers_the_covering_index_once_declared():
    declared = {"ix_activity_contact_created", "ix_activity_type_created"}
    assert compiler.activity_index(True, declared) == "INDEXED BY ix_activity_contact_created"
    declared.add(compiler.ACTIVITY_OF_TYPE_BY_CONTACT)
    assert compiler.activity_index(True, declared) == (
        "INDEXED BY ix_activity_contact_type_created"
    )
    assert compiler.activity_index(False, declared) == "INDEXED BY ix_activity_contact_created"
