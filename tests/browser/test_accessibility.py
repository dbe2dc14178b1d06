"""Every page passes axe-core with no serious or critical violation: the dashboard's pages
(each GET route of app.url_map, logged in as an admin, with its URL parameters filled from a
seeded store), the login page, the demo website's pages with the consent banner open, forms
re-rendered with their errors, and the phone layout with its menu open."""

import pytest

from tests.browser.axe import axe_source, blocking, describe, run_axe
from tests.browser.site_pages import log_in, page_urls, seed_store

pytestmark = pytest.mark.browser


class Audit:
    """Runs axe on each page state and keeps what it found."""

    def __init__(self, page, source: str) -> None:  # type: ignore[no-untyped-def]
        self.page, self.source = page, source
        self.checked = 0
        self.failures: list[str] = []
        self.minor: set[str] = set()

    def check(self, label: str) -> None:
        self.page.wait_for_load_state("networkidle")
        violations = run_axe(self.page, self.source)
        self.checked += 1
        found = blocking(violations)
        if found:
            self.failures.append(describe(label, found))
        self.minor.update(f"{v['id']} ({v['impact']})" for v in violations if v not in found)


def test_every_page_has_no_serious_or_critical_violation(app, page, live_server):
    audit = Audit(page, axe_source())
    urls = page_urls(app, seed_store(live_server))
    demo = [u for u in urls if u.startswith("/demo/")]
    dashboard = [u for u in urls if not u.startswith(("/demo/", "/auth/"))]
    assert len(dashboard) > 40 and len(demo) >= 8, urls

    # The demo website as a first-time visitor sees it: the consent banner is open.
    for url in demo:
        page.context.clear_cookies()
        page.goto(live_server + url)
        page.get_by_role("button", name="Agree").wait_for()
        audit.check(url + " (consent banner open)")

    page.goto(f"{live_server}/auth/login")
    audit.check("/auth/login")
    page.fill("input[name=email]", "nobody@example.com")
    page.click("button[type=submit]")
    audit.check("/auth/login (failed)")

    log_in(page, live_server)
    for url in dashboard:
        response = page.goto(live_server + url)
        assert response is not None and response.status in (200, 400), (url, response.status)
        audit.check(url)

    # Forms re-rendered with their errors.
    page.goto(f"{live_server}/users/new")
    page.fill("input[name=email]", "not-an-email")
    page.get_by_role("button", name="Create user").click()
    page.wait_for_selector("[aria-invalid=true]")
    audit.check("/users/new (errors)")
    page.goto(f"{live_server}/contacts/groups/new")
    page.get_by_role("button", name="Save", exact=True).click()
    page.wait_for_selector("[aria-invalid=true]")
    audit.check("/contacts/groups/new (errors)")

    # The phone layout with its menu open.
    page.set_viewport_size({"width": 375, "height": 812})
    page.goto(f"{live_server}/")
    page.get_by_role("button", name="Menu").click()
    audit.check("/ (375 px, menu open)")

    print(  # the figures of the report
        f"axe-core checked {audit.checked} page states; serious or critical: "
        f"{len(audit.failures)}; moderate or minor rules seen: {sorted(audit.minor) or 'none'}"
    )
    assert not audit.failures, "\n\n".join(audit.failures)
