"""The snippet on a page of another origin: the consent banner decides what is stored."""

import time

import pytest
from sqlalchemy import func, select

from dashboard.extensions import db
from dashboard.models import Activity, AgreementAction, ConsentAgreement, Contact
from tests import factories

pytestmark = pytest.mark.browser

PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<script async src="{dashboard}/t/v1/tracker.js" data-channel="partner-site"
        data-banner="true"></script>
</head><body><h1>{title}</h1><a href="{next}">next</a></body></html>"""


def _count(model, *where) -> int:
    """Count in a transaction of its own: an open SQLite read would hold up the server's writes."""
    try:
        return db.session.scalar(select(func.count()).select_from(model).where(*where))
    finally:
        db.session.rollback()


def _eventually(check, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.1)


def _cookies(context) -> dict[str, str]:
    return {c["name"]: c["value"] for c in context.cookies()}


@pytest.fixture
def partner(live_server, other_origin):
    origin, root = other_origin
    consent = factories.consent(short="Partner uses tracking cookies to improve the site.")
    factories.channel("partner-site", level=0, consent=consent, origins=(origin,))
    for name, nxt in (("one", "two"), ("two", "one")):
        (root / f"{name}.html").write_text(
            PAGE.format(title=f"Page {name}", dashboard=live_server, next=f"{nxt}.html")
        )
    return origin


def test_decline_then_agree_then_revoke(page, browser_context, partner):
    page.goto(f"{partner}/one.html")
    banner = page.get_by_role("region", name="Tracking consent")
    banner.wait_for()
    agree = banner.get_by_role("button", name="Agree")
    decline = banner.get_by_role("button", name="Decline")
    assert agree.is_visible() and decline.is_visible()
    assert agree.evaluate("e => e === document.activeElement")  # keyboard users start on it

    # Decline: the visitor lowers to Essential; nothing personal is stored.
    decline.press("Enter")
    assert banner.count() == 0
    assert _eventually(lambda: _cookies(browser_context).get("CMSCookieLevel") == "0")
    assert "CurrentContact" not in _cookies(browser_context)
    page.goto(f"{partner}/two.html")
    time.sleep(1.0)
    assert _count(Contact) == 0 and _count(Activity) == 0

    # Change of mind through the visible link: Agree creates the contact and tracks visits.
    page.get_by_role("button", name="Privacy choices").click()
    page.get_by_role("region", name="Tracking consent").get_by_role("button", name="Agree").click()
    assert _eventually(lambda: "CurrentContact" in _cookies(browser_context))
    assert _cookies(browser_context)["CMSCookieLevel"] == "1000"
    assert _count(ConsentAgreement, ConsentAgreement.action == AgreementAction.AGREE) == 1
    page.goto(f"{partner}/one.html")
    visits_one = (Activity.url == f"{partner}/one.html", Activity.type.has(code_name="pagevisit"))
    assert _eventually(lambda: _count(Activity, *visits_one) == 1)
    guid = _cookies(browser_context)["CurrentContact"]
    assert str(db.session.scalar(select(Contact.guid))) == guid
    db.session.rollback()
    assert _count(Contact) == 1

    # Revoke: cookies cleared, tracking stops, the contact and its data stay.
    page.evaluate("() => new Promise(done => window.kxt('consentrevoke', {}, done))")
    assert _eventually(lambda: "CurrentContact" not in _cookies(browser_context))
    stored = _count(Activity)
    page.goto(f"{partner}/two.html")
    time.sleep(1.0)
    assert _count(Activity) == stored
    assert _count(ConsentAgreement, ConsentAgreement.action == AgreementAction.REVOKE) == 1
    assert _count(Contact) == 1
