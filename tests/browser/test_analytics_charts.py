"""A chart page in Debian's Chromium under the app's Content-Security-Policy: plotly.js draws
every figure with no CSP violation, tables collapse once drawn, visitor text stays text."""

import pytest

from dashboard.analytics.rollups import refresh_rollups
from dashboard.extensions import db
from dashboard.models import Role
from tests import factories
from tests.browser.helpers import log_in
from tests.test_rollups import NEW_YEAR, add_activity, known_store

pytestmark = pytest.mark.browser

RANGE = "range=custom&start=2025-12-31&end=2026-01-03"
XSS = "<img src=x onerror=alert(1)>"
WATCH_CSP = (
    "window.__csp = [];"
    "document.addEventListener('securitypolicyviolation',"
    " e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));"
)


def test_charts_draw_under_the_csp_and_visitor_text_stays_text(app, live_server, page):
    s = known_store()
    add_activity(s["ana"], "pagevisit", NEW_YEAR, s["web"], url="https://ex.com/x", title=XSS)
    db.session.commit()
    refresh_rollups()
    email = factories.user(role=Role.ANALYST).email
    db.session.rollback()

    page.add_init_script(WATCH_CSP)
    log_in(page, live_server, email)
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
