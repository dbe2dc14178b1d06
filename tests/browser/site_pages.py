"""Every page of the product, derived from ``app.url_map``: a seeded store whose rows fill the
URL parameters, so the accessibility and small-screen tests visit each GET route a person can
open (a new route is visited without anyone adding it to a list, or the tests fail for want of
a value for its parameter)."""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

from flask import Flask, url_for
from sqlalchemy import select

from dashboard.analytics.rollups import refresh_rollups
from dashboard.demo.views import PAGES, SITES
from dashboard.demo_data import seed_demo
from dashboard.extensions import db
from dashboard.models import (
    ActivityType,
    Channel,
    ChannelOrigin,
    Consent,
    ConsentArchive,
    Contact,
    ContactGroup,
    Role,
    User,
    utcnow,
)
from tests import factories

# Routes that answer with something other than a page for people: files, the tracking API.
NOT_PAGES = {"static", "groups.export", "contacts.export", "main.progress"}
NOT_PAGE_BLUEPRINTS = {"tracking"}

# Pages reached with a query string as well: the bulk action's confirmation (without one it shows
# the form's errors, also a page worth checking).
QUERIES = {"contacts.bulk": ("action=add_to_group&scope=filter&target_group={group_id}",)}

ADMIN_EMAIL = "admin-a11y@example.com"


@dataclass(frozen=True)
class SeededStore:
    """What the pages are filled with, and the ids their URLs name."""

    values: dict[str, list[object]]


def seed_store(live_origin: str) -> SeededStore:
    """Demo data plus one of everything a page can name: a group with a condition, a consent
    with an archived text version, an API key, a second user; demo channels accept the live
    server's origin so the demo pages' banner works there."""
    factories.user(role=Role.ADMIN, email=ADMIN_EMAIL)
    seed_demo(contacts=120, days=21)
    for code in ("corporate-site", "shop-site"):
        channel = db.session.scalars(select(Channel).where(Channel.code_name == code)).one()
        channel.origins.append(ChannelOrigin(origin=live_origin))
    consent = db.session.scalars(select(Consent).order_by(Consent.id)).first()
    db.session.add(
        ConsentArchive(
            consent_id=consent.id,
            text_hash="0" * 64,
            short_text="An earlier version of the text.",
            full_text="<p>An earlier version of the text.</p>",
            archived_at=utcnow() - timedelta(days=30),
        )
    )
    db.session.add(
        ContactGroup(
            code_name="pricing-visitors",
            display_name="Pricing visitors",
            description="Visited the pricing page.",
            condition={
                "op": "all",
                "groups": [
                    {
                        "op": "all",
                        "rules": [{"type": "country", "params": {"countries": ["DE", "US"]}}],
                    }
                ],
            },
        )
    )
    db.session.commit()
    headless = db.session.scalars(select(Channel).where(Channel.type == "headless")).first()
    if headless is not None:
        factories.api_key(headless)
    factories.user(role=Role.ANALYST, email="analyst-a11y@example.com")
    refresh_rollups()

    def ids(model, *where) -> list[object]:  # type: ignore[no-untyped-def]
        return list(db.session.scalars(select(model.id).where(*where).order_by(model.id).limit(2)))

    values: dict[str, list[object]] = {
        "channel_id": ids(Channel),
        "consent_id": ids(Consent),
        "contact_id": ids(Contact)[:1],
        "type_id": ids(ActivityType, ActivityType.is_builtin.is_(False))[:1],
        "group_id": ids(ContactGroup),
        "user_id": ids(User),
        "channel_type": ["website", "email", "headless"],
        "site": list(SITES),
        "page": list(PAGES),
    }
    archives = db.session.execute(select(ConsentArchive.id, ConsentArchive.consent_id)).all()
    values["archive_id"] = [a.id for a in archives]
    db.session.rollback()
    return SeededStore(values)


def _combinations(arguments: list[str], store: SeededStore, endpoint: str) -> Iterator[dict]:
    if not arguments:
        yield {}
        return
    first, *rest = arguments
    missing = [a for a in arguments if a not in store.values]
    assert not missing, f"{endpoint}: no seeded value for URL parameter(s) {missing}"
    for value in store.values[first]:
        for others in _combinations(rest, store, endpoint):
            yield {first: value, **others}


def page_urls(app: Flask, store: SeededStore) -> list[str]:
    """Each GET page of the dashboard and the demo website, once per seeded parameter value
    (consent archive versions only with their own consent)."""
    urls: list[str] = []
    with app.test_request_context():
        for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
            if "GET" not in rule.methods or rule.endpoint in NOT_PAGES:
                continue
            if rule.endpoint.split(".")[0] in NOT_PAGE_BLUEPRINTS or rule.rule.endswith(".csv"):
                continue
            arguments = sorted(rule.arguments - set(rule.defaults or {}))
            for args in _combinations(arguments, store, rule.endpoint):
                if "archive_id" in args and not _archive_of(args, store):
                    continue
                url = url_for(rule.endpoint, **args)
                first = {k: v[0] for k, v in store.values.items()}
                queries = [url + "?" + q.format(**first) for q in QUERIES.get(rule.endpoint, ())]
                urls.extend(u for u in (url, *queries) if u not in urls)
    return urls


def _archive_of(args: dict, store: SeededStore) -> bool:
    archive = db.session.get(ConsentArchive, args["archive_id"])
    try:
        return archive is not None and archive.consent_id == args["consent_id"]
    finally:
        db.session.rollback()


def log_in(page, base: str, email: str = ADMIN_EMAIL) -> None:  # type: ignore[no-untyped-def]
    """Log in through the login form."""
    page.goto(f"{base}/auth/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", factories.PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")
