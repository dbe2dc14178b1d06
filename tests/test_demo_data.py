"""Demo data (``seed_demo``) and the consent text hash it stamps on consents and agreements.

Every test builds its own small store: SQLite in a temporary folder, or the PostgreSQL database
named by DASHBOARD_TEST_DATABASE_URL, which is reset to a freshly migrated schema before and
after each use so the rest of the suite finds it as the migration left it.
"""

import multiprocessing
import os
import re
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import flask_migrate
import pytest
from flask import Flask
from sqlalchemy import delete, func, inspect, select, text
from sqlalchemy.orm import aliased

from dashboard import create_app, demo_data
from dashboard.database import write_intent
from dashboard.demo_data import DemoDataError, seed_demo
from dashboard.domain.consent import consent_text_hash
from dashboard.domain.cookie_levels import CookieLevel, effective_level, may_track
from dashboard.extensions import db
from dashboard.models import (
    Activity,
    ActivityType,
    AgreementAction,
    Channel,
    ChannelOrigin,
    Consent,
    ConsentAgreement,
    Contact,
    HitCounter,
)

DATABASE_URL = os.environ.get("DASHBOARD_TEST_DATABASE_URL")
# A fixed anchor: two runs straddling midnight must still compare equal.
ANCHOR = datetime(2026, 3, 2, tzinfo=UTC)  # a Monday
CONTACTS, DAYS = 300, 14

# The channels the demo must create (written from the brief, not from the module under test).
DEMO_ORIGINS = {"http://localhost:5000", "http://127.0.0.1:5000"}
EXPECTED_CHANNELS = {
    "corporate-site": ("website", 0, "tracking-consent", DEMO_ORIGINS),
    "shop-site": ("website", 1000, "tracking-consent", DEMO_ORIGINS),
    "newsletter": ("email", 0, "email-tracking-consent", set()),
    "mobile-app": ("headless", 200, None, set()),
}
BUILTIN_TYPES = {
    "pagevisit",
    "landingpage",
    "click",
    "datainput",
    "bizformsubmit",
    "emailclick",
    "memberregistration",
}
EMAIL_PATTERN = re.compile(r"^[a-z]+\.[a-z]+\.\d+@example\.(com|org|net)$")
NO_CLAIM = -1  # hit counters: the browser sent no level


def _reset_postgres_schema() -> None:
    with db.engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))


def _migrate() -> None:
    with write_intent():
        flask_migrate.upgrade()


@contextmanager
def fresh_app(path: Path) -> Iterator[Flask]:
    """An app over a freshly migrated, empty database, inside its app context."""
    path.mkdir(parents=True, exist_ok=True)
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test",
            "DATABASE_URL": DATABASE_URL or f"sqlite:///{path}/t.sqlite",
        },
        instance_path=str(path),
    )
    with app.app_context():
        postgres = db.engine.dialect.name == "postgresql"
        if postgres:
            _reset_postgres_schema()
        _migrate()
        try:
            yield app
        finally:
            db.session.remove()
            if postgres:
                _reset_postgres_schema()
                _migrate()
            db.engine.dispose()


@pytest.fixture
def empty_app(tmp_path: Path) -> Iterator[Flask]:
    with fresh_app(tmp_path) as app:
        yield app


@pytest.fixture
def seeded_app(empty_app: Flask) -> Flask:
    """A store seeded with the small demo (300 contacts over 14 days)."""
    counts = seed_demo(contacts=CONTACTS, days=DAYS, seed=42, anchor=ANCHOR)
    assert counts["contacts"] == CONTACTS
    return empty_app


def _snapshot() -> tuple[list[str | None], dict[str, int], list[tuple[int, datetime]]]:
    emails = list(db.session.scalars(select(Contact.email).order_by(Contact.id)))
    per_type = dict(
        db.session.execute(
            select(ActivityType.code_name, func.count())
            .join(Activity, Activity.type_id == ActivityType.id)
            .group_by(ActivityType.code_name)
        ).all()
    )
    times = db.session.execute(
        select(Activity.contact_id, Activity.created_at).order_by(
            Activity.contact_id, Activity.created_at
        )
    ).all()
    return emails, per_type, [tuple(r) for r in times]


def _activities() -> list[Activity]:
    return list(db.session.scalars(select(Activity).join(Activity.type)))


# --- Reference rows ---------------------------------------------------------------------------


def test_channels_match_the_demo_table(seeded_app: Flask) -> None:
    channels = {c.code_name: c for c in db.session.scalars(select(Channel))}
    assert set(channels) == set(EXPECTED_CHANNELS)
    for code, (type_, level, consent, origins) in EXPECTED_CHANNELS.items():
        channel = channels[code]
        origin_rows = db.session.scalars(
            select(ChannelOrigin.origin).where(ChannelOrigin.channel_id == channel.id)
        )
        assert channel.type.value == type_, code
        assert channel.default_cookie_level == level, code
        assert (channel.tracking_consent.code_name if channel.tracking_consent else None) == consent
        assert set(origin_rows) == origins, code
        # Every other switch keeps its default.
        assert (channel.honour_gpc, channel.count_untracked, channel.erase_on_revoke) == (
            True,
            True,
            False,
        )
        assert channel.enabled


def test_consents_are_identified_by_the_hash_of_their_texts(seeded_app: Flask) -> None:
    consents = {c.code_name: c for c in db.session.scalars(select(Consent))}
    assert set(consents) == {"tracking-consent", "email-tracking-consent"}
    assert consents["tracking-consent"].display_name == "Tracking cookies"
    for consent in consents.values():
        assert consent.short_text
        assert consent.full_text.startswith("<p>")
        assert consent.text_hash == consent_text_hash(consent.short_text, consent.full_text)
    assert consents["tracking-consent"].text_hash != consents["email-tracking-consent"].text_hash


def test_custom_type_and_every_builtin_type_have_activities(seeded_app: Flask) -> None:
    custom = db.session.scalar(select(ActivityType).where(ActivityType.code_name == "filedownload"))
    assert custom is not None
    assert (custom.display_name, custom.is_builtin, custom.enabled) == (
        "File download",
        False,
        True,
    )
    _, per_type, _ = _snapshot()
    assert set(per_type) == BUILTIN_TYPES | {"filedownload"}
    assert all(n > 0 for n in per_type.values())
    # About ten activities per contact on average, most of them page visits.
    total = sum(per_type.values())
    assert 6 * CONTACTS < total < 16 * CONTACTS
    assert per_type["pagevisit"] == max(per_type.values())


# --- Contacts -----------------------------------------------------------------------------------


def test_about_a_third_of_contacts_are_identified(seeded_app: Flask) -> None:
    contacts = list(db.session.scalars(select(Contact)))
    identified = [c for c in contacts if c.email]
    assert len(contacts) == CONTACTS
    assert 0.25 < len(identified) / len(contacts) < 0.45
    assert len({c.email for c in identified}) == len(identified)
    for contact in identified:
        assert EMAIL_PATTERN.match(contact.email), contact.email
        assert contact.first_name and contact.last_name and contact.city
        assert re.fullmatch(r"[A-Z]{2}", contact.country or "")
    assert 5 <= len({c.country for c in identified}) <= 12
    assert any(c.status_id for c in identified)
    assert any(c.company and c.job_title for c in identified)
    for contact in contacts:
        if not contact.email:
            assert (contact.first_name, contact.last_name, contact.status_id) == (None, None, None)
    assert len({c.guid for c in contacts}) == CONTACTS


def test_contacts_and_activities_lie_in_the_window(seeded_app: Flask) -> None:
    start = ANCHOR - timedelta(days=DAYS)
    low, high = db.session.execute(
        select(func.min(Activity.created_at), func.max(Activity.created_at))
    ).one()
    assert start <= low and high < ANCHOR
    created = db.session.execute(
        select(func.min(Contact.created_at), func.max(Contact.created_at))
    ).one()
    assert start <= created[0] and created[1] < ANCHOR
    # No activity before its contact existed.
    early = db.session.scalar(
        select(func.count())
        .select_from(Activity)
        .join(Contact, Contact.id == Activity.contact_id)
        .where(Activity.created_at < Contact.created_at)
    )
    assert early == 0


def test_activity_follows_a_weekly_and_daily_rhythm(seeded_app: Flask) -> None:
    per_day = Counter(a.created_at.date() for a in _activities())
    weekend = [n for d, n in per_day.items() if d.weekday() >= 5]
    weekday = [n for d, n in per_day.items() if d.weekday() < 5]
    assert sum(weekend) / len(weekend) < 0.8 * sum(weekday) / len(weekday)
    hours = Counter(a.created_at.hour for a in _activities())
    daytime = sum(n for h, n in hours.items() if 7 <= h < 20)
    assert daytime > 0.7 * sum(hours.values())


def test_last_activity_at_is_the_newest_activity(seeded_app: Flask) -> None:
    newest = (
        select(func.max(Activity.created_at))
        .where(Activity.contact_id == Contact.id)
        .scalar_subquery()
    )
    mismatched = db.session.scalar(
        select(func.count())
        .select_from(Contact)
        .where(Contact.last_activity_at.is_distinct_from(newest))
    )
    assert mismatched == 0
    # Every contact has at least one activity, so none of them compared NULL with NULL.
    assert (
        db.session.scalar(
            select(func.count()).select_from(Contact).where(Contact.last_activity_at.is_(None))
        )
        == 0
    )


# --- Activities ---------------------------------------------------------------------------------


def test_titles_follow_the_rules(seeded_app: Flask) -> None:
    activities = _activities()
    titles_per_url: dict[str, set[str]] = {}
    for a in activities:
        code = a.type.code_name
        if code == "click":
            assert a.title == f"Clicked '{a.value}'"
        elif code == "filedownload":
            assert a.title == f"File download '{a.value}'"
        elif code in ("pagevisit", "landingpage"):
            assert a.title and a.url
            titles_per_url.setdefault(a.url.split("?")[0], set()).add(a.title)
        elif code in ("datainput", "bizformsubmit"):
            assert a.value and a.data
    # A page has one title, and the demo site's pages are titled as the demo shows them.
    assert all(len(titles) == 1 for titles in titles_per_url.values())
    assert titles_per_url["http://localhost:5000/demo/pricing"] == {"Pricing"}
    assert titles_per_url["http://localhost:5000/demo/"] == {"Home"}


def test_utm_columns_are_parsed_from_the_url(seeded_app: Flask) -> None:
    with_utm = 0
    for a in _activities():
        query = parse_qs(urlsplit(a.url).query) if a.url else {}
        for field in ("utm_source", "utm_medium", "utm_campaign", "utm_content"):
            assert getattr(a, field) == (query[field][0] if field in query else None)
        with_utm += bool(a.utm_source)
    assert with_utm > 0
    newsletter = db.session.scalars(
        select(Activity).join(Activity.type).where(ActivityType.code_name == "emailclick")
    ).first()
    assert newsletter is not None
    assert (newsletter.utm_source, newsletter.utm_medium) == ("newsletter", "email")


def test_channels_of_activities(seeded_app: Flask) -> None:
    per_channel: Counter[tuple[str | None, str]] = Counter()
    codes = {c.id: c.code_name for c in db.session.scalars(select(Channel))}
    for a in _activities():
        per_channel[(codes.get(a.channel_id), a.type.code_name)] += 1
        assert a.event_id is None
        assert a.referrer is None or a.referrer.startswith(("http://", "https://"))
    channels = Counter(channel for channel, _ in per_channel.elements())
    assert channels["corporate-site"] + channels["shop-site"] > 0.7 * sum(channels.values())
    assert channels["mobile-app"] > 0
    assert {t for (c, t) in per_channel if c == "newsletter"} == {"emailclick"}
    assert per_channel[("newsletter", "emailclick")] > 0
    # R9: the only activities without a channel are form submissions holding just the data.
    assert {t for (c, t) in per_channel if c is None} <= {"bizformsubmit"}


# --- Consent agreements --------------------------------------------------------------------------


def test_agreements_carry_the_hash_of_the_consent_text(seeded_app: Flask) -> None:
    agreements = db.session.execute(
        select(ConsentAgreement, Consent.text_hash).join(
            Consent, Consent.id == ConsentAgreement.consent_id
        )
    ).all()
    assert agreements
    assert all(a.text_hash == text_hash for a, text_hash in agreements)
    actions = Counter(a.action for a, _ in agreements)
    assert actions[AgreementAction.AGREE] > actions[AgreementAction.REVOKE] > 0


def test_every_revocation_follows_an_agreement(seeded_app: Flask) -> None:
    agree = aliased(ConsentAgreement)
    orphan = db.session.scalar(
        select(func.count())
        .select_from(ConsentAgreement)
        .where(
            ConsentAgreement.action == AgreementAction.REVOKE,
            ~select(agree.id)
            .where(
                agree.contact_id == ConsentAgreement.contact_id,
                agree.consent_id == ConsentAgreement.consent_id,
                agree.action == AgreementAction.AGREE,
                agree.created_at < ConsentAgreement.created_at,
            )
            .exists(),
        )
    )
    assert orphan == 0


def test_tracked_corporate_visitors_had_agreed_first(seeded_app: Flask) -> None:
    """R1/R2: the corporate site defaults to Essential, so tracking there needs an agreement."""
    corporate = db.session.scalar(select(Channel.id).where(Channel.code_name == "corporate-site"))
    tracking = db.session.scalar(select(Consent.id).where(Consent.code_name == "tracking-consent"))
    first_visit = dict(
        db.session.execute(
            select(Activity.contact_id, func.min(Activity.created_at))
            .where(Activity.channel_id == corporate)
            .group_by(Activity.contact_id)
        ).all()
    )
    rows = db.session.scalars(
        select(ConsentAgreement)
        .where(ConsentAgreement.consent_id == tracking)
        .order_by(ConsentAgreement.contact_id, ConsentAgreement.created_at)
    )
    history: dict[int, list[ConsentAgreement]] = {}
    for row in rows:
        history.setdefault(row.contact_id, []).append(row)
    assert first_visit
    for contact_id, first in first_visit.items():
        rows_of_contact = history.get(contact_id)
        assert rows_of_contact, contact_id
        assert rows_of_contact[0].action == AgreementAction.AGREE
        assert rows_of_contact[0].created_at <= first
        revoked = [r.created_at for r in rows_of_contact if r.action == AgreementAction.REVOKE]
        last_visit = db.session.scalar(
            select(func.max(Activity.created_at)).where(
                Activity.contact_id == contact_id, Activity.channel_id == corporate
            )
        )
        assert all(r > last_visit for r in revoked)


# --- Hit counters ---------------------------------------------------------------------------------


def test_tracked_hits_count_the_activities(seeded_app: Flask) -> None:
    expected: Counter[tuple[int, object, str]] = Counter()
    for a in _activities():
        if a.channel_id is not None:
            expected[(a.channel_id, a.created_at.date(), a.type.code_name)] += 1
    counted: Counter[tuple[int, object, str]] = Counter()
    for row in db.session.scalars(select(HitCounter).where(HitCounter.tracked.is_(True))):
        counted[(row.channel_id, row.day, row.activity_type)] += row.hits
    assert counted == expected


def test_hit_counters_replay_to_their_outcome_under_r1(seeded_app: Flask) -> None:
    channels = {c.id: c for c in db.session.scalars(select(Channel))}
    rows = list(db.session.scalars(select(HitCounter)))
    assert any(not r.tracked for r in rows)
    for row in rows:
        channel = channels[row.channel_id]
        claimed = None if row.claimed_level == NO_CLAIM else CookieLevel(row.claimed_level)
        level = effective_level(
            claimed,
            CookieLevel(channel.default_cookie_level),
            has_agreement=row.has_agreement,
            gpc=row.gpc,
            honours_gpc=channel.honour_gpc,
        )
        assert may_track(level) == row.tracked, (channel.code_name, row.claimed_level)


def test_untracked_hits_are_higher_on_the_essential_default_site(seeded_app: Flask) -> None:
    untracked = dict(
        db.session.execute(
            select(Channel.code_name, func.sum(HitCounter.hits))
            .join(Channel, Channel.id == HitCounter.channel_id)
            .where(HitCounter.tracked.is_(False), HitCounter.activity_type == "pagevisit")
            .group_by(Channel.code_name)
        ).all()
    )
    assert untracked["corporate-site"] > 3 * untracked["shop-site"] > 0
    assert "mobile-app" not in untracked and "newsletter" not in untracked


# --- Determinism, refusal, idempotence, indexes -------------------------------------------------


def test_same_arguments_give_the_same_data(tmp_path: Path) -> None:
    snapshots = []
    for name, seed in (("a", 7), ("b", 7), ("c", 8)):
        with fresh_app(tmp_path / name):
            seed_demo(contacts=120, days=7, seed=seed, anchor=ANCHOR)
            snapshots.append(_snapshot())
    first, second, other = snapshots
    assert first == second
    assert first[0] != other[0]


def test_a_generator_process_writes_the_same_data(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Large stores are generated in a child process; the rows must not depend on where."""
    snapshots = []
    for name, parallel_from in (("here", 10**9), ("child", 1)):
        monkeypatch.setattr(demo_data, "PARALLEL_FROM_CONTACTS", parallel_from)
        with fresh_app(tmp_path / name):
            counts = seed_demo(contacts=120, days=7, seed=7, anchor=ANCHOR)
            snapshots.append((counts, _snapshot()))
    assert snapshots[0] == snapshots[1]


def test_default_anchor_is_today_at_midnight_utc(empty_app: Flask) -> None:
    seed_demo(contacts=20, days=3, seed=1)
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    newest = db.session.scalar(select(func.max(Activity.created_at)))
    oldest = db.session.scalar(select(func.min(Contact.created_at)))
    # A run that straddles midnight moves the anchor by one day.
    assert today - timedelta(days=1) <= newest < today + timedelta(days=1)
    assert oldest >= today - timedelta(days=4)


def test_refuses_to_seed_a_store_with_contacts(seeded_app: Flask) -> None:
    before = _snapshot()
    with pytest.raises(DemoDataError, match="already holds 300 contacts"):
        seed_demo(contacts=10, days=2, anchor=ANCHOR)
    assert _snapshot() == before


def test_reference_rows_are_created_once(seeded_app: Flask) -> None:
    with write_intent():
        db.session.execute(delete(HitCounter))
        db.session.execute(delete(Contact))
        db.session.commit()
    counts = seed_demo(contacts=50, days=5, seed=3, anchor=ANCHOR)
    assert (counts["consents"], counts["activity_types"], counts["channels"]) == (0, 0, 0)
    assert counts["contacts"] == 50
    assert db.session.scalar(select(func.count()).select_from(Channel)) == 4
    assert db.session.scalar(select(func.count()).select_from(Consent)) == 2
    assert db.session.scalar(select(func.count()).select_from(ChannelOrigin)) == 4


def _index_names() -> set[str]:
    """Indexes and foreign keys of the bulk-loaded tables (seeding drops and rebuilds them)."""
    inspector = inspect(db.engine)
    names = set()
    for table in ("contact", "activity", "consent_agreement"):
        names |= {ix["name"] for ix in inspector.get_indexes(table)}
        names |= {fk["name"] for fk in inspector.get_foreign_keys(table)}
    return names


def test_indexes_are_rebuilt_after_seeding(empty_app: Flask) -> None:
    before = _index_names()
    declared = {
        str(item.name)
        for model in (Contact, Activity, ConsentAgreement)
        for item in (*model.__table__.indexes, *model.__table__.foreign_key_constraints)
    }
    assert declared <= before
    seed_demo(contacts=30, days=3, anchor=ANCHOR)
    assert _index_names() == before


@pytest.mark.parametrize("parallel_from", [10**9, 1], ids=["here", "child"])
def test_an_interrupted_run_restores_the_indexes(
    empty_app: Flask, monkeypatch: pytest.MonkeyPatch, parallel_from: int
) -> None:
    monkeypatch.setattr(demo_data, "PARALLEL_FROM_CONTACTS", parallel_from)
    monkeypatch.setattr(demo_data, "BATCH_ACTIVITIES", 100)
    monkeypatch.setattr(demo_data, "PROGRESS_EVERY_SECONDS", 0)
    before = _index_names()

    def fail(message: str) -> None:
        if message.startswith("contacts"):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        seed_demo(contacts=300, days=3, anchor=ANCHOR, progress=fail)
    # The batches before the interruption stay committed; the store keeps its indexes.
    assert 0 < db.session.scalar(select(func.count()).select_from(Contact)) < 300
    assert _index_names() == before
    assert multiprocessing.active_children() == []


def test_rejects_a_naive_anchor(empty_app: Flask) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        seed_demo(contacts=1, days=1, anchor=datetime(2026, 3, 2))


# --- The consent text hash (pure) ----------------------------------------------------------------


def test_consent_text_hash_is_a_stable_sha256() -> None:
    digest = consent_text_hash("Short", "<p>Full</p>")
    assert re.fullmatch(r"[0-9a-f]{64}", digest)
    assert digest == consent_text_hash("Short", "<p>Full</p>")
    assert digest == consent_text_hash("Short", "<p>Full</p>", {})


def test_consent_text_hash_changes_with_any_text() -> None:
    base = consent_text_hash("Short", "Full", {"de": ("Kurz", "Voll")})
    variants = {
        consent_text_hash("Short!", "Full", {"de": ("Kurz", "Voll")}),
        consent_text_hash("Short", "Full!", {"de": ("Kurz", "Voll")}),
        consent_text_hash("Short", "Full", {"de": ("Kurz!", "Voll")}),
        consent_text_hash("Short", "Full", {"de": ("Kurz", "Voll!")}),
        consent_text_hash("Short", "Full", {"fr": ("Kurz", "Voll")}),
        consent_text_hash("Short", "Full"),
        # The boundary between the texts matters, not only their concatenation.
        consent_text_hash("ShortF", "ull", {"de": ("Kurz", "Voll")}),
    }
    assert base not in variants
    assert len(variants) == 7


def test_consent_text_hash_ignores_the_order_of_translations() -> None:
    one = consent_text_hash("S", "F", {"de": ("a", "b"), "fr": ("c", "d")})
    other = consent_text_hash("S", "F", {"fr": ("c", "d"), "de": ("a", "b")})
    assert one == other
