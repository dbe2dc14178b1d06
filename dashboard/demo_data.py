"""Deterministic, realistic demo data, written with set-based bulk inserts.

``seed_demo(contacts=N, days=D, seed=S)`` creates the demo's reference rows when they are absent
(two consents, the custom activity type ``filedownload``, four channels) and then fills an empty
store with N contacts, about ten activities each, consent agreements and anonymous hit counters.

Determinism: every random choice comes from one ``random.Random(seed)`` consumed in a fixed order,
and every timestamp is an offset from a fixed *anchor*: by default the current UTC day at
midnight (or the ``anchor`` argument). The data covers the D whole days before the anchor, so
identical runs on the same UTC day produce identical rows; pass ``anchor`` to reproduce a run on
any day (the weekly rhythm depends on the weekdays the window covers). Reference rows are stamped
with the window's start so that no channel looks younger than its own activities.

Speed (``--contacts 1000000 --days 90`` writes ~10M activities):

* rows are generated contact by contact in bounded batches and written in executemany chunks
  (SQLite) or with ``COPY ... FROM STDIN`` (PostgreSQL), never as ORM objects; for large stores
  a forked child process generates while this one writes, sending activities compactly as
  (payload id, contact id, second) triples that this process turns back into rows;
* values are pre-formatted for the engine (timestamps as text, UUIDs as hex) and rows are grouped
  by which columns are non-NULL, because binding ``None`` is slow in Python's sqlite3 module;
* the secondary indexes of ``contact``, ``activity`` and ``consent_agreement`` (and on PostgreSQL
  their foreign keys, checked there by a trigger per row) are dropped while the empty tables are
  loaded and rebuilt afterwards: a sort and one validating join are far cheaper than millions of
  random B-tree inserts and per-row checks. An interrupted run leaves them missing; the next call
  of ``seed_demo`` rebuilds them before doing anything else;
* contact ids are assigned here (after the current maximum) so activities reference them without
  a round trip; other ids come from the database.

Every batch is committed inside ``write_intent()`` so SQLite takes its write lock up front. The
store must not be written by anyone else while it is being seeded.
"""

import json
import multiprocessing
import random
import sys
import threading
import time
import traceback
import unicodedata
from array import array
from bisect import bisect
from collections.abc import Callable, Iterator
from contextlib import closing, suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import accumulate
from multiprocessing.connection import Connection
from urllib.parse import urlencode

from sqlalchemy import ForeignKeyConstraint, Index, Table, func, insert, inspect, select, text
from sqlalchemy.orm import Session
from sqlalchemy.schema import AddConstraint, DropConstraint

from .database import write_intent
from .domain.consent import consent_text_hash
from .domain.cookie_levels import CookieLevel
from .extensions import db
from .models import (
    Activity,
    ActivityType,
    AgreementAction,
    Channel,
    ChannelOrigin,
    ChannelType,
    Consent,
    ConsentAgreement,
    Contact,
    ContactStatus,
    HitCounter,
)
from .models.hits import NO_CLAIM

__all__ = [
    "CHANNELS",
    "CONSENTS",
    "CUSTOM_ACTIVITY_TYPES",
    "DemoDataError",
    "seed_demo",
]

Progress = Callable[[str], None]

# Activities per committed batch; the rows of one batch are written in a few executemany/COPY calls.
BATCH_ACTIVITIES = 50_000
PROGRESS_EVERY_SECONDS = 2.0

SITE = "http://localhost:5000"
DEMO_ORIGINS = ("http://localhost:5000", "http://127.0.0.1:5000")

IDENTIFIED_SHARE = 0.35


class DemoDataError(RuntimeError):
    """The store cannot be seeded (it already holds contacts, or reference rows are missing)."""


# --- Reference rows ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ConsentSpec:
    """A consent definition the demo needs."""

    code_name: str
    display_name: str
    short_text: str
    full_text: str


@dataclass(frozen=True)
class ChannelSpec:
    """A demo channel; ``default_cookie_level`` None keeps the column default."""

    code_name: str
    display_name: str
    type: ChannelType
    default_cookie_level: int | None
    tracking_consent: str | None
    origins: tuple[str, ...]


CONSENTS: tuple[ConsentSpec, ...] = (
    ConsentSpec(
        "tracking-consent",
        "Tracking cookies",
        "We would like to use cookies to learn how you use this site and to show you content "
        "that matters to you. You can change your mind at any time.",
        "<p>With your consent we store a cookie that identifies your browser and we record the "
        "pages you visit, the links you click and the forms you fill in on this site.</p>"
        "<ul><li>We use this to improve the site and to personalise what we show you.</li>"
        "<li>We never sell the data and never share it with advertisers.</li>"
        "<li>You can withdraw your consent at any time; we then stop tracking you.</li></ul>",
    ),
    ConsentSpec(
        "email-tracking-consent",
        "Email tracking",
        "We would like to know which links in our emails you open, so that we send you less of "
        "what you do not read.",
        "<p>With your consent the links in our newsletters carry a personal code that records "
        "which link you clicked and when.</p>"
        "<p>You can withdraw your consent at any time from the link at the bottom of every "
        "email.</p>",
    ),
)

CHANNELS: tuple[ChannelSpec, ...] = (
    ChannelSpec(
        "corporate-site",
        "Corporate site",
        ChannelType.WEBSITE,
        int(CookieLevel.ESSENTIAL),
        "tracking-consent",
        DEMO_ORIGINS,
    ),
    ChannelSpec(
        "shop-site",
        "Shop",
        ChannelType.WEBSITE,
        int(CookieLevel.ALL),
        "tracking-consent",
        DEMO_ORIGINS,
    ),
    ChannelSpec("newsletter", "Newsletter", ChannelType.EMAIL, None, "email-tracking-consent", ()),
    ChannelSpec(
        "mobile-app", "Mobile app", ChannelType.HEADLESS, int(CookieLevel.VISITOR), None, ()
    ),
)

CUSTOM_ACTIVITY_TYPES: tuple[tuple[str, str, str], ...] = (
    ("filedownload", "File download", "A visitor downloaded a file."),
)

BUILTIN_TYPES = (
    "pagevisit",
    "landingpage",
    "click",
    "datainput",
    "bizformsubmit",
    "emailclick",
    "memberregistration",
)
ACTIVITY_TYPES = (*BUILTIN_TYPES, "filedownload")

# Channel indexes in the generator; R9 is the pseudo-channel of legitimate-interest form
# submissions (stored without a channel, counted as untracked hits of the corporate site).
CORP, SHOP, NEWSLETTER, MOBILE, R9 = range(5)

# --- What the demo visitors see ----------------------------------------------------------------


@dataclass(frozen=True)
class Page:
    """A page (or app screen) with its title, popularity, clickable labels and files."""

    url: str
    title: str
    weight: float
    clicks: tuple[str, ...] = ()
    files: tuple[str, ...] = ()


CORPORATE_PAGES: tuple[Page, ...] = (
    Page(f"{SITE}/demo/", "Home", 30, ("Request a demo", "Start free trial", "Watch video")),
    Page(
        f"{SITE}/demo/pricing",
        "Pricing",
        14,
        ("Compare plans", "Start free trial", "Contact sales"),
        ("price-list.pdf",),
    ),
    Page(
        f"{SITE}/demo/features",
        "Features",
        10,
        ("Watch video", "See integrations"),
        ("product-brochure.pdf",),
    ),
    Page(f"{SITE}/demo/integrations", "Integrations", 5, ("View all integrations",)),
    Page(f"{SITE}/demo/customers", "Customers", 5, ("Read the story",)),
    Page(
        f"{SITE}/demo/customers/northwind",
        "Case study: Northwind Traders",
        3,
        (),
        ("case-study-northwind.pdf",),
    ),
    Page(f"{SITE}/demo/blog", "Blog", 6, ("Subscribe",)),
    Page(
        f"{SITE}/demo/blog/consent-first-analytics",
        "Consent-first analytics in five steps",
        5,
        ("Subscribe", "Share"),
        ("whitepaper-consent-first-analytics.pdf",),
    ),
    Page(
        f"{SITE}/demo/blog/segments-that-work",
        "Contact segments that actually work",
        4,
        ("Subscribe", "Share"),
    ),
    Page(
        f"{SITE}/demo/resources",
        "Resources",
        4,
        (),
        ("whitepaper-consent-first-analytics.pdf", "product-brochure.pdf", "datasheet.pdf"),
    ),
    Page(f"{SITE}/demo/about", "About us", 3, ("Careers",)),
    Page(f"{SITE}/demo/careers", "Careers", 2, ("Apply now",)),
    Page(f"{SITE}/demo/contact", "Contact us", 4, ("Call us", "Send message")),
    Page(f"{SITE}/demo/demo-request", "Request a demo", 3),
    Page(f"{SITE}/demo/privacy", "Privacy policy", 1),
)
SHOP_PAGES: tuple[Page, ...] = (
    Page(f"{SITE}/demo/shop/", "Shop", 25, ("Shop now", "View offers")),
    Page(
        f"{SITE}/demo/shop/products/starter-kit",
        "Starter kit",
        12,
        ("Add to cart",),
        ("starter-kit-manual.pdf",),
    ),
    Page(f"{SITE}/demo/shop/products/pro-bundle", "Pro bundle", 10, ("Add to cart", "Compare")),
    Page(f"{SITE}/demo/shop/products/gift-card", "Gift card", 5, ("Add to cart",)),
    Page(f"{SITE}/demo/shop/offers", "Offers", 8, ("Add to cart",)),
    Page(f"{SITE}/demo/shop/cart", "Cart", 8, ("Checkout", "Remove item")),
    Page(f"{SITE}/demo/shop/checkout", "Checkout", 4, ("Place order",)),
    Page(f"{SITE}/demo/shop/account", "My account", 3, ("Order history",)),
    Page(f"{SITE}/demo/shop/register", "Create an account", 2),
)
MOBILE_SCREENS: tuple[Page, ...] = (
    Page("demoapp://home", "Home", 30, ("Enable notifications",)),
    Page("demoapp://catalogue", "Catalogue", 20, ("Filter",)),
    Page("demoapp://products/starter-kit", "Starter kit", 12, ("Add to cart",)),
    Page("demoapp://products/pro-bundle", "Pro bundle", 8, ("Add to cart",)),
    Page("demoapp://cart", "Cart", 10, ("Checkout",)),
    Page("demoapp://orders", "My orders", 8, ("Reorder",)),
    Page("demoapp://settings", "Settings", 3),
)
SITE_PAGES = {CORP: CORPORATE_PAGES, SHOP: SHOP_PAGES, MOBILE: MOBILE_SCREENS}

# Page indexes the generator navigates to on purpose.
CORP_PRICING, CORP_BLOG, CORP_DEMO_REQUEST = 1, 6, 13
SHOP_HOME, SHOP_REGISTER = 0, 8

# Where website visits come from: search engines and other sites (referrer only), paid and social
# campaigns (referrer and utm_* values: source, medium, campaign, content).
ORGANIC_REFERRERS = (
    "https://www.google.com/",
    "https://www.google.com/",
    "https://www.google.com/",
    "https://www.bing.com/",
    "https://duckduckgo.com/",
    "https://news.ycombinator.com/",
    "https://www.reddit.com/",
)
PAID_UTM = (("google", "cpc", "brand", None), ("google", "cpc", "competitors", None))
SOCIAL_UTM = (
    ("linkedin", "social", "launch", "carousel"),
    ("linkedin", "social", "launch", "video"),
)
SOURCE_REFERRERS = {"google": "https://www.google.com/", "linkedin": "https://www.linkedin.com/"}

# Newsletter issues: (utm campaign, subject, site, landing page index).
CAMPAIGNS: tuple[tuple[str, str, int, int], ...] = (
    ("spring", "Spring news: consent-first analytics", CORP, CORP_PRICING),
    ("product-update", "What is new in the product", CORP, 2),
    ("case-study", "How Northwind doubled its sign-ups", CORP, 5),
    ("summer-sale", "Summer sale: 20% off the Pro bundle", SHOP, 4),
)

FORMS = {
    "newsletter-signup": "Newsletter sign-up",
    "price-calculator": "Price calculator",
    "demo-request": "Request a demo",
    "contact-us": "Contact us",
}

# --- People ------------------------------------------------------------------------------------

# country: (weight, calling code, cities, first names as (name, sex), last names as (m, f))
COUNTRIES: dict[str, tuple] = {
    "US": (
        20,
        "1",
        ("New York", "Chicago", "Austin", "Seattle", "Boston", "Denver"),
        (("James", "m"), ("Mary", "f"), ("Michael", "m"), ("Jennifer", "f"), ("David", "m"),
         ("Linda", "f"), ("Robert", "m"), ("Sarah", "f"), ("Daniel", "m"), ("Emily", "f")),
        ("Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Wilson"),
    ),
    "GB": (
        12,
        "44",
        ("London", "Manchester", "Bristol", "Edinburgh", "Leeds"),
        (("Oliver", "m"), ("Amelia", "f"), ("George", "m"), ("Isla", "f"), ("Harry", "m"),
         ("Olivia", "f"), ("Jack", "m"), ("Emily", "f")),
        ("Taylor", "Evans", "Thomas", "Roberts", "Walker", "Wright", "Thompson", "O'Brien"),
    ),
    "DE": (
        14,
        "49",
        ("Berlin", "Munich", "Hamburg", "Cologne", "Frankfurt"),
        (("Lukas", "m"), ("Anna", "f"), ("Jonas", "m"), ("Lea", "f"), ("Felix", "m"),
         ("Hannah", "f"), ("Maximilian", "m"), ("Sophie", "f")),
        ("Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker"),
    ),
    "FR": (
        9,
        "33",
        ("Paris", "Lyon", "Toulouse", "Nantes", "Lille"),
        (("Lucas", "m"), ("Chloé", "f"), ("Hugo", "m"), ("Léa", "f"), ("Louis", "m"),
         ("Manon", "f"), ("Gabriel", "m"), ("Camille", "f")),
        ("Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand"),
    ),
    "NL": (
        6,
        "31",
        ("Amsterdam", "Rotterdam", "Utrecht", "Eindhoven"),
        (("Daan", "m"), ("Emma", "f"), ("Sem", "m"), ("Julia", "f"), ("Lars", "m"),
         ("Tess", "f"), ("Bram", "m"), ("Sanne", "f")),
        ("de Jong", "Jansen", "de Vries", "van den Berg", "Bakker", "Visser", "Smit", "Meijer"),
    ),
    "ES": (
        6,
        "34",
        ("Madrid", "Barcelona", "Valencia", "Seville"),
        (("Hugo", "m"), ("Lucía", "f"), ("Martín", "m"), ("Sofía", "f"), ("Pablo", "m"),
         ("María", "f"), ("Alejandro", "m"), ("Paula", "f")),
        ("García", "Fernández", "González", "Rodríguez", "López", "Martínez", "Sánchez", "Pérez"),
    ),
    "IT": (
        6,
        "39",
        ("Milan", "Rome", "Turin", "Bologna"),
        (("Leonardo", "m"), ("Sofia", "f"), ("Francesco", "m"), ("Giulia", "f"),
         ("Alessandro", "m"), ("Aurora", "f"), ("Lorenzo", "m"), ("Ginevra", "f")),
        ("Rossi", "Russo", "Ferrari", "Esposito", "Bianchi", "Romano", "Colombo", "Ricci"),
    ),
    "SE": (
        4,
        "46",
        ("Stockholm", "Gothenburg", "Malmö", "Uppsala"),
        (("William", "m"), ("Alice", "f"), ("Liam", "m"), ("Maja", "f"), ("Noah", "m"),
         ("Elsa", "f"), ("Hugo", "m"), ("Astrid", "f")),
        ("Andersson", "Johansson", "Karlsson", "Nilsson", "Eriksson", "Larsson", "Olsson"),
    ),
    "PL": (
        5,
        "48",
        ("Warsaw", "Kraków", "Wrocław", "Gdańsk"),
        (("Jakub", "m"), ("Zuzanna", "f"), ("Antoni", "m"), ("Julia", "f"), ("Jan", "m"),
         ("Zofia", "f"), ("Szymon", "m"), ("Hanna", "f")),
        (("Nowak", "Nowak"), ("Kowalski", "Kowalska"), ("Wiśniewski", "Wiśniewska"),
         ("Wójcik", "Wójcik"), ("Kamiński", "Kamińska"), ("Lewandowski", "Lewandowska"),
         ("Zieliński", "Zielińska")),
    ),
    "CZ": (
        5,
        "420",
        ("Prague", "Brno", "Ostrava", "Plzeň"),
        (("Jakub", "m"), ("Eliška", "f"), ("Jan", "m"), ("Tereza", "f"), ("Tomáš", "m"),
         ("Anna", "f"), ("Matyáš", "m"), ("Adéla", "f")),
        (("Novák", "Nováková"), ("Svoboda", "Svobodová"), ("Novotný", "Novotná"),
         ("Dvořák", "Dvořáková"), ("Černý", "Černá"), ("Procházka", "Procházková"),
         ("Kučera", "Kučerová")),
    ),
    "CA": (
        7,
        "1",
        ("Toronto", "Montreal", "Vancouver", "Calgary"),
        (("Liam", "m"), ("Olivia", "f"), ("Noah", "m"), ("Emma", "f"), ("Benjamin", "m"),
         ("Charlotte", "f"), ("Lucas", "m"), ("Chloé", "f")),
        ("Tremblay", "Gagnon", "Roy", "Côté", "Smith", "Brown", "Martin", "Lee"),
    ),
    "AU": (
        6,
        "61",
        ("Sydney", "Melbourne", "Brisbane", "Perth"),
        (("Oliver", "m"), ("Charlotte", "f"), ("Jack", "m"), ("Amelia", "f"), ("William", "m"),
         ("Isla", "f"), ("Noah", "m"), ("Mia", "f")),
        ("Smith", "Jones", "Williams", "Brown", "Wilson", "Taylor", "Nguyen", "White"),
    ),
}  # fmt: skip

COMPANIES = (
    "Northwind Traders", "Contoso", "Fabrikam", "Adventure Works", "Tailspin Toys",
    "Wide World Importers", "Litware", "Proseware", "Lucerne Publishing", "Trey Research",
    "Woodgrove Bank", "Alpine Ski House", "Blue Yonder Airlines", "Coho Winery",
    "Consolidated Messenger", "Fourth Coffee", "Humongous Insurance", "Lamna Healthcare",
    "Relecloud", "VanArsdel", "Wingtip Toys", "Graphic Design Institute", "City Power & Light",
    "Margie's Travel",
)  # fmt: skip
JOB_TITLES = (
    "Marketing Manager", "Head of Marketing", "Chief Marketing Officer", "Content Strategist",
    "Digital Marketing Specialist", "Web Developer", "CTO", "Product Manager", "Sales Director",
    "Account Executive", "Data Analyst", "E-commerce Manager", "Founder", "Operations Manager",
    "Customer Success Manager", "Designer", "IT Administrator", "Procurement Officer",
)  # fmt: skip
EMAIL_TLDS = ("com", "org", "net")
# (status code, cumulative share among identified contacts); the rest have no status.
STATUS_SHARES = (("lead", 0.45), ("prospect", 0.65), ("customer", 0.80), ("inactive", 0.85))

# Weekly rhythm (Monday first) and daytime hours (UTC).
WEEKDAY_WEIGHTS = (1.0, 1.05, 1.05, 1.0, 0.9, 0.45, 0.4)
HOUR_WEIGHTS = (
    0.15, 0.1, 0.08, 0.08, 0.1, 0.2, 0.45, 0.8, 1.1, 1.3, 1.35, 1.3,
    1.1, 1.25, 1.3, 1.25, 1.1, 0.9, 0.75, 0.7, 0.65, 0.55, 0.4, 0.25,
)  # fmt: skip

# Untracked hits per tracked hit on the website channels (corporate-site defaults to Essential,
# so most of its visitors are not tracked; shop-site defaults to All).
UNTRACKED_PER_TRACKED = {
    "pagevisit": (2.4, 0.12),
    "landingpage": (2.4, 0.12),
    "click": (1.6, 0.1),
    "filedownload": (1.3, 0.08),
    "datainput": (1.0, 0.05),
}
_ALL, _ESSENTIAL, _SYSTEM, _NONE = (
    int(CookieLevel.ALL),
    int(CookieLevel.ESSENTIAL),
    int(CookieLevel.SYSTEM),
    int(CookieLevel.NONE),
)
# How a channel's tracked and untracked hits split by the R1 inputs a counter keeps:
# (claimed level, has agreement, gpc, share); the first entry takes the rounding remainder.
# Every split replays to its outcome under R1 with the channel's default level.
HIT_INPUTS: dict[int, tuple[tuple[tuple[int, bool, bool, float], ...], ...]] = {
    CORP: (
        ((_ALL, True, False, 0.93), (_ALL, True, True, 0.07)),
        (
            (NO_CLAIM, False, False, 0.55),
            (_ESSENTIAL, False, False, 0.30),
            (NO_CLAIM, False, True, 0.08),
            (_ALL, False, False, 0.04),
            (_SYSTEM, False, False, 0.03),
        ),
    ),
    SHOP: (
        ((NO_CLAIM, False, False, 0.70), (_ALL, False, False, 0.20), (_ALL, True, False, 0.10)),
        (
            (_ESSENTIAL, False, False, 0.50),
            (NO_CLAIM, False, True, 0.35),
            (_SYSTEM, False, False, 0.10),
            (_NONE, False, False, 0.05),
        ),
    ),
    NEWSLETTER: (((_ALL, True, False, 1.0),), ()),
    MOBILE: (((NO_CLAIM, False, False, 1.0),), ()),
}

ACTIVITY_OPTIONAL = (
    "channel_id",
    "title",
    "value",
    "url",
    "referrer",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_content",
    "data",
)

# --- Public entry point -----------------------------------------------------------------------


def seed_demo(
    *,
    contacts: int,
    days: int,
    seed: int = 42,
    progress: Progress = lambda m: None,
    anchor: datetime | None = None,
) -> dict[str, int]:
    """Fill an empty store with deterministic demo data; return the rows inserted per kind.

    ``anchor`` (aware, default: today 00:00 UTC) is the end of the D-day window. Raises
    ``DemoDataError`` when the store already holds contacts. Commits the session per batch, so
    call it with no pending changes of your own.
    """
    if contacts < 1 or days < 1:
        raise ValueError("contacts and days must be at least 1")
    anchor = _anchor(anchor)
    start = anchor - timedelta(days=days)
    session = db.session
    # End any read transaction of the caller: a SQLite writer cannot commit while it is open.
    session.commit()
    with write_intent():
        _restore_constraints(session, progress)
        existing = session.scalar(select(func.count()).select_from(Contact))
        if existing:
            raise DemoDataError(
                f"The store already holds {existing:,} contacts; demo data is only loaded into "
                "an empty store (delete the contacts or use a fresh database)."
            )
        counts = _ensure_reference_rows(session, start)
        session.commit()
        refs = _load_references(session)
        first_id = (session.scalar(select(func.max(Contact.id))) or 0) + 1
        _drop_constraints(session)
        try:
            counts.update(
                _load_bulk(session, refs, contacts, days, seed, start, first_id, progress)
            )
        except BaseException:
            session.rollback()
            _restore_constraints(session, progress)
            raise
        _restore_constraints(session, progress)
        _finish(session, progress)
    return counts


def _anchor(anchor: datetime | None) -> datetime:
    if anchor is None:
        return datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    if anchor.tzinfo is None:
        raise ValueError("anchor must be timezone-aware")
    return anchor.astimezone(UTC)


# --- Reference rows ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _References:
    type_ids: dict[str, int]
    type_names: dict[str, str]
    channel_ids: dict[str, int]
    consent_ids: dict[str, int]
    consent_hashes: dict[str, str]
    status_ids: dict[str, int]


def _ensure_reference_rows(session: Session, start: datetime) -> dict[str, int]:
    """Create the demo's consents, custom activity type and channels when absent."""
    counts = {"consents": 0, "activity_types": 0, "channels": 0}
    consents = {c.code_name: c for c in session.scalars(select(Consent))}
    for spec in CONSENTS:
        if spec.code_name not in consents:
            consent = Consent(
                code_name=spec.code_name,
                display_name=spec.display_name,
                short_text=spec.short_text,
                full_text=spec.full_text,
                text_hash=consent_text_hash(spec.short_text, spec.full_text),
                created_at=start,
                updated_at=start,
            )
            session.add(consent)
            consents[spec.code_name] = consent
            counts["consents"] += 1
    type_codes = set(session.scalars(select(ActivityType.code_name)))
    missing = [c for c in BUILTIN_TYPES if c not in type_codes]
    if missing:
        raise DemoDataError(f"built-in activity types missing (run init-db): {missing}")
    for code, name, description in CUSTOM_ACTIVITY_TYPES:
        if code not in type_codes:
            session.add(
                ActivityType(
                    code_name=code,
                    display_name=name,
                    description=description,
                    is_builtin=False,
                    enabled=True,
                )
            )
            counts["activity_types"] += 1
    channel_codes = set(session.scalars(select(Channel.code_name)))
    for spec in CHANNELS:
        if spec.code_name in channel_codes:
            continue
        channel = Channel(
            code_name=spec.code_name,
            display_name=spec.display_name,
            type=spec.type,
            tracking_consent=consents[spec.tracking_consent] if spec.tracking_consent else None,
            origins=[ChannelOrigin(origin=o) for o in spec.origins],
            created_at=start,
            updated_at=start,
        )
        if spec.default_cookie_level is not None:
            channel.default_cookie_level = spec.default_cookie_level
        session.add(channel)
        counts["channels"] += 1
    session.flush()
    return counts


def _load_references(session: Session) -> _References:
    types = session.execute(
        select(ActivityType.code_name, ActivityType.id, ActivityType.display_name)
    ).all()
    consents = session.execute(select(Consent.code_name, Consent.id, Consent.text_hash)).all()
    return _References(
        type_ids={code: id_ for code, id_, _ in types},
        type_names={code: name for code, _, name in types},
        channel_ids=dict(session.execute(select(Channel.code_name, Channel.id)).all()),
        consent_ids={code: id_ for code, id_, _ in consents},
        consent_hashes={code: h for code, _, h in consents},
        status_ids=dict(session.execute(select(ContactStatus.code_name, ContactStatus.id)).all()),
    )


# --- Indexes and foreign keys of the bulk-loaded tables -----------------------------------------


def _bulk_tables() -> list[Table]:
    return [Contact.__table__, Activity.__table__, ConsentAgreement.__table__]  # type: ignore[list-item]


def _bulk_indexes() -> list[Index]:
    return [
        ix for table in _bulk_tables() for ix in sorted(table.indexes, key=lambda i: str(i.name))
    ]


def _bulk_foreign_keys() -> list[ForeignKeyConstraint]:
    return [
        fk
        for table in _bulk_tables()
        for fk in sorted(table.foreign_key_constraints, key=lambda c: str(c.name))
    ]


def _existing(session: Session) -> set[tuple[str, str]]:
    """(table, name) of the indexes and foreign keys the bulk tables have in the database."""
    inspector = inspect(session.connection())
    names = [table.name for table in _bulk_tables()]
    found = set()
    for reflected in (
        inspector.get_multi_indexes(filter_names=names),
        inspector.get_multi_foreign_keys(filter_names=names),
    ):
        for (_, table_name), items in reflected.items():
            found |= {(table_name, item["name"]) for item in items}
    return found


def _deferrable(dialect: str) -> list[Index | ForeignKeyConstraint]:
    # PostgreSQL checks foreign keys with a trigger per row, several times slower than COPY
    # itself; SQLite cannot drop a constraint (its checks are cheap there anyway).
    foreign_keys = _bulk_foreign_keys() if dialect == "postgresql" else []
    return [*_bulk_indexes(), *foreign_keys]


def _drop_constraints(session: Session) -> None:
    """Drop the secondary indexes (and on PostgreSQL the foreign keys) of the empty bulk tables.

    ``_restore_constraints`` puts them back; a sort-based build and one validating join are far
    cheaper than maintaining them row by row during the load.
    """
    conn = session.connection()
    existing = _existing(session)
    for item in _deferrable(conn.dialect.name):
        if (item.table.name, item.name) in existing:  # type: ignore[union-attr]
            if isinstance(item, Index):
                item.drop(conn)
            else:
                conn.execute(DropConstraint(item))
    session.commit()


def _restore_constraints(session: Session, progress: Progress) -> None:
    """Create every missing secondary index (and PostgreSQL foreign key) of the bulk tables."""
    dialect = session.connection().dialect.name
    existing = _existing(session)
    missing = [
        item
        for item in _deferrable(dialect)
        if (item.table.name, item.name) not in existing  # type: ignore[union-attr]
    ]
    if not missing:
        session.commit()
        return
    conn = session.connection()
    if dialect == "postgresql":
        conn.execute(text("SET LOCAL maintenance_work_mem = '256MB'"))
    began = time.perf_counter()
    for item in missing:
        started = time.perf_counter()
        if isinstance(item, Index):
            item.create(conn)
        else:
            conn.execute(AddConstraint(item))
        if time.perf_counter() - started >= 1.0:
            progress(f"{item.name} built in {time.perf_counter() - started:.1f}s")
    session.commit()
    progress(f"rebuilt {len(missing)} indexes and keys in {time.perf_counter() - began:.1f}s")


def _finish(session: Session, progress: Progress) -> None:
    """PostgreSQL: move the contact id sequence past the ids given here, refresh statistics."""
    conn = session.connection()
    if conn.dialect.name != "postgresql":
        return
    conn.execute(
        text(
            "SELECT setval(pg_get_serial_sequence('contact', 'id'), (SELECT max(id) FROM contact))"
        )
    )
    session.commit()
    started = time.perf_counter()
    conn = session.connection()
    conn.execute(text("ANALYZE contact, activity, consent_agreement, hit_counter"))
    session.commit()
    progress(f"analyzed in {time.perf_counter() - started:.1f}s")


# --- Writers ------------------------------------------------------------------------------------


class _Writer:
    """Writes pre-formatted rows of one column shape to a table, the fastest way per engine."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.dialect = session.get_bind().dialect
        if self.dialect.name not in ("sqlite", "postgresql"):
            raise DemoDataError(
                f"demo data supports SQLite and PostgreSQL, not {self.dialect.name}"
            )
        self._statements: dict[tuple[str, tuple[str, ...]], str] = {}

    def write(self, table: Table, columns: tuple[str, ...], rows: list[tuple]) -> None:
        if not rows:
            return
        conn = self.session.connection()
        if self.dialect.name == "postgresql":
            quote = self.dialect.identifier_preparer.quote
            sql = f"COPY {quote(table.name)} ({', '.join(quote(c) for c in columns)}) FROM STDIN"
            with conn.connection.dbapi_connection.cursor() as cursor, cursor.copy(sql) as copy:  # type: ignore[union-attr]
                write_row = copy.write_row
                for row in rows:
                    write_row(row)
            return
        key = (table.name, columns)
        statement = self._statements.get(key)
        if statement is None:
            # Identifiers come from the models and are quoted by the dialect; values are bound.
            quote = self.dialect.identifier_preparer.quote
            statement = self._statements[key] = (
                f"INSERT INTO {quote(table.name)} ({', '.join(quote(c) for c in columns)}) "  # noqa: S608
                f"VALUES ({', '.join('?' * len(columns))})"
            )
        conn.exec_driver_sql(statement, rows)


# --- The generator ------------------------------------------------------------------------------


def _ascii_slug(name: str) -> str:
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    return "".join(ch for ch in folded.lower() if ch.isalnum())


def _utm_url(url: str, utm: tuple[str | None, ...]) -> str:
    """``url`` with the non-empty utm_source/medium/campaign/content values as its query."""
    names = ("utm_source", "utm_medium", "utm_campaign", "utm_content")
    query = {name: value for name, value in zip(names, utm, strict=True) if value}
    return f"{url}?{urlencode(query)}" if query else url


def _timestamp_parts(days: int, start: datetime, postgres: bool) -> tuple[list[str], list[str]]:
    """Text of each day ("YYYY-MM-DD ") and of each second of a day, as UTCDateTime stores them.

    A timestamp ``t`` seconds after ``start`` is ``day[t // 86400] + second[t % 86400]``: naive
    UTC with microseconds on SQLite (SQLAlchemy's storage format), with an offset on PostgreSQL.
    """
    suffix = "+00" if postgres else ".000000"
    first_day = start.date()
    day = [(first_day + timedelta(days=i)).isoformat() + " " for i in range(days)]
    second = [
        f"{h:02d}:{m:02d}:{s:02d}{suffix}" for h in range(24) for m in range(60) for s in range(60)
    ]
    return day, second


def _cumulative(weights: tuple[float, ...] | list[float]) -> list[float]:
    return list(accumulate(weights))


PICK_SLOTS = 4096


def _pick_table(weights: tuple[float, ...] | list[float]) -> list[int]:
    """Indexes repeated in proportion to ``weights``: ``table[int(random() * len(table))]``
    picks one with a single lookup (the hot loops pick millions of pages and hours)."""
    cum = _cumulative(weights)
    return [
        min(bisect(cum, (i + 0.5) * cum[-1] / PICK_SLOTS), len(cum) - 1) for i in range(PICK_SLOTS)
    ]


@dataclass
class _Person:
    first_name: str
    last_name: str
    email: str
    company: str | None
    job_title: str | None
    city: str
    country: str
    business_phone: str | None
    status_id: int | None


class _Generator:
    """Generates contacts with their activities and agreements into bounded per-shape buffers."""

    def __init__(
        self, refs: _References, *, days: int, seed: int, start: datetime, postgres: bool
    ) -> None:
        self.rng = random.Random(seed)  # noqa: S311 - demo data, not security
        self.refs = refs
        self.days = days
        self.end = days * 86400  # seconds after ``start``; every event is before it
        self.day_prefix, self.sod = _timestamp_parts(days, start, postgres)
        first_day = start.date()
        self.first_day = first_day
        self.start_ms = int(start.timestamp()) * 1000
        self.cum_day = _cumulative(
            [WEEKDAY_WEIGHTS[(first_day + timedelta(days=i)).weekday()] for i in range(days)]
        )
        self.hour_table = _pick_table(HOUR_WEIGHTS)
        self.channel_ids = [
            refs.channel_ids["corporate-site"],
            refs.channel_ids["shop-site"],
            refs.channel_ids["newsletter"],
            refs.channel_ids["mobile-app"],
            None,
        ]
        self.type_index = {code: i for i, code in enumerate(ACTIVITY_TYPES)}
        # Tracked hits per (channel, type, day); channel R9 counts legitimate-interest forms.
        self.hits = [0] * (5 * len(ACTIVITY_TYPES) * days)
        self.page_table = {
            site: _pick_table([p.weight for p in pages]) for site, pages in SITE_PAGES.items()
        }
        self.country_codes = list(COUNTRIES)
        self.country_table = _pick_table([COUNTRIES[c][0] for c in self.country_codes])
        # country -> ([(first name, sex, slug)], [(male form, female form, male slug, female slug)])
        self.people: dict[str, tuple[list, list]] = {}
        for code, (_, _, _, firsts, lasts) in COUNTRIES.items():
            forms = [(x, x) if isinstance(x, str) else x for x in lasts]
            self.people[code] = (
                [(name, sex, _ascii_slug(name)) for name, sex in firsts],
                [(m, f, _ascii_slug(m), _ascii_slug(f)) for m, f in forms],
            )
        self.status_ids = [(refs.status_ids.get(code), share) for code, share in STATUS_SHARES]
        self.tracking = (
            refs.consent_ids["tracking-consent"],
            refs.consent_hashes["tracking-consent"],
        )
        self.email_tracking = (
            refs.consent_ids["email-tracking-consent"],
            refs.consent_hashes["email-tracking-consent"],
        )
        # Payloads (the constant part of activity rows) by cache key: (payload id, hit base).
        self._payloads: dict[tuple, tuple[int, int]] = {}
        self._payload_count = 0
        self._new_batch()

    def _new_batch(self) -> None:
        # Buffers of the next batch: contact rows per column shape, payloads defined since the
        # last batch, activities as flat (payload id, contact id, second) triples, agreements.
        self.contact_rows: dict[tuple[str, ...], list[tuple]] = {}
        self.payload_defs: list[tuple[tuple[str, ...], tuple]] = []
        self.events = array("q")
        self.agreement_rows: list[tuple] = []

    # Time ------------------------------------------------------------------------------------

    def stamp(self, t: int) -> str:
        d = t // 86400
        return self.day_prefix[d] + self.sod[t - d * 86400]

    def arrivals(self, contacts: int) -> Iterator[int]:
        """Yield the creation times of ``contacts`` contacts in ascending order."""
        total = self.cum_day[-1]
        placed = 0
        rand = self.rng.random
        for day in range(self.days):
            upto = round(contacts * self.cum_day[day] / total)
            times = sorted(day * 86400 + self._second_of_day(rand) for _ in range(upto - placed))
            placed = upto
            yield from times

    def _second_of_day(self, rand: Callable[[], float]) -> int:
        return self.hour_table[int(rand() * PICK_SLOTS)] * 3600 + int(rand() * 3600)

    def session_time(self, after: int) -> int:
        """A session start after ``after`` following the weekly and daily rhythm (may be >= end)."""
        rand = self.rng.random
        first = after // 86400
        base = self.cum_day[first - 1] if first else 0.0
        day = min(bisect(self.cum_day, base + rand() * (self.cum_day[-1] - base)), self.days - 1)
        t = day * 86400 + self._second_of_day(rand)
        if t <= after:
            t = after + 600 + int(rand() * 7200)
        return t

    def guid(self, created: int) -> str:
        """A time-ordered GUID (UUID version 7 layout: creation time in ms, then 74 random bits).

        Contacts are generated in creation order, so their GUIDs arrive in index order: the
        unique index on ``contact.guid`` grows at its end instead of taking a random page (and
        a journal write) per contact. 74 random bits keep the GUID unguessable.
        """
        ms = self.start_ms + created * 1000 + int(self.rng.random() * 1000)
        rand = self.rng.getrandbits(74)
        value = (
            (ms << 80) | (0x7 << 76) | ((rand >> 62) << 64) | (0b10 << 62) | (rand & (1 << 62) - 1)
        )
        return f"{value:032x}"

    # Payloads: the constant part of an activity row, cached per kind --------------------------

    def payload(self, key: tuple, channel: int, type_code: str, **columns: object) -> tuple:
        """The cached payload for ``key``, built from ``columns`` the first time."""
        cached = self._payloads.get(key)
        if cached is None:
            cached = self._payloads[key] = self._build_payload(channel, type_code, columns)
        return cached

    def _build_payload(self, channel: int, type_code: str, columns: dict) -> tuple[int, int]:
        """Define a payload: its non-NULL columns (the row's shape) and their values."""
        columns = {**columns, "channel_id": self.channel_ids[channel]}
        names = ["type_id"]
        values: list[object] = [self.refs.type_ids[type_code]]
        for name in ACTIVITY_OPTIONAL:
            if columns.get(name) is not None:
                names.append(name)
                values.append(columns[name])
        self.payload_defs.append((("contact_id", "created_at", *names), tuple(values)))
        payload_id = self._payload_count
        self._payload_count += 1
        hit_base = (channel * len(ACTIVITY_TYPES) + self.type_index[type_code]) * self.days
        return payload_id, hit_base

    def emit(self, payload: tuple[int, int], contact_id: int, t: int) -> None:
        payload_id, hit_base = payload
        self.events.extend((payload_id, contact_id, t))
        self.hits[hit_base + t // 86400] += 1

    @property
    def buffered_activities(self) -> int:
        return len(self.events) // 3

    def title(self, type_code: str, value: str) -> str:
        return f"{self.refs.type_names[type_code]} '{value}'"

    def page_payloads(self, site: int, page: int, source: tuple | None) -> tuple:
        """(landingpage, pagevisit) payloads of the first page of a visit from ``source``."""
        key = ("landing", site, page, source)
        cached = self._payloads.get(key)
        if cached is not None:
            return cached  # type: ignore[return-value]
        p = SITE_PAGES[site][page]
        referrer, utm = source if source is not None else (None, (None, None, None, None))
        url = _utm_url(p.url, utm)
        columns = {
            "title": p.title,
            "url": url,
            "referrer": referrer,
            "utm_source": utm[0],
            "utm_medium": utm[1],
            "utm_campaign": utm[2],
            "utm_content": utm[3],
        }
        pair = (
            self._build_payload(site, "landingpage", columns),
            self._build_payload(site, "pagevisit", columns),
        )
        self._payloads[key] = pair  # type: ignore[assignment]
        return pair

    # The three helpers below run for most rows: they look the cache up before building anything.

    def visit_payload(self, site: int, page: int, previous: int) -> tuple:
        key = ("visit", site, page, previous)
        cached = self._payloads.get(key)
        if cached is None:
            p = SITE_PAGES[site][page]
            referrer = SITE_PAGES[site][previous].url if site != MOBILE else None
            cached = self._payloads[key] = self._build_payload(
                site, "pagevisit", {"title": p.title, "url": p.url, "referrer": referrer}
            )
        return cached

    def click_payload(self, site: int, page: int, label: str) -> tuple:
        key = ("click", site, page, label)
        cached = self._payloads.get(key)
        if cached is None:
            cached = self._payloads[key] = self._build_payload(
                site,
                "click",
                {"title": f"Clicked '{label}'", "value": label, "url": SITE_PAGES[site][page].url},
            )
        return cached

    def download_payload(self, site: int, name: str) -> tuple:
        key = ("file", site, name)
        cached = self._payloads.get(key)
        if cached is None:
            cached = self._payloads[key] = self._build_payload(
                site,
                "filedownload",
                {
                    "title": self.title("filedownload", name),
                    "value": name,
                    "url": f"{SITE}/demo/files/{name}",
                },
            )
        return cached

    def form_payload(self, site: int, page: int, type_code: str, form: str, data: dict) -> tuple:
        """A datainput/bizformsubmit carrying personal data: built per row, not cached."""
        return self._build_payload(
            site,
            type_code,
            {
                "title": self.title(type_code, FORMS[form]),
                "value": form,
                "url": SITE_PAGES[site][page].url,
                "data": json.dumps(data),
            },
        )

    # People ----------------------------------------------------------------------------------

    def person(self, contact_id: int) -> _Person:
        rng = self.rng
        rand = rng.random
        country = self.country_codes[self.country_table[int(rand() * PICK_SLOTS)]]
        _, calling_code, cities, _, _ = COUNTRIES[country]
        firsts, lasts = self.people[country]
        first, sex, first_slug = firsts[int(rand() * len(firsts))]
        male, female, male_slug, female_slug = lasts[int(rand() * len(lasts))]
        last, last_slug = (male, male_slug) if sex == "m" else (female, female_slug)
        tld = EMAIL_TLDS[int(rand() * len(EMAIL_TLDS))]
        employed = rand() < 0.8
        company = COMPANIES[int(rand() * len(COMPANIES))] if employed else None
        job_title = JOB_TITLES[int(rand() * len(JOB_TITLES))] if employed else None
        phone = None
        if rand() < 0.4:
            phone = f"+{calling_code} {rng.randrange(100, 1000)} {rng.randrange(1000, 10000)}"
        u = rand()
        status_id = next((sid for sid, share in self.status_ids if u < share), None)
        return _Person(
            first_name=first,
            last_name=last,
            email=f"{first_slug}.{last_slug}.{contact_id}@example.{tld}",
            company=company,
            job_title=job_title,
            city=cities[int(rand() * len(cities))],
            country=country,
            business_phone=phone,
            status_id=status_id,
        )

    def add_contact(self, columns: dict[str, object]) -> None:
        present = tuple(k for k, v in columns.items() if v is not None)
        self.contact_rows.setdefault(present, []).append(tuple(columns[k] for k in present))

    # Sessions --------------------------------------------------------------------------------

    def pick_page(self, site: int) -> int:
        return self.page_table[site][int(self.rng.random() * PICK_SLOTS)]

    def web_source(self) -> tuple | None:
        """Where a website visit comes from: (referrer, utm tuple) or None for direct."""
        rand = self.rng.random
        u = rand()
        if u < 0.40:
            return None
        if u < 0.72:
            return (ORGANIC_REFERRERS[int(rand() * len(ORGANIC_REFERRERS))], (None,) * 4)
        utm = (PAID_UTM if u < 0.86 else SOCIAL_UTM)[int(rand() * 2)]
        return (SOURCE_REFERRERS[utm[0]], utm)

    def web_session(
        self,
        cid: int,
        t: int,
        site: int,
        *,
        source: tuple | None,
        landing: int | None = None,
        identify: tuple[str, _Person] | None = None,
    ) -> tuple[int, int | None]:
        """Emit one website visit from ``t``; return (last event time, identification time)."""
        rand = self.rng.random
        end = self.end
        emit = self.emit
        page = self.pick_page(site) if landing is None else landing
        landing_payload, visit_payload = self.page_payloads(site, page, source)
        emit(landing_payload, cid, t)
        emit(visit_payload, cid, t)
        last = t
        pages = SITE_PAGES[site]
        while True:
            p = pages[page]
            if p.clicks and rand() < 0.22:
                t += 3 + int(rand() * 40)
                if t >= end:
                    return last, None
                emit(self.click_payload(site, page, p.clicks[int(rand() * len(p.clicks))]), cid, t)
                last = t
            if p.files and rand() < 0.2:
                t += 5 + int(rand() * 60)
                if t >= end:
                    return last, None
                emit(self.download_payload(site, p.files[int(rand() * len(p.files))]), cid, t)
                last = t
            if site == CORP and page == CORP_PRICING and rand() < 0.1:
                t += 20 + int(rand() * 120)
                if t >= end:
                    return last, None
                seats = (5, 10, 25, 50, 100)[int(rand() * 5)]
                plan = ("team", "business", "enterprise")[int(rand() * 3)]
                emit(
                    self.payload(
                        ("calc", seats, plan), CORP, "datainput",
                        title=self.title("datainput", FORMS["price-calculator"]),
                        value="price-calculator", url=p.url,
                        data=json.dumps({"seats": seats, "plan": plan}),
                    ),
                    cid, t,
                )  # fmt: skip
                last = t
            if rand() >= 0.5:
                break
            t += 15 + int(rand() * 150)
            if t >= end:
                return last, None
            previous, page = page, self.pick_page(site)
            emit(self.visit_payload(site, page, previous), cid, t)
            last = t
        if identify is None:
            return last, None
        kind, person = identify
        if kind == "newsletter":
            target = CORP_BLOG if site == CORP else SHOP_HOME
            form_type, form = "datainput", "newsletter-signup"
            data: dict[str, str | None] = {"email": person.email, "first_name": person.first_name}
        elif kind == "demo":
            target, form_type, form = CORP_DEMO_REQUEST, "bizformsubmit", "demo-request"
            data = {
                "email": person.email,
                "first_name": person.first_name,
                "last_name": person.last_name,
                "company": person.company,
                "job_title": person.job_title,
            }
        else:  # member registration on the shop
            target, form_type, form, data = SHOP_REGISTER, "memberregistration", "", {}
        t += 20 + int(rand() * 120)
        if t >= end:
            return last, None
        if target != page:
            emit(self.visit_payload(site, target, page), cid, t)
            last = t
            t += 30 + int(rand() * 150)
            if t >= end:
                return last, None
        if form_type == "memberregistration":
            emit(
                self.payload(
                    ("member", site), site, "memberregistration",
                    title=self.refs.type_names["memberregistration"],
                    url=SITE_PAGES[site][target].url,
                ),
                cid, t,
            )  # fmt: skip
        else:
            emit(self.form_payload(site, target, form_type, form, data), cid, t)
        return t, t

    def app_session(self, cid: int, t: int, *, register: bool) -> tuple[int, int | None]:
        """Emit one session of the mobile app (headless channel)."""
        rand = self.rng.random
        emit = self.emit
        page = previous = self.pick_page(MOBILE)
        emit(self.visit_payload(MOBILE, page, previous), cid, t)
        last = t
        while True:
            p = MOBILE_SCREENS[page]
            if p.clicks and rand() < 0.25:
                t += 2 + int(rand() * 30)
                if t >= self.end:
                    return last, None
                emit(self.click_payload(MOBILE, page, p.clicks[0]), cid, t)
                last = t
            if rand() >= 0.6:
                break
            t += 5 + int(rand() * 60)
            if t >= self.end:
                return last, None
            previous, page = page, self.pick_page(MOBILE)
            emit(self.visit_payload(MOBILE, page, previous), cid, t)
            last = t
        if not register:
            return last, None
        t += 30 + int(rand() * 90)
        if t >= self.end:
            return last, None
        emit(
            self.payload(
                ("member", MOBILE), MOBILE, "memberregistration",
                title=self.refs.type_names["memberregistration"], url="demoapp://register",
            ),
            cid, t,
        )  # fmt: skip
        return t, t

    def email_session(self, cid: int, t: int) -> tuple[int, int]:
        """An email link click on the newsletter, then the visit it leads to."""
        rand = self.rng.random
        campaign, subject, site, landing = CAMPAIGNS[int(rand() * len(CAMPAIGNS))]
        utm = ("newsletter", "email", campaign, None)
        landing_url = _utm_url(SITE_PAGES[site][landing].url, utm)
        self.emit(
            self.payload(
                ("email", campaign), NEWSLETTER, "emailclick",
                title=self.title("emailclick", subject), value=campaign, url=landing_url,
                utm_source="newsletter", utm_medium="email", utm_campaign=campaign,
            ),
            cid, t,
        )  # fmt: skip
        clicked = t
        t += 2 + int(rand() * 20)
        if t >= self.end:
            return clicked, site
        last, _ = self.web_session(cid, t, site, source=(None, utm), landing=landing)
        return last, site

    # Contacts --------------------------------------------------------------------------------

    def contact(self, cid: int, created: int) -> None:
        """Generate one contact created at ``created`` with its activities and agreements."""
        rng = self.rng
        rand = rng.random
        guid = self.guid(created)
        identified = rand() < IDENTIFIED_SHARE
        person = self.person(cid) if identified else None
        if person is not None and rand() < 0.03:
            self._form_only_contact(cid, created, guid, person)
            return
        u = rand()
        home = CORP if u < 0.52 else SHOP if u < 0.88 else MOBILE
        identify: tuple[str, _Person] | None = None
        if person is not None:
            u = rand()
            if home == CORP:
                kind = "newsletter" if u < 0.55 else "demo"
            elif home == SHOP:
                kind = "member" if u < 0.6 else "newsletter"
            else:
                kind = "member"
            identify = (kind, person)
        subscriber = identify is not None and identify[0] == "newsletter"

        # Skewed number of visits: many contacts come once, a few come back often; contacts
        # created late in the window have less time to return.
        u = rand()
        if u < 0.5:
            extra = 0.0
        elif u < 0.8:
            extra = 1 + rand() * 2
        elif u < 0.95:
            extra = 3 + rand() * 6
        else:
            extra = 9 + rand() * 21
        if person is not None:
            extra *= 1.4
        extra *= 0.35 + 0.65 * (self.end - created) / self.end
        sessions = 1 + int(extra + rand())
        starts = sorted(self.session_time(created) for _ in range(sessions - 1))

        first_web = {CORP: -1, SHOP: -1}
        last_web = -1
        last_email = -1
        identified_at: int | None = None
        t = created
        last = created
        for i in range(sessions):
            ident = None
            if i:
                t = max(starts[i - 1], last + 300)
                if t >= self.end:
                    break
            if i == 0:
                channel = home
            elif subscriber and rand() < 0.3:
                channel = NEWSLETTER
            else:
                u = rand()
                if home == MOBILE:
                    channel = MOBILE if u < 0.6 else SHOP
                else:
                    channel = home if u < 0.75 else (SHOP if home == CORP else CORP)
                    if u >= 0.93:
                        channel = MOBILE
            if channel == MOBILE:
                last, ident = self.app_session(cid, t, register=i == 0 and identify is not None)
            elif channel == NEWSLETTER:
                last_email = t
                last, site = self.email_session(cid, t)
                if last > t and first_web[site] < 0:
                    first_web[site] = t
                last_web = max(last_web, last)
            else:
                last, ident = self.web_session(
                    cid, t, channel, source=self.web_source(),
                    identify=identify if i == 0 else None,
                )  # fmt: skip
                if first_web[channel] < 0:
                    first_web[channel] = t
                last_web = max(last_web, last)
            if i == 0:
                identified_at = ident

        self._agreements(cid, first_web, last_web, subscriber, identified_at, last_email)
        if person is not None and identified_at is None:
            # The identifying event fell after the window's end: the visitor stays anonymous.
            person = None
        columns: dict[str, object] = {"id": cid, "guid": guid}
        if person is not None:
            columns.update(
                first_name=person.first_name,
                last_name=person.last_name,
                email=person.email,
                company=person.company,
                job_title=person.job_title,
                city=person.city,
                country=person.country,
                business_phone=person.business_phone,
                status_id=person.status_id,
            )
        columns["created_at"] = self.stamp(created)
        columns["updated_at"] = self.stamp(identified_at if identified_at is not None else created)
        columns["last_activity_at"] = self.stamp(last)
        self.add_contact(columns)

    def _agreements(
        self,
        cid: int,
        first_web: dict[int, int],
        last_web: int,
        subscriber: bool,
        signed_up: int | None,
        last_email: int,
    ) -> None:
        """Tracking consent: agreed before the first tracked corporate visit (its default level is
        Essential), by some shop visitors too; a few revoke after their last visit. Email
        tracking: agreed at the newsletter sign-up."""
        rand = self.rng.random
        rows = self.agreement_rows
        consent_id, text_hash = self.tracking
        if first_web[CORP] >= 0 or (first_web[SHOP] >= 0 and rand() < 0.25):
            agreed = first_web[CORP] if first_web[CORP] >= 0 else first_web[SHOP]
            if first_web[SHOP] >= 0 and first_web[CORP] >= 0:
                agreed = min(agreed, first_web[SHOP])
            rows.append(
                (cid, consent_id, AgreementAction.AGREE.value, text_hash, self.stamp(agreed))
            )
            if rand() < 0.07:
                revoked = max(last_web, agreed) + 3600 + int(rand() * 10 * 86400)
                if revoked < self.end:
                    rows.append(
                        (
                            cid,
                            consent_id,
                            AgreementAction.REVOKE.value,
                            text_hash,
                            self.stamp(revoked),
                        )
                    )
        if subscriber and signed_up is not None:
            consent_id, text_hash = self.email_tracking
            rows.append(
                (cid, consent_id, AgreementAction.AGREE.value, text_hash, self.stamp(signed_up))
            )
            if rand() < 0.06:
                revoked = max(last_email, signed_up) + 3600 + int(rand() * 14 * 86400)
                if revoked < self.end:
                    rows.append(
                        (
                            cid,
                            consent_id,
                            AgreementAction.REVOKE.value,
                            text_hash,
                            self.stamp(revoked),
                        )
                    )

    def _form_only_contact(self, cid: int, created: int, guid: str, person: _Person) -> None:
        """R9: a contact form sent below Visitor level: only the submitted data, no channel."""
        data = {
            "email": person.email,
            "first_name": person.first_name,
            "message": "Please call me back about pricing.",
        }
        payload = self._build_payload(
            R9,
            "bizformsubmit",
            {
                "title": self.title("bizformsubmit", FORMS["contact-us"]),
                "value": "contact-us",
                "data": json.dumps(data),
            },
        )
        self.emit(payload, cid, created)
        stamp = self.stamp(created)
        self.add_contact(
            {
                "id": cid,
                "guid": guid,
                "first_name": person.first_name,
                "last_name": person.last_name,
                "email": person.email,
                "city": person.city,
                "country": person.country,
                "created_at": stamp,
                "updated_at": stamp,
                "last_activity_at": stamp,
            }
        )

    # Hit counters ----------------------------------------------------------------------------

    def hit_counter_rows(self) -> list[dict[str, object]]:
        """Tracked hits as counted from the activities, plus anonymous untracked hits.

        Legitimate-interest form submissions (R9) count as untracked hits without a claimed
        level on the corporate site, where the contact form lives.
        """
        rand = self.rng.random
        n_types = len(ACTIVITY_TYPES)
        rows: list[dict[str, object]] = []
        for channel in (CORP, SHOP, NEWSLETTER, MOBILE):
            channel_id = self.channel_ids[channel]
            tracked_inputs, untracked_inputs = HIT_INPUTS[channel]
            for ti, code in enumerate(ACTIVITY_TYPES):
                base = (channel * n_types + ti) * self.days
                for day in range(self.days):
                    tracked = self.hits[base + day]
                    untracked = 0
                    if channel in (CORP, SHOP) and code in UNTRACKED_PER_TRACKED:
                        factor = UNTRACKED_PER_TRACKED[code][0 if channel == CORP else 1]
                        untracked = int(tracked * factor * (0.85 + 0.3 * rand()) + rand() * 3)
                    counts: dict[tuple[int, bool, bool, bool], int] = {}
                    for flag, total, inputs in (
                        (True, tracked, tracked_inputs),
                        (False, untracked, untracked_inputs),
                    ):
                        remainder = total
                        for claimed, agreed, gpc, share in inputs[1:]:
                            n = int(total * share)
                            counts[(claimed, agreed, gpc, flag)] = n
                            remainder -= n
                        if inputs:
                            claimed, agreed, gpc, _ = inputs[0]
                            counts[(claimed, agreed, gpc, flag)] = remainder
                    if channel == CORP and code == "bizformsubmit":
                        key = (NO_CLAIM, False, False, False)
                        counts[key] = (
                            counts.get(key, 0) + self.hits[(R9 * n_types + ti) * self.days + day]
                        )
                    d = self.first_day + timedelta(days=day)
                    rows.extend(
                        {
                            "channel_id": channel_id,
                            "day": d,
                            "activity_type": code,
                            "claimed_level": claimed,
                            "has_agreement": agreed,
                            "gpc": gpc,
                            "tracked": flag,
                            "hits": hits,
                        }
                        for (claimed, agreed, gpc, flag), hits in counts.items()
                        if hits
                    )
        return rows

    # Batches -----------------------------------------------------------------------------------

    def take_batch(self) -> "_Batch":
        """Hand over the buffered rows and start empty buffers."""
        batch = _Batch(self.contact_rows, self.payload_defs, self.events, self.agreement_rows)
        self._new_batch()
        return batch


@dataclass
class _Batch:
    """What one committed batch writes; small enough to send between processes."""

    contact_rows: dict[tuple[str, ...], list[tuple]]
    payload_defs: list[tuple[tuple[str, ...], tuple]]  # payloads defined since the last batch
    events: array  # (payload id, contact id, seconds after the window start) triples
    agreement_rows: list[tuple]
    hit_counters: list[dict[str, object]] | None = None  # on the last batch only


def _generate(
    refs: _References,
    *,
    contacts: int,
    days: int,
    seed: int,
    start: datetime,
    postgres: bool,
    first_id: int,
    batch_activities: int,
) -> Iterator[_Batch]:
    """Yield the batches of the whole store; the last one carries the hit counters."""
    generator = _Generator(refs, days=days, seed=seed, start=start, postgres=postgres)
    for cid, created in enumerate(generator.arrivals(contacts), start=first_id):
        generator.contact(cid, created)
        if generator.buffered_activities >= batch_activities:
            yield generator.take_batch()
    last = generator.take_batch()
    last.hit_counters = generator.hit_counter_rows()
    yield last


def _generate_into(sender: Connection, options: dict) -> None:
    """Entry point of the generator process: send every batch, or the traceback of a failure."""
    try:
        for batch in _generate(**options):
            sender.send(batch)
    except BaseException:
        with suppress(OSError):
            sender.send(traceback.format_exc())
    finally:
        sender.close()


def _can_fork() -> bool:
    """Whether a generator process can be forked safely: Linux, and no other thread running.

    Fork, not spawn: spawn re-imports the ``__main__`` script, which breaks callers whose script
    is not guarded by ``if __name__ == "__main__"``. The child never touches the inherited
    database connections and leaves with ``os._exit`` (multiprocessing's default).
    """
    return sys.platform.startswith("linux") and threading.active_count() == 1


def _generate_elsewhere(options: dict) -> Iterator[_Batch]:
    """Run ``_generate`` in a child process and yield its batches as they arrive.

    Generation (pure Python) then runs on one core while this process writes on the other.
    The pipe holds about one batch, so the child never runs far ahead: memory stays bounded.
    """
    context = multiprocessing.get_context("fork")
    # Buffered output would otherwise be written twice: the child flushes its copy on exit.
    sys.stdout.flush()
    sys.stderr.flush()
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(
        target=_generate_into, args=(sender, options), name="demo-data-generator", daemon=True
    )
    process.start()
    sender.close()
    try:
        while True:
            try:
                message = receiver.recv()
            except EOFError:
                raise DemoDataError("the demo data generator process ended unexpectedly") from None
            if isinstance(message, str):
                raise DemoDataError(f"the demo data generator failed:\n{message}")
            yield message
            if message.hit_counters is not None:
                return
    finally:
        receiver.close()
        if process.is_alive():
            process.terminate()
        process.join()


class _Materializer:
    """Turns (payload id, contact id, second) events back into activity rows per column shape."""

    def __init__(self, *, days: int, start: datetime, postgres: bool) -> None:
        self.day_prefix, self.sod = _timestamp_parts(days, start, postgres)
        self.payloads: list[tuple[list[tuple], tuple]] = []  # by id: (rows of its shape, values)
        self.rows: dict[tuple[str, ...], list[tuple]] = {}

    def add(self, batch: _Batch) -> None:
        for shape, values in batch.payload_defs:
            self.payloads.append((self.rows.setdefault(shape, []), values))
        payloads, day_prefix, sod = self.payloads, self.day_prefix, self.sod
        events = iter(batch.events)
        for payload_id, contact_id, t in zip(events, events, events, strict=True):
            rows, values = payloads[payload_id]
            d = t // 86400
            # Concatenation is measurably faster than unpacking here (~10M rows).
            rows.append((contact_id, day_prefix[d] + sod[t - d * 86400]) + values)  # noqa: RUF005

    def take(self) -> Iterator[tuple[tuple[str, ...], list[tuple]]]:
        """Yield (shape, rows) of the added batches; each list is emptied once written."""
        for shape, rows in self.rows.items():
            if rows:
                yield shape, rows
                rows.clear()  # in place: the payload table points at these lists


# From this many contacts on, rows are generated in a child process (see _generate_elsewhere).
PARALLEL_FROM_CONTACTS = 50_000


def _load_bulk(
    session: Session,
    refs: _References,
    contacts: int,
    days: int,
    seed: int,
    start: datetime,
    first_id: int,
    progress: Progress,
) -> dict[str, int]:
    """Generate and write contacts, activities and agreements in committed batches."""
    writer = _Writer(session)
    postgres = writer.dialect.name == "postgresql"
    options = {
        "refs": refs,
        "contacts": contacts,
        "days": days,
        "seed": seed,
        "start": start,
        "postgres": postgres,
        "first_id": first_id,
        "batch_activities": BATCH_ACTIVITIES,
    }
    parallel = contacts >= PARALLEL_FROM_CONTACTS and _can_fork()
    batches = _generate_elsewhere(options) if parallel else _generate(**options)
    activities = _Materializer(days=days, start=start, postgres=postgres)
    contact_table: Table = Contact.__table__  # type: ignore[assignment]
    activity_table: Table = Activity.__table__  # type: ignore[assignment]
    agreement_table: Table = ConsentAgreement.__table__  # type: ignore[assignment]
    agreement_columns = ("contact_id", "consent_id", "action", "text_hash", "created_at")
    counts = {"contacts": 0, "activities": 0, "agreements": 0}
    started = last_report = time.perf_counter()
    hit_rows: list[dict[str, object]] = []

    reported: dict[str, int] = {}

    def report() -> None:
        if counts == reported:  # the last batch was reported already
            return
        reported.update(counts)
        elapsed = time.perf_counter() - started
        rate = (counts["contacts"] + counts["activities"]) / elapsed
        progress(
            f"contacts {counts['contacts']:,} / {contacts:,}, activities {counts['activities']:,}"
            f" ({elapsed:.0f}s, {rate:,.0f} rows/s)"
        )

    with closing(batches):
        for batch in batches:
            # Contacts first: the activities and agreements of the batch refer to them.
            for shape, rows in batch.contact_rows.items():
                writer.write(contact_table, shape, rows)
                counts["contacts"] += len(rows)
            activities.add(batch)
            for shape, rows in activities.take():
                writer.write(activity_table, shape, rows)
                counts["activities"] += len(rows)
            writer.write(agreement_table, agreement_columns, batch.agreement_rows)
            counts["agreements"] += len(batch.agreement_rows)
            session.commit()
            hit_rows = batch.hit_counters or []
            if time.perf_counter() - last_report >= PROGRESS_EVERY_SECONDS:
                last_report = time.perf_counter()
                report()
    report()
    for i in range(0, len(hit_rows), 5000):
        session.execute(insert(HitCounter), hit_rows[i : i + 5000])
    session.commit()
    counts["hit_counters"] = len(hit_rows)
    return counts
