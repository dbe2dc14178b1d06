"""Forms re-rendered with errors: every field has a label, and each error message is tied to its
field (aria-invalid="true" and aria-describedby naming the message), so a screen reader reads
the message when the field gets focus. Every page's forms are checked the same way by
tests/form_a11y.py; the browser test runs axe-core on some of these pages too."""

import pytest

from dashboard.models import Role
from tests import factories
from tests.form_a11y import form_problems
from tests.test_groups import builder_form, country_rule


def _contact_id() -> int:
    return factories.contact(email="ada@example.com", first_name="Ada").id


def _channel_id() -> int:
    return factories.channel("corporate-site").id


def _group_id() -> int:
    from tests.test_groups import GERMANS, saved_group

    return saved_group(condition=GERMANS).id


# (who, how to make the URL, form data that fails validation)
CASES = {
    "new user": (Role.ADMIN, lambda: "/users/new", {"email": "not-an-email", "role": "x"}),
    "contact": (
        Role.ADMIN,
        lambda: f"/contacts/{_contact_id()}/edit",
        {"email": "nope", "country": "Germany", "birthday": "soon"},
    ),
    "channel": (
        Role.ADMIN,
        lambda: f"/channels/{_channel_id()}/edit",
        {"display_name": "", "default_cookie_level": "7", "allowed_origins": "not a url"},
    ),
    "new consent": (Role.ADMIN, lambda: "/consent/new", {"code_name": "Bad Code!"}),
    "retention": (
        Role.ADMIN,
        lambda: "/consent/data-protection/retention",
        {"enabled": "y", "days": "3"},
    ),
    "activity type": (
        Role.ADMIN,
        lambda: "/contacts/activity-types/new",
        {"code_name": "no spaces allowed", "display_name": ""},
    ),
    "group builder": (
        Role.MARKETER,
        lambda: "/contacts/groups/new",
        {
            **builder_form(country_rule(countries="")),
            "code_name": "Not Valid",
            "display_name": "",
            "action": "save",
        },
    ),
    "group members": (
        Role.MARKETER,
        lambda: f"/contacts/groups/{_group_id()}/members",
        {"entries": ""},
    ),
    "demo contact form": (None, lambda: "/demo/corporate/contact", {"email": "nope"}),
}


@pytest.mark.parametrize("case", list(CASES))
def test_errors_are_tied_to_their_fields(client, login_as, case):
    who, url, data = CASES[case]
    if who is not None:
        login_as(who)
    response = client.post(url(), data=data)
    assert response.status_code == 400, response.status_code
    problems, invalid = form_problems(response.get_data(as_text=True))
    assert invalid >= 1, "the re-rendered form marks no field invalid"
    assert not problems, problems


def test_the_checker_finds_an_untied_error_and_an_unlabelled_field():
    html = """<form><input type="text" name="a" aria-invalid="true">
      <p class="error" id="b-error">Required.</p>
      <label for="c">C</label><input id="c" name="c" aria-invalid="true" aria-describedby="c-error">
      <p class="error" id="c-error">Too long.</p></form>"""
    problems, invalid = form_problems(html)
    assert invalid == 2
    assert problems == [
        "a: no label",
        "a: aria-invalid without a described error message",
        "error #b-error ('Required.') is tied to no field",
    ]
