"""Keyboard only (Tab, Shift+Tab, Enter, Space, arrow keys): the demo website's consent banner
and the segment builder work without a mouse, and the focused control is always visibly marked.

Elements are reached by pressing Tab, never by ``focus()`` or clicks, so a control that cannot be
reached by keyboard fails the test."""

import re

import pytest
from sqlalchemy import select

from dashboard.extensions import db
from dashboard.models import Channel, ChannelOrigin, ContactGroup, Role
from tests import factories
from tests.browser.keys import active, named, tab_to
from tests.browser.site_pages import log_in

pytestmark = pytest.mark.browser

PREVIEW_SAYS_TWO = (
    "() => document.querySelector('[data-preview-result]').textContent.includes('2 contacts match')"
)


def _cookie(context, name: str) -> str | None:  # type: ignore[no-untyped-def]
    return next((c["value"] for c in context.cookies() if c["name"] == name), None)


@pytest.fixture
def demo_site(live_server):
    """The demo website's channels, accepting the live server's origin."""
    from dashboard.demo_data import seed_demo

    seed_demo(contacts=5, days=2)
    for code in ("corporate-site", "shop-site"):
        channel = db.session.scalars(select(Channel).where(Channel.code_name == code)).one()
        channel.origins.append(ChannelOrigin(origin=live_server))
    db.session.commit()
    return live_server


def test_consent_banner_by_keyboard(page, browser_context, demo_site):
    page.goto(f"{demo_site}/demo/")
    agree_button = page.get_by_role("button", name="Agree")
    banner = page.get_by_role("region").filter(has=agree_button)
    banner.wait_for()
    agree = banner.get_by_role("button", name="Agree")
    decline = banner.get_by_role("button", name="Decline")

    # Equal choices: same size and look, side by side; Agree has the focus, Decline is one Tab on.
    looks = (
        "e => { const s = getComputedStyle(e); return [s.fontSize, s.fontWeight, s.padding,"
        " s.color, s.backgroundColor, s.borderTopWidth, s.borderTopColor,"
        " Math.round(e.getBoundingClientRect().height)]; }"
    )
    assert agree.evaluate(looks) == decline.evaluate(looks)
    assert abs(agree.bounding_box()["width"] - decline.bounding_box()["width"]) <= 2
    assert active(page)["label"] == "Agree"
    assert tab_to(page, named("Decline"), limit=1)

    # Both are reachable from the page's own content too (Tab from the top wraps round to them).
    page.evaluate("document.activeElement.blur()")
    assert tab_to(page, named("Agree"))
    assert tab_to(page, named("Decline"), limit=1)

    page.keyboard.press("Enter")  # Decline
    banner.wait_for(state="detached")
    assert _cookie(browser_context, "CMSCookieLevel") == "0"
    # Focus is not lost with the banner: it moves to the button that reopens it.
    assert active(page)["label"] == "Privacy choices"
    assert active(page)["visible"]

    page.keyboard.press("Space")  # reopen
    banner.wait_for()
    assert active(page)["label"] == "Agree"
    page.keyboard.press("Space")  # Agree
    banner.wait_for(state="detached")
    page.wait_for_function("() => document.cookie.includes('CMSCookieLevel=1000')")
    assert _cookie(browser_context, "CurrentContact")  # tracked now, as agreed


def _select_by_keyboard(page, option_label: str) -> None:  # type: ignore[no-untyped-def]
    """With a <select> focused, move through its options with the arrow keys to ``option_label``
    (a closed select changes its value on ArrowDown/ArrowUp, firing change)."""
    labels = page.evaluate("[...document.activeElement.options].map(o => o.label)")
    index = page.evaluate("document.activeElement.selectedIndex")
    target = labels.index(option_label)
    key = "ArrowDown" if target > index else "ArrowUp"
    for _ in range(abs(target - index)):
        page.keyboard.press(key)


def test_segment_builder_by_keyboard(app, page, live_server):
    factories.user(role=Role.MARKETER, email="keys@example.com")
    for n, country in enumerate(("DE", "DE", "FR")):
        factories.contact(email=f"k{n}@example.com", country=country)
    log_in(page, live_server, "keys@example.com")
    page.goto(f"{live_server}/contacts/groups/new")

    tab_to(page, lambda f: f["name"] == "display_name")
    page.keyboard.type("Germans by keyboard")
    page.keyboard.press("Tab")
    page.keyboard.type("germans-keys")

    # The starting rule: move its type to "From countries" with the arrow keys (passing other
    # types on the way: nothing re-renders under the person while they choose), then Tab on:
    # the builder shows the type's fields and the focus stays where the Tab took it.
    tab_to(page, lambda f: f["name"] == "g0-r0-type")
    _select_by_keyboard(page, "From countries")
    assert page.locator("input[name=g0-r0-countries]").count() == 0
    page.keyboard.press("Tab")
    page.wait_for_selector("input[name=g0-r0-countries]")
    assert active(page)["name"] == "g0-r0-negate"

    tab_to(page, lambda f: f["name"] == "g0-r0-countries")
    page.keyboard.type("DE")
    # The live preview counts the two German contacts.
    page.wait_for_function(PREVIEW_SAYS_TWO)

    # Add a second rule to the group: choose its type, press Add rule; focus lands on it.
    tab_to(page, lambda f: f["name"] == "g0-new")
    _select_by_keyboard(page, "From countries")
    tab_to(page, lambda f: f["label"].startswith("Add rule"), limit=2)
    page.keyboard.press("Enter")
    page.wait_for_selector("select[name=g0-r1-type]")
    assert active(page)["name"] == "g0-r1-type"

    # Remove it again with Space on its Remove button; the builder has one rule left.
    tab_to(page, lambda f: f["label"] == "Remove rule 2 of group 1")
    page.keyboard.press("Space")
    page.wait_for_selector("select[name=g0-r1-type]", state="detached")
    assert page.locator("li.rule").count() == 1
    assert active(page) is not None  # focus stays in the builder, not lost to the page

    # Preview and save by keyboard.
    tab_to(page, named("Preview"))
    page.keyboard.press("Enter")
    page.wait_for_function(PREVIEW_SAYS_TWO)
    tab_to(page, named("Save"))
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/contacts/groups/\d+$"))
    db.session.rollback()
    group = db.session.scalars(
        select(ContactGroup).where(ContactGroup.code_name == "germans-keys")
    ).one()
    rules = group.condition["groups"][0]["rules"]
    assert [(r["type"], r["params"]) for r in rules] == [("country", {"countries": ["DE"]})]
