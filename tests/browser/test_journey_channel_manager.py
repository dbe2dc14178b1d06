"""A channel manager in Chromium lowers the shop's default cookie level from All to Essential:
sees the recorded tracked share and the estimate for Essential, saves, and the next shopper's
visit through the demo shop's snippet is counted but not tracked."""

import re

import pytest
from playwright.sync_api import expect

from dashboard.models import Role
from tests.browser.helpers import (
    detail_value,
    flash_text,
    go_to,
    log_in,
    tracked_visit,
    user,
)
from tests.tracking_helpers import BROWSER_UA

pytestmark = pytest.mark.browser


def _percent(text: str) -> float:
    return float(re.search(r"(\d+\.\d) %", text).group(1))


@pytest.fixture
def shopper(playwright_browser):
    """Opens a fresh browser (no cookies) for each visit, as a new visitor would."""
    contexts = []

    def visit(url: str):  # type: ignore[no-untyped-def]
        context = playwright_browser.new_context(user_agent=BROWSER_UA)
        contexts.append(context)
        page = context.new_page()
        return page, tracked_visit(page, url)

    yield visit
    for context in contexts:
        context.close()


def test_channel_manager_lowers_the_default_level(page, demo_server, shopper):
    shop = f"{demo_server}/demo/shop/"

    # Before the change the shop tracks everyone by default: a visitor becomes a contact.
    before, answer = shopper(shop)
    expect(before.locator(".demo-note")).to_contain_text("default cookie level: All")
    assert answer["contact"]
    assert "CurrentContact" in {c["name"] for c in before.context.cookies()}

    log_in(page, demo_server, user(Role.CHANNEL_MANAGER))
    go_to(page, "Channels")
    row = page.locator("tbody tr", has=page.get_by_role("link", name="Shop", exact=True))
    expect(row).to_contain_text("All (1000)")
    row.get_by_role("link", name="Shop").click()
    expect(detail_value(page, "Default cookie level")).to_contain_text("All (1000)")

    # The settings show what the level did over the last 30 days ...
    page.get_by_role("link", name="Change settings").click()
    impact = page.locator("section.impact")
    expect(impact).to_contain_text("were tracked")
    recorded = _percent(impact.locator("p").first.inner_text())
    assert recorded > 50  # the demo shop tracks most visitors at All

    # ... and, before anything is saved, what Essential would have done to the same hits.
    page.get_by_label("Essential (0)").check()
    page.get_by_role("button", name="Preview impact").click()
    estimate_line = impact.get_by_role("status")
    expect(estimate_line).to_contain_text("At Essential (0) an estimated")
    expect(estimate_line).to_contain_text("Nothing is saved yet.")
    estimate = _percent(estimate_line.locator(".preview-figure").inner_text())
    assert estimate < recorded
    next_to_radio = page.locator("li", has=page.get_by_label("Essential (0)")).locator(".estimate")
    assert _percent(next_to_radio.inner_text()) == estimate
    expect(page.get_by_label("Essential (0)")).to_be_checked()  # the choice survives the preview

    page.get_by_role("button", name="Save", exact=True).click()
    assert "Saved Shop." in flash_text(page)
    expect(detail_value(page, "Default cookie level")).to_contain_text("Essential (0)")
    history = page.locator("section", has=page.get_by_role("heading", name="Change history"))
    expect(history.locator("tbody tr").first).to_contain_text(
        "Default cookie level: All (1000) → Essential (0)"
    )

    # The next shopper is counted, not tracked: no contact, no contact cookie, the banner asks.
    after, answer = shopper(shop)
    expect(after.locator(".demo-note")).to_contain_text("default cookie level: Essential")
    assert answer["contact"] is None
    assert "CurrentContact" not in {c["name"] for c in after.context.cookies()}
    expect(after.get_by_role("region", name="Tracking cookies")).to_be_visible()

    # The channel's "last hits" show both visits: the first tracked, the second not.
    page.get_by_role("link", name="Install and test").click()
    hits = page.locator("#hits tbody tr")
    today = hits.first.locator("td").first.inner_text()
    visits = {
        row[2]: int(row[3])
        for row in (r.locator("td").all_inner_texts() for r in hits.all())
        if row[0] == today and row[1] == "pagevisit"
    }
    assert visits == {"Tracked": 1, "Not tracked": 1}
