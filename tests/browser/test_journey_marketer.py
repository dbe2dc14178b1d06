"""A marketer's morning in Chromium: find a contact, correct her details, build a contact group
of two rules in the enhanced builder with its live preview, save, recalculate, export."""

import re

import pytest
from playwright.sync_api import expect

from dashboard.extensions import db
from dashboard.models import Role
from tests import factories
from tests.browser.helpers import (
    csv_rows,
    detail_value,
    flash_text,
    go_to,
    log_in,
    saved_download,
    user,
)

pytestmark = pytest.mark.browser


PEOPLE = (
    # first name, last name, email, company, country
    ("Ada", "Lovelace", "ada@analytical.example", "Analytical Engines", "GB"),
    ("Charles", "Babbage", "charles@analytical.example", "Difference Engines Ltd", "GB"),
    ("Grace", "Hopper", "grace@navy.example", "Difference Engines Ltd", "US"),
)


@pytest.fixture
def engineers():
    """Three people among the demo contacts; only Ada's company is not yet a builder's."""
    for first, last, email, company, country in PEOPLE:
        factories.contact(
            first_name=first, last_name=last, email=email, company=company, country=country
        )
    db.session.rollback()


def test_marketer_finds_edits_segments_and_exports(page, demo_server, engineers, tmp_path):
    log_in(page, demo_server, user(Role.MARKETER))

    # Find Ada among the demo contacts by the start of her last name.
    go_to(page, "Contacts")
    expect(page.get_by_role("heading", name="Contacts", level=1)).to_be_visible()
    page.get_by_role("searchbox", name="Search").fill("lovel")
    page.get_by_role("button", name="Apply").click()
    expect(page).to_have_url(re.compile(r"[?&]q=lovel"))
    rows = page.locator("table.contact-table tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("ada@analytical.example")
    rows.first.get_by_role("link", name="Ada Lovelace").click()

    # Her profile; she has moved to Difference Engines in London.
    expect(page.get_by_role("heading", level=1)).to_contain_text("Ada Lovelace")
    expect(detail_value(page, "Company")).to_have_text("Analytical Engines")
    page.get_by_role("link", name="Edit", exact=True).click()
    page.get_by_label("Company").fill("Difference Engines Ltd")
    page.get_by_label("City").fill("London")
    page.get_by_role("button", name="Save").click()
    assert "Saved." in flash_text(page)
    expect(detail_value(page, "Company")).to_have_text("Difference Engines Ltd")
    expect(detail_value(page, "City")).to_have_text("London")

    # A group of the company's people in Britain, built with two rules.
    go_to(page, "Groups")
    page.get_by_role("link", name="New group").click()
    page.get_by_label("Display name").fill("Difference Engines in Britain")
    page.get_by_label("Code name").fill("difference-engines-gb")
    builder = page.locator("[data-builder]")
    builder.locator("#g0-r0-field").select_option(label="Company")
    builder.locator("#g0-r0-operator").select_option(label="contains")
    builder.locator("#g0-r0-value").fill("difference engines")
    preview = page.locator("[data-preview-result]")
    expect(preview.locator(".preview-count")).to_have_text("3 contacts match now.")

    builder.locator("#g0-new").select_option(label="From countries")
    builder.get_by_role("button", name="Add rule to group 1").click()
    # The script swapped the builder in place and put the focus on the new rule.
    expect(builder.locator("#g0-r1-type")).to_be_focused()
    expect(builder.locator("#g0-r1-type")).to_have_value("country")
    builder.locator("#g0-r1-countries").fill("gb")
    expect(preview.locator(".preview-count")).to_have_text("2 contacts match now.")
    expect(preview.locator(".sample li")).to_have_count(2)
    expect(preview).to_contain_text("Ada Lovelace")
    expect(preview).to_contain_text("Charles Babbage")
    expect(preview).not_to_contain_text("Grace Hopper")

    page.get_by_role("button", name="Save", exact=True).click()
    assert "Saved Difference Engines in Britain." in flash_text(page)
    expect(page.get_by_role("heading", level=1)).to_contain_text("Difference Engines in Britain")
    condition = page.locator(".card", has=page.get_by_role("heading", name="Condition"))
    expect(condition).to_contain_text("difference engines")
    expect(condition).to_contain_text("GB")

    page.get_by_role("button", name="Recalculate").click()
    assert re.search(r"Recalculated: 2 members in", flash_text(page))
    expect(detail_value(page, "Status")).to_have_text("Up to date")
    expect(detail_value(page, "Members")).to_have_text("2 (2 by condition, 0 by hand)")
    members = page.locator("section", has=page.get_by_role("heading", name="Members"))
    member_rows = members.locator("tbody tr")
    expect(member_rows).to_have_count(2)
    expect(members).to_contain_text("Ada Lovelace")
    expect(members).to_contain_text("Charles Babbage")

    with page.expect_download() as download:
        page.get_by_role("link", name="Export CSV").click()
    assert download.value.suggested_filename == "group-difference-engines-gb.csv"
    header, *rows = csv_rows(saved_download(download.value, tmp_path))
    exported = [dict(zip(header, row, strict=True)) for row in rows]
    assert sorted(r["email"] for r in exported) == [
        "ada@analytical.example",
        "charles@analytical.example",
    ]
    assert {r["company"] for r in exported} == {"Difference Engines Ltd"}
