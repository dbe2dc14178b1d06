"""A chart page in Debian's Chromium under the app's Content-Security-Policy: plotly.js draws
every figure with no CSP violation, tables collapse once drawn, visitor text stays text."""

import os
import threading
from pathlib import Path

import pytest

from dashboard.analytics.rollups import refresh_rollups
from dashboard.extensions import db
from dashboard.models import Role
from tests import factories
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, live_server  # noqa: F401
from tests.test_rollups import NEW_YEAR, add_activity, known_store

pytestmark = pytest.mark.browser

RANGE = "range=custom&start=2025-12-31&end=2026-01-03"
XSS = "<img src=x onerror=alert(1)>"
WATCH_CSP = (
    "window.__csp = [];"
    "document.addEventListener('securitypolicyviolation',"
    " e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));"
)


def _in_browser(check) -> None:  # type: ignore[no-untyped-def]
    """Run ``check(page)`` in Chromium on a thread of its own.

    The browser tests under tests/browser/ keep a session-wide sync Playwright running on the main
    thread; a second one may only start on another thread.
    """
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing: .ci/run must install Debian's chromium")
        pytest.skip(f"{CHROMIUM} not installed")
    failures: list[BaseException] = []

    def run() -> None:
        from playwright.sync_api import sync_playwright

        try:
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                try:
                    page = browser.new_page(viewport={"width": 1280, "height": 900})
                    errors: list[str] = []
                    page.on("pageerror", lambda exc: errors.append(str(exc)))
                    check(page)
                    assert not errors, f"JavaScript errors on the page: {errors}"
                finally:
                    browser.close()
        except BaseException as exc:  # handed to the test's thread
            failures.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    if failures:
        raise failures[0]


def test_charts_draw_under_the_csp_and_visitor_text_stays_text(app, live_server):  # noqa: F811
    s = known_store()
    add_activity(s["ana"], "pagevisit", NEW_YEAR, s["web"], url="https://ex.com/x", title=XSS)
    db.session.commit()
    refresh_rollups()
    user = factories.user(role=Role.ANALYST)
    email = user.email
    db.session.rollback()

    def check(page) -> None:  # type: ignore[no-untyped-def]
        page.add_init_script(WATCH_CSP)
        page.goto(f"{live_server}/auth/login")
        page.fill("input[name=email]", email)
        page.fill("input[name=password]", factories.PASSWORD)
        page.click("button[type=submit]")
        for slug in ("activity", "coverage", "consent", "pages", "overlap", "funnel"):
            page.goto(f"{live_server}/analytics/{slug}?{RANGE}")
            page.wait_for_selector("[data-drawn=true]")
            drawn = page.locator("[data-figure]")
            assert page.locator("[data-drawn=true]").count() == drawn.count(), slug
            assert page.locator(".main-svg").count() >= drawn.count()
            assert page.evaluate("window.__csp") == [], slug
            assert page.locator("details.data-table[open]").count() == 0  # collapsed once drawn
        page.goto(f"{live_server}/analytics/pages?{RANGE}")
        page.wait_for_selector("[data-drawn=true]")
        labels = page.locator("#panel-pages-figure .ytick text").all_text_contents()
        assert any("<img src=x" in label for label in labels), labels
        assert page.evaluate("document.querySelectorAll('img[src=x]').length") == 0

    _in_browser(check)
