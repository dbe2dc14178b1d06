"""Rollups: exact numbers on a small known store, UTC days, gaps, repairs, the sample, backfill,
and a property test that rollup totals equal the raw aggregation for random stores."""

from collections import Counter
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, func, select, text

from dashboard.analytics import rollups
from dashboard.analytics.rollups import (
    Settings,
    check_day,
    reconcile_next_day,
    refresh_rollups,
    sample_rate,
)
from dashboard.database import write_intent
from dashboard.extensions import db
from dashboard.models import (
    Activity,
    ActivityType,
    AgreementAction,
    ConsentAgreement,
    Contact,
    HitCounter,
)
from dashboard.models.analytics import (
    NO_CHANNEL,
    ActivityDaily,
    ActivitySample,
    AnalyticsPage,
    ConsentDaily,
    ContactDaily,
    PageDaily,
    RollupGap,
    RollupState,
    SourceDaily,
)
from dashboard.models.hits import NO_CLAIM
from tests import factories

EVE = datetime(2025, 12, 31, 23, 59, 59, tzinfo=UTC)
NEW_YEAR = datetime(2026, 1, 1, tzinfo=UTC)
D0, D1, D2, D3 = date(2025, 12, 31), date(2026, 1, 1), date(2026, 1, 2), date(2026, 1, 3)


def type_ids() -> dict[str, int]:
    return dict(db.session.execute(select(ActivityType.code_name, ActivityType.id)).all())


def add_activity(contact: Contact, code: str, at: datetime, channel=None, **fields) -> Activity:
    row = Activity(
        contact_id=contact.id,
        type_id=type_ids()[code],
        channel_id=channel.id if channel else None,
        created_at=at,
        **fields,
    )
    db.session.add(row)
    return row


def agreement(contact: Contact, consent, action: str, at: datetime) -> None:
    db.session.add(
        ConsentAgreement(
            contact_id=contact.id,
            consent_id=consent.id,
            action=AgreementAction(action),
            text_hash=consent.text_hash,
            created_at=at,
        )
    )


def known_store():
    """Three contacts on two channels around a year's edge (numbers are asserted below)."""
    consent = factories.consent()
    web = factories.channel("corporate-site", consent=consent)
    shop = factories.channel("shop-site")
    ana = factories.contact(
        email="ana@example.com", first_name="Ana", last_name="Smith", created_at=EVE
    )
    anon = factories.contact(created_at=NEW_YEAR)
    bo = factories.contact(
        email="bo@example.com",
        first_name="Bo",
        last_name="Berg",
        created_at=NEW_YEAR + timedelta(hours=12),
    )
    pricing = "https://ex.com/pricing"
    add_activity(
        ana,
        "landingpage",
        EVE,
        web,
        url=pricing + "?utm_source=news&email=ana@example.com",
        title="Pricing",
        referrer="https://www.google.com/search?q=ana",
        utm_source="news",
    )
    add_activity(ana, "pagevisit", EVE, web, url=pricing + "?utm_source=news", title="Pricing")
    add_activity(ana, "click", NEW_YEAR, web, value="Buy")
    add_activity(anon, "pagevisit", NEW_YEAR + timedelta(hours=10), shop, url="https://shop.ex.com")
    add_activity(anon, "pagevisit", NEW_YEAR + timedelta(days=1), web, url=pricing, title="Pricing")
    add_activity(anon, "bizformsubmit", NEW_YEAR + timedelta(days=1, hours=1), web)
    t = NEW_YEAR + timedelta(hours=13)
    add_activity(bo, "landingpage", t, web, url=pricing + "#top", title="Pricing")
    add_activity(bo, "pagevisit", t, web, url=pricing + "#top", title="Pricing")
    add_activity(bo, "click", t + timedelta(minutes=1), web, value="Buy")
    add_activity(bo, "bizformsubmit", NEW_YEAR + timedelta(days=2), None)  # R9: no channel
    agreement(ana, consent, "agree", NEW_YEAR)
    agreement(anon, consent, "agree", NEW_YEAR + timedelta(hours=11))
    agreement(ana, consent, "agree", NEW_YEAR + timedelta(days=1))  # again: no new agreement
    agreement(anon, consent, "revoke", NEW_YEAR + timedelta(days=2))
    for channel, day, claimed, agreed, gpc, tracked, hits in [
        (web, D1, 1000, True, False, True, 3),
        (web, D1, NO_CLAIM, False, False, False, 5),
        (web, D2, NO_CLAIM, False, True, False, 2),
        (shop, D1, NO_CLAIM, False, False, True, 4),
    ]:
        db.session.add(
            HitCounter(
                channel_id=channel.id,
                day=day,
                activity_type="pagevisit",
                claimed_level=claimed,
                has_agreement=agreed,
                gpc=gpc,
                tracked=tracked,
                hits=hits,
            )
        )
    db.session.commit()
    return {"consent": consent, "web": web, "shop": shop, "ana": ana, "anon": anon, "bo": bo}


def activity_daily() -> dict:
    rows = db.session.execute(
        select(
            ActivityDaily.day,
            ActivityDaily.channel_id,
            ActivityType.code_name,
            ActivityDaily.activities,
        ).join(ActivityType, ActivityType.id == ActivityDaily.type_id)
    )
    return {(d, c, t): n for d, c, t, n in rows if n}


def test_known_store_rolls_up_to_exact_numbers(app):
    s = known_store()
    web, shop = s["web"].id, s["shop"].id
    result = refresh_rollups()
    assert result.rows == {"activity": 10, "contact": 2, "agreement": 4}
    assert activity_daily() == {
        (D0, web, "landingpage"): 1,
        (D0, web, "pagevisit"): 1,
        (D1, web, "click"): 2,
        (D1, shop, "pagevisit"): 1,
        (D1, web, "landingpage"): 1,
        (D1, web, "pagevisit"): 1,
        (D2, web, "pagevisit"): 1,
        (D2, web, "bizformsubmit"): 1,
        (D3, NO_CHANNEL, "bizformsubmit"): 1,
    }
    pages = {p.url: p for p in db.session.scalars(select(AnalyticsPage))}
    assert set(pages) == {"https://ex.com/pricing", "https://shop.ex.com/"}
    assert pages["https://ex.com/pricing"].title == "Pricing"
    views = Counter()
    for day, page_id, code, n in db.session.execute(
        select(PageDaily.day, PageDaily.page_id, ActivityType.code_name, PageDaily.views).join(
            ActivityType, ActivityType.id == PageDaily.type_id
        )
    ):
        views[(day, page_id, code)] += n
    pricing = pages["https://ex.com/pricing"].id
    assert views == Counter(
        {
            (D0, pricing, "pagevisit"): 1,
            (D0, pricing, "landingpage"): 1,
            (D1, pricing, "pagevisit"): 1,
            (D1, pricing, "landingpage"): 1,
            (D1, pages["https://shop.ex.com/"].id, "pagevisit"): 1,
            (D2, pricing, "pagevisit"): 1,
        }
    )
    sources = {
        (d, dim, v): n
        for d, dim, v, n in db.session.execute(
            select(SourceDaily.day, SourceDaily.dimension, SourceDaily.value, SourceDaily.visits)
        )
    }
    assert sources == {
        (D0, "referrer", "google.com"): 1,
        (D0, "utm_source", "news"): 1,
        (D0, "utm_medium", ""): 1,
        (D0, "utm_campaign", ""): 1,
        (D1, "referrer", ""): 1,
        (D1, "utm_source", ""): 1,
        (D1, "utm_medium", ""): 1,
        (D1, "utm_campaign", ""): 1,
    }
    contacts = {r.day: (r.contacts, r.identified) for r in db.session.scalars(select(ContactDaily))}
    assert contacts == {D0: (1, 1), D1: (2, 1)}
    consent = {
        r.day: (r.agrees, r.revokes, r.net) for r in db.session.scalars(select(ConsentDaily))
    }
    assert consent == {D1: (2, 0, 2), D2: (1, 0, 0), D3: (0, 1, -1)}
    assert sample_rate() == 1
    assert db.session.scalar(select(func.count()).select_from(ActivitySample)) == 10


def test_a_second_run_adds_only_new_rows(app):
    s = known_store()
    refresh_rollups()
    assert refresh_rollups().rows == {"contact": 0, "activity": 0, "agreement": 0}
    add_activity(s["anon"], "click", NEW_YEAR + timedelta(hours=10, minutes=5), s["shop"])
    db.session.commit()
    assert refresh_rollups().rows["activity"] == 1
    assert activity_daily()[(D1, s["shop"].id, "click")] == 1
    assert activity_daily()[(D1, s["web"].id, "click")] == 2


def test_days_are_utc_whatever_the_session_time_zone(app):
    if db.engine.dialect.name == "postgresql":
        db.session.execute(text("SET TIME ZONE 'Pacific/Kiritimati'"))  # UTC+14
    known_store()
    with write_intent():
        if db.engine.dialect.name == "postgresql":
            db.session.execute(text("SET TIME ZONE 'Pacific/Kiritimati'"))
        refresh_rollups()
    days = {d for d, _, _ in activity_daily()}
    assert days == {D0, D1, D2, D3}
    assert activity_daily()[(D0, known_web_id(), "pagevisit")] == 1


def known_web_id() -> int:
    from dashboard.models import Channel

    return db.session.scalar(select(Channel.id).where(Channel.code_name == "corporate-site"))


def test_an_id_skipped_by_an_open_transaction_is_rolled_up_when_it_commits(app):
    s = known_store()
    top = db.session.scalar(select(func.max(Activity.id)))
    # Id top+1 belongs to a transaction still open when the job passes top+2.
    add_activity(s["ana"], "click", NEW_YEAR, s["web"], value="later").id = top + 2
    db.session.commit()
    refresh_rollups()
    assert db.session.execute(select(RollupGap.first_id, RollupGap.last_id)).all() == [
        (top + 1, top + 1)
    ]
    assert activity_daily()[(D1, s["web"].id, "click")] == 3
    add_activity(s["ana"], "click", NEW_YEAR, s["web"], value="late").id = top + 1
    db.session.commit()
    refresh_rollups()
    assert activity_daily()[(D1, s["web"].id, "click")] == 4
    assert db.session.scalar(select(func.count()).select_from(RollupGap)) == 0
    refresh_rollups()
    assert activity_daily()[(D1, s["web"].id, "click")] == 4


def test_gaps_expire(app):
    s = known_store()
    top = db.session.scalar(select(func.max(Activity.id)))
    add_activity(s["ana"], "click", NEW_YEAR, s["web"]).id = top + 5
    db.session.commit()
    refresh_rollups()
    assert db.session.scalar(select(func.count()).select_from(RollupGap)) == 1
    refresh_rollups(Settings(gap_timeout=timedelta(seconds=-1)))
    assert db.session.scalar(select(func.count()).select_from(RollupGap)) == 0


def test_reconciler_repairs_a_day_after_a_contact_is_deleted(app):
    s = known_store()
    refresh_rollups()
    db.session.delete(s["bo"])  # R11: its activities and agreements go with it
    db.session.commit()
    check = check_day(D1)
    assert check.activities_rebuilt
    assert activity_daily()[(D1, s["web"].id, "click")] == 1
    assert (D1, s["web"].id, "landingpage") not in activity_daily()
    assert {r.day: r.contacts for r in db.session.scalars(select(ContactDaily))} == {D0: 1, D1: 1}
    assert not check_day(D2).activities_rebuilt  # nothing of Bo's that day
    refresh_rollups()
    assert (D3, NO_CHANNEL, "bizformsubmit") in activity_daily()
    assert check_day(D3).activities_rebuilt
    assert (D3, NO_CHANNEL, "bizformsubmit") not in activity_daily()


def test_reconciler_recounts_consents_after_a_deletion_and_walks_the_days(app):
    s = known_store()
    refresh_rollups()
    db.session.delete(s["anon"])
    db.session.commit()
    assert check_day(D1).consents_rebuilt
    consent = {
        r.day: (r.agrees, r.revokes, r.net) for r in db.session.scalars(select(ConsentDaily))
    }
    assert consent == {D1: (1, 0, 1), D2: (1, 0, 0)}
    checked = [reconcile_next_day(today=D3).day for _ in range(5)]
    assert checked == [D0, D1, D2, D3, D0]


def test_identification_moves_a_contact_to_identified(app):
    s = known_store()
    refresh_rollups()
    anon = s["anon"]
    anon.email = "later@example.com"
    add_activity(anon, "datainput", NEW_YEAR + timedelta(days=2), s["web"], value="signup")
    db.session.commit()
    refresh_rollups()
    assert db.session.get(ContactDaily, D1).identified == 2


def test_sample_rate_doubles_and_sheds_contacts(app):
    s = known_store()
    for _ in range(6):
        c = factories.contact(created_at=NEW_YEAR)
        add_activity(c, "pagevisit", NEW_YEAR, s["web"], url="https://ex.com/")
    db.session.commit()
    refresh_rollups(Settings(sample_contacts=4))
    rate = sample_rate()
    assert rate == 4  # 9 contacts, at most 4 sampled: 1 in 4
    sampled = set(db.session.scalars(select(ActivitySample.contact_id)))
    assert sampled == {
        i
        for i in db.session.scalars(select(Contact.id))
        if rollups.in_sample(i, rate)
        and db.session.scalar(select(func.count()).where(Activity.contact_id == i))
    }


def test_backfill_command_rebuilds_everything(app, runner):
    known_store()
    refresh_rollups()
    before = activity_daily()
    db.session.execute(delete(ActivityDaily))
    db.session.commit()
    result = runner.invoke(args=["backfill-rollups"])
    assert result.exit_code == 0, result.output
    assert "Rolled up 10 activity rows, 2 contact rows, 4 agreement rows" in result.output
    assert activity_daily() == before
    again = runner.invoke(args=["refresh-rollups"])
    assert again.exit_code == 0
    assert "0 activity rows" in again.output


def test_a_busy_stream_is_skipped_not_waited_for(app, other_app):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("row locks: SQLite serialises writers with BEGIN IMMEDIATE instead")
    known_store()
    refresh_rollups()  # creates the state rows
    with db.engine.connect() as conn:
        conn.execute(text("SELECT 1 FROM rollup_state WHERE name = 'activity' FOR UPDATE"))
        with other_app.app_context():
            result = refresh_rollups()
            db.session.remove()
        conn.rollback()
    assert "activity" in result.busy


# --- Property: rollups equal the raw aggregation ------------------------------------------------

CODES = ("pagevisit", "landingpage", "click", "bizformsubmit")
URLS = (
    "https://a.example.com/",
    "https://a.example.com/x?utm_source=q",
    "https://b.example.com/y#f",
)

events = st.lists(
    st.tuples(
        st.integers(0, 3),  # contact
        st.sampled_from(CODES),
        st.integers(0, 3 * 24 * 60 - 1),  # minute within three days
        st.integers(0, 2),  # channel index; 2 = none
        st.sampled_from(URLS),
        st.sampled_from(("", "https://www.google.com/", "https://bing.com/a")),
    ),
    max_size=25,
)
consent_rows = st.lists(
    st.tuples(st.integers(0, 3), st.booleans(), st.integers(0, 3 * 24 * 60 - 1)), max_size=10
)


def _clear() -> None:
    with write_intent():
        for model in (*rollups.ROLLUP_MODELS, ConsentAgreement, Activity, Contact):
            db.session.execute(delete(model))
        db.session.commit()


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(events=events, agreements=consent_rows, batch=st.integers(1, 7), split=st.integers(0, 25))
def test_rollup_totals_equal_raw_aggregation(app, events, agreements, batch, split):
    _clear()
    from dashboard.models import Channel, Consent

    channels = list(db.session.scalars(select(Channel).order_by(Channel.id)))
    if not channels:
        consent = factories.consent()
        channels = [factories.channel("web-a", consent=consent), factories.channel("web-b")]
    consent = db.session.scalars(select(Consent)).first()
    start = datetime(2026, 3, 1, tzinfo=UTC)
    people = [factories.contact(created_at=start + timedelta(hours=7 * i)) for i in range(4)]
    for i, (who, code, minute, ch, url, ref) in enumerate(events):
        if i == split:
            db.session.commit()
            refresh_rollups(Settings(batch=batch))
        add_activity(
            people[who],
            code,
            start + timedelta(minutes=minute),
            channels[ch] if ch < 2 else None,
            url=url,
            referrer=ref or None,
        )
    for who, agree, minute in agreements:
        agreement(
            people[who], consent, "agree" if agree else "revoke", start + timedelta(minutes=minute)
        )
    db.session.commit()
    refresh_rollups(Settings(batch=batch), max_batches=None)

    raw = Counter()
    for _who, code, minute, ch, *_ in events:
        day = (start + timedelta(minutes=minute)).date()
        raw[(day, channels[ch].id if ch < 2 else NO_CHANNEL, code)] += 1
    assert activity_daily() == dict(raw)
    views = db.session.scalar(select(func.coalesce(func.sum(PageDaily.views), 0)))
    assert views == sum(1 for e in events if e[1] in ("pagevisit", "landingpage"))
    for dimension in ("referrer", "utm_source"):
        visits = db.session.scalar(
            select(func.coalesce(func.sum(SourceDaily.visits), 0)).where(
                SourceDaily.dimension == dimension
            )
        )
        assert visits == sum(1 for e in events if e[1] == "landingpage")
    # Current agreements (R14): the newest row per contact decides.
    newest: dict[int, bool] = {}
    for who, agree, _ in agreements:  # inserted in this order: ids ascend
        newest[who] = agree
    net = db.session.scalar(select(func.coalesce(func.sum(ConsentDaily.net), 0)))
    assert net == sum(newest.values())
    assert db.session.scalar(select(func.coalesce(func.sum(ContactDaily.contacts), 0))) == 4
    assert db.session.scalar(
        select(RollupState.position).where(RollupState.name == "activity")
    ) == (db.session.scalar(select(func.max(Activity.id))) or 0)


def test_the_worker_tick_rolls_up_and_the_thread_is_off_under_testing(app):
    from dashboard.analytics.worker import init_rollups, run_tick

    s = known_store()
    run_tick(app)
    assert activity_daily()[(D1, s["web"].id, "click")] == 2
    assert db.session.scalar(select(RollupState.position).where(RollupState.name == "reconcile"))
    init_rollups(app)
    assert "analytics_rollups" not in app.extensions


def test_the_reconciler_runs_once_per_interval_for_all_processes(app):
    """Each tick rolls up, but a day is re-checked only when the last check by any process is
    ANALYTICS_RECONCILE_INTERVAL old (it recounts a whole day from the raw tables)."""
    from datetime import timedelta

    from sqlalchemy import update

    from dashboard.analytics.worker import run_tick

    known_store()
    app.config["ANALYTICS_RECONCILE_INTERVAL"] = 60

    def checked_at():
        try:
            return db.session.scalar(
                select(RollupState.changed_at).where(RollupState.name == "reconcile")
            )
        finally:
            db.session.rollback()

    run_tick(app)
    first = checked_at()
    assert first is not None
    run_tick(app)  # another process's tick a moment later: nothing to reconcile yet
    assert checked_at() == first
    with app.app_context():
        db.session.execute(
            update(RollupState)
            .where(RollupState.name == "reconcile")
            .values(changed_at=first - timedelta(seconds=61))
        )
        db.session.commit()
    run_tick(app)
    assert checked_at() > first
