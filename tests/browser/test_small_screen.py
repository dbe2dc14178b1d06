"""Every page at a 375 x 812 phone screen: nothing makes the page itself scroll sideways (wide
tables scroll inside their own box, which keyboard users can focus to scroll), and the
navigation folds behind a Menu button that opens by keyboard."""

import pytest

from dashboard.models import Role
from tests.browser.keys import active, named, tab_to
from tests.browser.site_pages import log_in, page_urls, seed_store
from tests.factories import user

pytestmark = pytest.mark.browser

PHONE = {"width": 375, "height": 812}

# The elements that stick out past the right edge of the screen, outside any scroll container:
# named in the failure so the culprit is obvious.
WIDER_THAN_SCREEN = """() => {
  const width = window.innerWidth, found = [];
  const scrolls = el => {
    for (let p = el.parentElement; p; p = p.parentElement) {
      if (["auto", "scroll", "hidden"].includes(getComputedStyle(p).overflowX)) return true;
    }
    return false;
  };
  const name = el => el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") +
    (typeof el.className === "string" && el.className.trim()
      ? "." + el.className.trim().split(/\\s+/).join(".") : "");
  for (const el of document.body.querySelectorAll("*")) {
    const r = el.getBoundingClientRect();
    if (r.width && r.right > width + 0.5 && !scrolls(el)) {
      found.push(name(el) + " right=" + Math.round(r.right));
    }
  }
  return found.slice(0, 8);
}"""


# Boxes that scroll sideways but cannot take the keyboard focus (nor hold anything that can):
# keyboard users could not scroll them (axe-core's scrollable-region-focusable).
UNREACHABLE_SCROLLERS = """() => [...document.body.querySelectorAll("*")].filter(el => {
  if (!["auto", "scroll"].includes(getComputedStyle(el).overflowX)) return false;
  if (el.scrollWidth <= el.clientWidth + 1) return false;
  const focusable = "a[href], button, input, select, textarea, summary, [tabindex]";
  return el.tabIndex < 0 && !el.querySelector(focusable);
}).map(el => el.className || el.tagName)"""


def _overflow(page) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    return tuple(page.evaluate("[document.scrollingElement.scrollWidth, window.innerWidth]"))


def test_no_page_scrolls_sideways_on_a_phone(app, browser_context, live_server):
    store = seed_store(live_server)
    urls = page_urls(app, store)
    page = browser_context.new_page()
    page.set_viewport_size(PHONE)
    failures: list[str] = []

    def check(url: str) -> None:
        page.wait_for_load_state("networkidle")
        scroll_width, width = _overflow(page)
        if scroll_width > width:
            culprits = ", ".join(page.evaluate(WIDER_THAN_SCREEN))
            failures.append(
                f"{url}: page is {scroll_width}px wide on a {width}px screen ({culprits})"
            )
        stuck = page.evaluate(UNREACHABLE_SCROLLERS)
        if stuck:
            failures.append(f"{url}: scrolls sideways but takes no keyboard focus: {stuck}")

    for url in [u for u in urls if u.startswith(("/demo/", "/auth/"))]:
        page.goto(live_server + url)
        check(url)
    log_in(page, live_server)
    dashboard = [u for u in urls if not u.startswith(("/demo/", "/auth/"))]
    assert len(dashboard) > 40
    for url in dashboard:
        page.goto(live_server + url)
        check(url)
    assert not failures, "\n".join(failures)


def test_menu_folds_behind_a_button_on_a_phone(app, browser_context, live_server):
    user(role=Role.ADMIN, email="phone@example.com")
    page = browser_context.new_page()
    log_in(page, live_server, "phone@example.com")
    contacts = page.get_by_role("navigation", name="Main").get_by_role("link", name="Contacts")
    assert contacts.is_visible()  # a desktop window shows the menu, with no button
    assert not page.get_by_role("button", name="Menu").is_visible()

    page.set_viewport_size(PHONE)
    menu = page.get_by_role("button", name="Menu")
    menu.wait_for()
    assert not contacts.is_visible()
    assert menu.get_attribute("aria-expanded") == "false"
    page.evaluate("document.activeElement.blur()")
    tab_to(page, named("Menu"), limit=5)
    page.keyboard.press("Enter")
    assert menu.get_attribute("aria-expanded") == "true"
    tab_to(page, named("Contacts"), limit=5)
    page.keyboard.press("Escape")
    assert not contacts.is_visible()
    assert active(page)["label"] == "Menu"
    page.keyboard.press("Space")
    tab_to(page, named("Contacts"), limit=5)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{live_server}/contacts/")
