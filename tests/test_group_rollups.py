"""Group rollups: exact group-filtered charts after activities, joins and leaves, merges and
erasure, an activity in the same run as its membership, and a property test that the group
rollups (activities and agreements) equal the raw aggregation over the current members for
random stores and changes. Exact consent numbers: ``test_consent_group_rollups.py``."""

import threading
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, func, select

from dashboard.analytics import group_rollups, rollups
from dashboard.analytics.rollups import Settings, check_day, refresh_rollups
from dashboard.analytics.text import page_url, referrer_host, source_value
from dashboard.database import write_intent
from dashboard.extensions import db
from dashboard.groups.services import add_manual_members, delete_group, remove_manual_member
from dashboard.models import (
    Activity,
    ActivityType,
    AgreementAction,
    Channel,
    ConsentAgreement,
    Contact,
    ContactGroup,
    ContactGroupMember,
    Role,
)
from dashboard.models.analytics import NO_CHANNEL, AnalyticsPage
from dashboard.models.group_analytics import (
    GroupActivityDaily,
    GroupConsentDaily,
    GroupContactDaily,
    GroupMemberChange,
    GroupPageDaily,
    GroupRollupMember,
    GroupSourceDaily,
)
from dashboard.privacy.services import erase_contact
from dashboard.tracking.identity import merge_contacts
from tests import factories
from tests.test_analytics import get_csv, make_group
from tests.test_rollups import D1, NEW_YEAR, add_activity, agreement, known_store

PAGE_TYPES = ("pagevisit", "landingpage")
DIMENSIONS = ("referrer", "utm_source", "utm_medium", "utm_campaign")


# --- What the group rollups must hold: the raw aggregation over the current members -----------


def raw_group_counts() -> tuple[Counter, Counter, Counter]:
    """(activities, page views, landings by source) per group from the raw tables."""
    groups: dict[int, list[int]] = {}
    for group_id, contact_id in db.session.execute(
        select(ContactGroupMember.group_id, ContactGroupMember.contact_id)
    ):
        groups.setdefault(contact_id, []).append(group_id)
    codes = dict(db.session.execute(select(ActivityType.id, ActivityType.code_name)).all())
    activities, pages, sources = Counter(), Counter(), Counter()
    rows = db.session.execute(
        select(
            Activity.contact_id,
            Activity.created_at,
            Activity.channel_id,
            Activity.type_id,
            Activity.url,
            Activity.referrer,
            Activity.utm_source,
            Activity.utm_medium,
            Activity.utm_campaign,
        )
    )
    for contact_id, at, channel, type_id, url, referrer, *utm in rows:
        day = at.astimezone(UTC).date()
        channel = channel if channel is not None else NO_CHANNEL
        for g in groups.get(contact_id, []):
            activities[(g, day, channel, type_id)] += 1
            if codes[type_id] in PAGE_TYPES and url is not None:
                pages[(g, day, channel, page_url(url), type_id)] += 1
            if codes[type_id] == "landingpage":
                values = (referrer_host(referrer), *(source_value(v) for v in utm))
                for dimension, value in zip(DIMENSIONS, values, strict=True):
                    sources[(g, day, channel, dimension, value)] += 1
    return activities, pages, sources


def rolled_group_counts() -> tuple[Counter, Counter, Counter]:
    """The same from the group rollups (rows of zero left out)."""
    a = GroupActivityDaily
    activities = Counter(
        {
            (g, d, c, t): n
            for g, d, c, t, n in db.session.execute(
                select(a.group_id, a.day, a.channel_id, a.type_id, a.activities)
            )
            if n
        }
    )
    p = GroupPageDaily
    pages: Counter = Counter()
    for g, d, c, url, t, n in db.session.execute(
        select(
            p.group_id, p.day, AnalyticsPage.channel_id, AnalyticsPage.url, p.type_id, p.views
        ).join(AnalyticsPage, AnalyticsPage.id == p.page_id)
    ):
        if n:
            pages[(g, d, c, url, t)] += n
    s = GroupSourceDaily
    sources = Counter(
        {
            key[:-1]: key[-1]
            for key in db.session.execute(
                select(s.group_id, s.day, s.channel_id, s.dimension, s.value, s.visits)
            )
            if key[-1]
        }
    )
    return activities, pages, sources


def raw_group_contacts() -> dict:
    """(group, creation day) -> (members created that day, of which with an email)."""
    counts: Counter = Counter()
    for g, at, email in db.session.execute(
        select(ContactGroupMember.group_id, Contact.created_at, Contact.email).join(
            Contact, Contact.id == ContactGroupMember.contact_id
        )
    ):
        day = at.astimezone(UTC).date()
        counts[(g, day, "contacts")] += 1
        counts[(g, day, "identified")] += email is not None
    return {
        (g, d): (n, counts[(g, d, "identified")])
        for (g, d, kind), n in counts.items()
        if kind == "contacts"
    }


def raw_group_consents() -> dict:
    """(group, day, consent) -> (agrees, revokes, change in current agreements) over the current
    members, each row's change from the contact's previous row for the consent (R14)."""
    groups: dict[int, list[int]] = {}
    for group_id, contact_id in db.session.execute(
        select(ContactGroupMember.group_id, ContactGroupMember.contact_id)
    ):
        groups.setdefault(contact_id, []).append(group_id)
    counts: Counter = Counter()
    agreed_now: dict[tuple[int, int], bool] = {}
    a = ConsentAgreement
    for contact_id, consent_id, action, at in db.session.execute(
        select(a.contact_id, a.consent_id, a.action, a.created_at).order_by(a.id)
    ):
        agreed = action == AgreementAction.AGREE
        change = int(agreed) - int(agreed_now.get((contact_id, consent_id), False))
        agreed_now[(contact_id, consent_id)] = agreed
        for g in groups.get(contact_id, []):
            key = (g, at.astimezone(UTC).date(), consent_id)
            counts[(*key, "agrees")] += agreed
            counts[(*key, "revokes")] += not agreed
            counts[(*key, "net")] += change
    return {
        key[:3]: (n, counts[(*key[:3], "revokes")], counts[(*key[:3], "net")])
        for key, n in list(counts.items())
        if key[3] == "agrees" and n + counts[(*key[:3], "revokes")]
    }


def rolled_group_consents() -> dict:
    """The same from ``group_consent_daily`` (rows of no agreement left out)."""
    c = GroupConsentDaily
    rows = db.session.execute(select(c.group_id, c.day, c.consent_id, c.agrees, c.revokes, c.net))
    return {(g, d, k): (a, r, n) for g, d, k, a, r, n in rows if a or r}


def assert_group_rollups_exact() -> None:
    assert rolled_group_counts() == raw_group_counts()
    assert rolled_group_consents() == raw_group_consents()
    rolled = db.session.execute(
        select(
            GroupContactDaily.group_id,
            GroupContactDaily.day,
            GroupContactDaily.contacts,
            GroupContactDaily.identified,
        )
    )
    assert {(g, d): (n, k) for g, d, n, k in rolled if n} == raw_group_contacts()


def activity_columns(rows: list[list[str]]) -> dict[str, dict[str, str]]:
    """The activity CSV as {day: {type name: count}} (non-zero counts only)."""
    header = rows[0]
    return {
        row[0]: {name: n for name, n in zip(header[3:], row[3:], strict=True) if n != "0"}
        for row in rows[1:]
    }


def page_totals(rows: list[list[str]]) -> dict[str, str]:
    """The pages CSV as {url: views}."""
    header = rows[0]
    url, views = header.index("URL"), header.index("Views")
    return {row[url]: row[views] for row in rows[1:]}


def chart_store(app, client, login_as) -> dict:
    s = known_store()
    refresh_rollups()
    login_as(Role.ANALYST)
    return s


# --- Exact numbers --------------------------------------------------------------------------


def test_new_activities_of_members_reach_the_group_charts(app, client, login_as):
    s = chart_store(app, client, login_as)
    group = make_group(s["bo"])
    before = activity_columns(get_csv(client, "activity", group=group.id))
    for who, hours in (("bo", 3), ("ana", 4)):
        at = NEW_YEAR + timedelta(days=1, hours=hours)
        add_activity(s[who], "pagevisit", at, s["web"], url="https://ex.com/new")
    db.session.commit()
    assert activity_columns(get_csv(client, "activity", group=group.id)) == before  # not yet
    refresh_rollups()
    after = activity_columns(get_csv(client, "activity", group=group.id))
    assert after["2026-01-02"] == {"Page visit": "1"}  # Bo's, not Ana's
    assert after["2026-01-01"] == before["2026-01-01"]
    assert page_totals(get_csv(client, "pages", group=group.id)) == {
        "https://ex.com/pricing": "1",
        "https://ex.com/new": "1",
    }
    assert_group_rollups_exact()


def test_a_contact_who_joins_and_leaves_is_counted_while_a_member(app, client, login_as):
    s = chart_store(app, client, login_as)
    group = make_group(code="static")
    assert activity_columns(get_csv(client, "activity", group=group.id)) == {
        d: {} for d in ("2025-12-31", "2026-01-01", "2026-01-02", "2026-01-03")
    }
    add_manual_members(group, {"ana@example.com"}, set())
    refresh_rollups()
    joined = activity_columns(get_csv(client, "activity", group=group.id))
    assert joined["2025-12-31"] == {"Page visit": "1", "Landing page": "1"}
    assert joined["2026-01-01"] == {"Click": "1"}
    landings = get_csv(client, "sources", group=group.id, dimension="referrer")
    assert [r[1:3] for r in landings[1:]] == [["google.com", "1"]]
    assert_group_rollups_exact()
    assert remove_manual_member(group, s["ana"].id)
    refresh_rollups()
    left = activity_columns(get_csv(client, "activity", group=group.id))
    assert all(counts == {} for counts in left.values())
    assert get_csv(client, "pages", group=group.id)[1:] == []
    assert_group_rollups_exact()


def test_a_member_and_its_first_activity_in_one_run_count_once(app, client, login_as):
    s = chart_store(app, client, login_as)
    group = make_group(code="fresh")
    newcomer = factories.contact(email="cy@example.com", created_at=NEW_YEAR)
    add_activity(newcomer, "click", NEW_YEAR + timedelta(hours=2), s["web"])
    db.session.add(ContactGroupMember(group_id=group.id, contact_id=newcomer.id, manual=True))
    db.session.commit()
    refresh_rollups()
    assert activity_columns(get_csv(client, "activity", group=group.id))["2026-01-01"] == {
        "Click": "1"
    }
    assert_group_rollups_exact()


def test_a_merge_moves_counts_between_groups(app, client, login_as):
    s = chart_store(app, client, login_as)
    ana_group = make_group(s["ana"], code="ana")
    anon_group = make_group(s["anon"], code="anon")
    merge_contacts(survivor=s["ana"], child=s["anon"])
    db.session.commit()
    refresh_rollups()
    merged = activity_columns(get_csv(client, "activity", group=ana_group.id))
    assert merged["2026-01-01"] == {"Click": "1", "Page visit": "1"}  # the anonymous visit moved
    assert merged["2026-01-02"] == {"Page visit": "1", "Form submission": "1"}
    # The child's memberships move to the survivor (R10): the anonymous contact's group now
    # counts Ana with every activity she holds.
    assert activity_columns(get_csv(client, "activity", group=anon_group.id)) == merged
    assert merged["2025-12-31"] == {"Page visit": "1", "Landing page": "1"}
    assert_group_rollups_exact()


def test_erasing_a_member_removes_its_counts(app, client, login_as):
    s = chart_store(app, client, login_as)
    group = make_group(s["ana"], s["bo"], code="both")
    created = {r[0]: r[3:] for r in get_csv(client, "contacts", group=group.id)[1:]}
    assert created["2026-01-01"] != created["2026-01-02"]  # Bo, created on 1 January
    erase_contact(s["bo"], factories.user(role=Role.ADMIN, email="admin@example.com"))
    refresh_rollups()
    counts = activity_columns(get_csv(client, "activity", group=group.id))
    assert counts["2026-01-01"] == {"Click": "1"}  # Ana's click; Bo's three are gone
    assert counts["2026-01-03"] == {}
    after = {r[0]: r[3:] for r in get_csv(client, "contacts", group=group.id)[1:]}
    assert after["2026-01-01"] == created["2026-01-02"]  # no member created that day now
    assert after["2025-12-31"] == created["2025-12-31"]  # Ana
    assert_group_rollups_exact()


def test_ids_of_deleted_newest_rows_are_not_given_again(app, client, login_as):
    """The rollup job reads ids above its position. SQLite gives a new row max(id) + 1 unless the
    table is AUTOINCREMENT (migration 0008), so a row added after the newest rows were erased
    would take an id the job has passed and never reach the group's rollups."""
    s = chart_store(app, client, login_as)
    make_group(s["ana"], code="ana")
    consent = s["web"].tracking_consent
    stranger = factories.contact(email="zed@example.com", created_at=NEW_YEAR)
    add_activity(stranger, "click", NEW_YEAR, s["web"])
    agreement(stranger, consent, "agree", NEW_YEAR)
    db.session.commit()
    refresh_rollups()
    models = (Contact, Activity, ConsentAgreement)
    newest = {m: db.session.scalar(select(func.max(m.id))) for m in models}
    erase_contact(stranger, factories.user(role=Role.ADMIN, email="admin@example.com"))
    add_activity(s["ana"], "click", NEW_YEAR + timedelta(hours=3), s["web"])
    agreement(s["ana"], consent, "revoke", NEW_YEAR + timedelta(hours=3))
    factories.contact(email="yu@example.com", created_at=NEW_YEAR)
    db.session.commit()
    assert {m: db.session.scalar(select(func.max(m.id))) > newest[m] for m in models} == {
        m: True for m in models
    }
    refresh_rollups()
    assert_group_rollups_exact()


def test_a_deletion_committed_during_a_run_is_recounted(app, client, login_as):
    """PostgreSQL, migration 0009: a deletion whose (contact, day) is already in the dirty log
    locks that row, so the job, which reads and deletes the row before it recounts the day,
    waits for the deletion to commit and its recount sees it. With ``ON CONFLICT DO NOTHING``
    the job took the row, recounted without the uncommitted deletion, and nothing was left to
    recount once it committed: the group kept counting the deleted visit."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite: the job holds the database's write lock for the whole run")
    s = chart_store(app, client, login_as)
    make_group(s["ana"], code="ana")
    landing, visit = db.session.scalars(
        select(Activity).where(Activity.contact_id == s["ana"].id).order_by(Activity.id).limit(2)
    ).all()
    assert landing.created_at.date() == visit.created_at.date()
    db.session.delete(landing)  # logs (Ana, 31 December)
    db.session.commit()
    deleting = db.engine.connect()
    deleting.execute(delete(Activity).where(Activity.id == visit.id))  # finds the logged row
    commit = threading.Timer(1.0, deleting.commit)
    commit.start()
    try:
        refresh_rollups()
    finally:
        commit.join()
        deleting.close()
    assert_group_rollups_exact()


def test_deleting_a_group_drops_its_rollups(app, client, login_as):
    s = chart_store(app, client, login_as)
    group = make_group(s["ana"], code="gone")
    assert db.session.scalar(select(GroupActivityDaily.group_id).limit(1)) == group.id
    delete_group(group)
    refresh_rollups()
    for model in (GroupActivityDaily, GroupPageDaily, GroupSourceDaily, GroupRollupMember):
        assert db.session.scalar(select(model.group_id).limit(1)) is None
    assert db.session.scalar(select(GroupMemberChange.id).limit(1)) is None


def test_a_backfill_rebuilds_the_group_rollups(app, client, login_as):
    s = chart_store(app, client, login_as)
    make_group(s["ana"], s["anon"], code="two")
    expected = rolled_group_counts()
    assert expected[0]
    rollups.backfill_rollups()
    assert rolled_group_counts() == expected
    assert_group_rollups_exact()


def test_the_reconciler_rebuilds_a_days_group_rows(app, client, login_as):
    s = chart_store(app, client, login_as)
    make_group(s["ana"], s["bo"], code="drift")
    with write_intent():
        db.session.execute(delete(GroupActivityDaily).where(GroupActivityDaily.day == D1))
        db.session.commit()
    assert rolled_group_counts() != raw_group_counts()
    check_day(D1, force=True)
    assert_group_rollups_exact()


# --- Property: group rollups equal the raw aggregation over the current members -----------------

CODES = ("pagevisit", "landingpage", "click")
URLS = ("https://a.example.com/", "https://a.example.com/x?utm_source=q", "https://b.example.com/y")
MINUTES = st.integers(0, 3 * 24 * 60 - 1)
AGREEMENT = st.tuples(st.just("agreement"), st.integers(0, 3), st.booleans(), MINUTES)
# Agreements (and memberships) before the first run, so that the changes that follow meet an
# agreement history more often than a short random list would build one.
history = st.lists(
    st.one_of(AGREEMENT, st.tuples(st.just("join"), st.integers(0, 1), st.integers(0, 3))),
    max_size=10,
)
operations = st.lists(
    st.one_of(
        st.tuples(
            st.just("activity"),
            st.integers(0, 3),
            st.sampled_from(CODES),
            MINUTES,
            st.integers(0, 1),
            st.sampled_from(URLS),
            st.sampled_from(("", "https://www.google.com/a")),
        ),
        AGREEMENT,
        st.tuples(st.just("join"), st.integers(0, 1), st.integers(0, 3)),
        st.tuples(st.just("leave"), st.integers(0, 1), st.integers(0, 3)),
        st.tuples(st.just("erase"), st.integers(0, 3)),
        st.tuples(st.just("merge"), st.integers(0, 3), st.integers(0, 3)),
        st.tuples(st.just("run")),
    ),
    max_size=30,
)


def _clear() -> None:
    with write_intent():
        for model in (ContactGroup, Activity, Contact):
            db.session.execute(delete(model))
        db.session.commit()
    rollups.reset_rollups()


def _apply(op: tuple, people: list[Contact | None], groups: list[ContactGroup], web, start, batch):
    kind, *args = op
    if kind == "agreement":
        who, agrees, minute = args
        if people[who] is not None:
            action = "agree" if agrees else "revoke"
            agreement(people[who], web.tracking_consent, action, start + timedelta(minutes=minute))
    if kind == "activity":
        who, code, minute, ch, url, ref = args
        if people[who] is not None:
            add_activity(
                people[who],
                code,
                start + timedelta(minutes=minute),
                web if ch == 0 else None,
                url=url,
                referrer=ref or None,
                utm_source="news" if "utm" in url else None,
            )
    elif kind in ("join", "leave"):
        g, who = args
        if people[who] is None:
            return
        member = db.session.get(ContactGroupMember, (groups[g].id, people[who].id))
        if kind == "join" and member is None:
            db.session.add(ContactGroupMember(group_id=groups[g].id, contact_id=people[who].id))
        elif kind == "leave" and member is not None:
            db.session.delete(member)
    elif kind == "erase":
        (who,) = args
        if people[who] is not None:
            db.session.execute(delete(Activity).where(Activity.contact_id == people[who].id))
            db.session.execute(
                delete(ConsentAgreement).where(ConsentAgreement.contact_id == people[who].id)
            )
    elif kind == "merge":
        survivor, child = args
        if survivor != child and people[survivor] is not None and people[child] is not None:
            merge_contacts(survivor=people[survivor], child=people[child])
            people[child] = None
    db.session.commit()
    if kind == "run":
        refresh_rollups(Settings(batch=batch))


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(before=history, ops=operations, batch=st.integers(1, 6), changes=st.integers(1, 4))
def test_group_rollups_equal_the_raw_aggregation_over_current_members(
    app, monkeypatch, before, ops, batch, changes
):
    monkeypatch.setattr(group_rollups, "CHANGE_BATCH", changes)  # several runs per change set
    _clear()
    web = db.session.scalars(select(Channel)).first() or factories.channel(
        "web-g", consent=factories.consent()
    )
    start = datetime(2026, 3, 1, tzinfo=UTC)
    people: list[Contact | None] = [
        factories.contact(created_at=start + timedelta(hours=i)) for i in range(4)
    ]
    groups = []
    for i in range(2):
        group = ContactGroup(code_name=f"g{i}", display_name=f"G{i}")
        db.session.add(group)
        groups.append(group)
    db.session.commit()
    for op in [*before, ("run",), *ops]:
        _apply(op, people, groups, web, start, batch)
    refresh_rollups(Settings(batch=batch), max_batches=None)
    assert_group_rollups_exact()
