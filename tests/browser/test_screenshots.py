"""Screenshots of the main pages at desktop and phone width, written to docs/screenshots/ on
every run (the folder is not committed; the README links the files by these stable names).

The store holds what ``make run`` loads on first run (the same number of demo contacts), plus a
contact group of two rules, so each picture shows what a newcomer will see. Each page is checked
for its heading before it is photographed, so a broken page fails the test rather than ending
up in the README.
"""

from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from dashboard.analytics.services import CHARTS
from dashboard.cli import setup_command
from dashboard.models import Role
from tests.browser.helpers import (
    Person,
    busiest_contact,
    calculated_group,
    channel_id,
    log_in,
    user,
)
from tests.tracking_helpers import BROWSER_UA

pytestmark = pytest.mark.browser

FOLDER = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
VIEWPORTS = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 375, "height": 812}}
SETUP_CONTACTS = next(p.default for p in setup_command.params if p.name == "demo_contacts")
PRICING_IN_DACH = {
    "op": "all",
    "groups": [
        {
            "op": "all",
            "rules": [
                {"type": "country", "params": {"countries": ["AT", "CH", "DE"]}},
                {"type": "visited_url", "params": {"url": "/pricing", "days": 30}},
            ],
        }
    ],
}


def _charts_drawn(page: Page) -> None:
    if page.locator("[data-figure]").count():
        expect(page.locator("[data-figure]").first).to_have_attribute("data-drawn", "true")
        expect(page.locator("[data-figure]:not([data-drawn=true])")).to_have_count(0)


def _preview_impact(page: Page) -> None:
    page.get_by_label("Essential (0)").check()
    page.get_by_role("button", name="Preview impact").click()
    expect(page.get_by_role("status")).to_contain_text("Nothing is saved yet.")


def _live_preview(page: Page) -> None:
    expect(page.locator("[data-preview-result] .preview-count")).to_contain_text("match now")


def _shots(ids: dict[str, int], person: Person) -> list[tuple[str, str, str, Callable | None]]:
    """(file name, path, the level-1 heading it must show, what to do before the picture)."""
    return [
        ("overview", "/", "Overview", _charts_drawn),
        ("contacts", "/contacts/", "Contacts", None),
        ("contact-detail", f"/contacts/{person.id}", person.name, None),
        ("groups", "/contacts/groups/", "Contact groups", None),
        ("group-builder", f"/contacts/groups/{ids['group']}/edit", "Edit ", _live_preview),
        ("group-detail", f"/contacts/groups/{ids['group']}", "Pricing visitors in DACH", None),
        ("channels", "/channels/", "Channels", None),
        ("channel-detail", f"/channels/{ids['shop']}", "Shop", None),
        ("channel-impact", f"/channels/{ids['shop']}/edit", "Shop", _preview_impact),
        ("channel-install", f"/channels/{ids['shop']}/install", "Shop", None),
        ("consent", "/consent/", "Consent definitions", None),
        ("analytics", "/analytics/", "Analytics", None),
        *(
            (f"analytics-{slug}", f"/analytics/{slug}", spec.title, _charts_drawn)
            for slug, spec in CHARTS.items()
        ),
        ("privacy", f"/consent/data-protection/?q={person.email}", "Data protection", None),
        ("users", "/users/", "Users", None),
        ("audit", "/audit/", "Audit log", None),
    ]


@pytest.fixture
def full_store(demo_server) -> dict:
    """Ids of the pages that show one thing: a busy contact, a group, the shop channel."""
    group = calculated_group(
        "pricing-dach",
        "Pricing visitors in DACH",
        PRICING_IN_DACH,
        "Contacts from Germany, Austria or Switzerland who looked at the prices.",
    )
    ids = {"group": group, "shop": channel_id("shop-site")}
    return {"ids": ids, "person": busiest_contact()}


def _photograph(page: Page, name: str, width: str) -> Path:
    path = FOLDER / f"{name}-{width}.png"
    page.screenshot(path=path, full_page=True, animations="disabled")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    return path


@pytest.mark.parametrize("demo_server", [SETUP_CONTACTS], indirect=True)
def test_screenshots_of_the_main_pages(playwright_browser, demo_server, full_store):
    FOLDER.mkdir(parents=True, exist_ok=True)
    admin = user(Role.ADMIN)
    written = []
    for width, viewport in VIEWPORTS.items():
        context = playwright_browser.new_context(user_agent=BROWSER_UA, viewport=viewport)
        try:
            page = context.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda exc, errors=errors: errors.append(str(exc)))

            page.goto(f"{demo_server}/auth/login")
            expect(page.get_by_role("heading", name="Log in", level=1)).to_be_visible()
            written.append(_photograph(page, "login", width))
            log_in(page, demo_server, admin)
            for name, path, heading, prepare in _shots(full_store["ids"], full_store["person"]):
                page.goto(demo_server + path)
                expect(page.get_by_role("heading", level=1)).to_contain_text(heading)
                if prepare:
                    prepare(page)
                written.append(_photograph(page, name, width))

            # The demo website as a first-time visitor sees it: with the consent banner.
            visitor = context.browser.new_context(user_agent=BROWSER_UA, viewport=viewport)
            try:
                site = visitor.new_page()
                site.goto(f"{demo_server}/demo/")
                expect(site.get_by_role("region", name="Tracking cookies")).to_be_visible()
                written.append(_photograph(site, "demo", width))
            finally:
                visitor.close()
            assert not errors, f"JavaScript errors at {width} width: {errors}"
        finally:
            context.close()
    assert len({p.name for p in written}) == len(written)
