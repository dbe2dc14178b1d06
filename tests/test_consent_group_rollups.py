"""Per-group consent rollups: exact numbers of the group-filtered consent chart after agree,
revoke and re-agree, a contact joining and leaving with its agreement history, an agreement in
the same run as its membership, a merge and an erasure; each also checked against the raw
aggregation over the current members (``assert_group_rollups_exact``)."""

from datetime import timedelta

from dashboard.analytics.rollups import refresh_rollups
from dashboard.extensions import db
from dashboard.groups.services import add_manual_members, remove_manual_member
from dashboard.models import ContactGroupMember, Role
from dashboard.privacy.services import erase_contact
from dashboard.tracking.identity import merge_contacts
from tests import factories
from tests.test_analytics import get_csv, make_group
from tests.test_group_rollups import assert_group_rollups_exact, chart_store
from tests.test_rollups import NEW_YEAR, agreement

# The known store's agreements: Ana agrees on 1 January and again on 2 January; the anonymous
# contact agrees on 1 January and revokes on 3 January. Bo has none.
DAYS = ("2025-12-31", "2026-01-01", "2026-01-02", "2026-01-03")


def consent_columns(client, group, **params) -> dict[str, list[str]]:
    """Day -> [agrees, revokes, current agreements] of the consent chart."""
    return {r[0]: r[3:] for r in get_csv(client, "consent", group=group.id, **params)[1:]}


def nothing(*days: str) -> dict[str, list[str]]:
    return {d: ["0", "0", "0"] for d in days}


def test_agree_revoke_and_agree_again(app, client, login_as):
    s = chart_store(app, client, login_as)
    group = make_group(s["bo"], code="bo")
    assert consent_columns(client, group) == nothing(*DAYS)
    day = NEW_YEAR + timedelta(days=1)
    agreement(s["bo"], s["consent"], "agree", day + timedelta(hours=3))
    agreement(s["bo"], s["consent"], "revoke", day + timedelta(days=1, hours=1))
    agreement(s["bo"], s["consent"], "agree", day + timedelta(days=1, hours=5))
    agreement(s["ana"], s["consent"], "revoke", day + timedelta(hours=4))  # not a member
    db.session.commit()
    refresh_rollups()
    assert consent_columns(client, group) == {
        **nothing("2025-12-31", "2026-01-01"),
        "2026-01-02": ["1", "0", "1"],
        "2026-01-03": ["1", "1", "1"],  # revoked and agreed again
    }
    later = consent_columns(client, group, start="2026-01-03", end="2026-01-03")
    assert later == {"2026-01-03": ["1", "1", "1"]}  # agreed at the start of the range
    assert_group_rollups_exact()


def test_joining_and_leaving_carries_the_agreement_history(app, client, login_as):
    s = chart_store(app, client, login_as)
    group = make_group(code="static")
    add_manual_members(group, {"ana@example.com"}, set())
    refresh_rollups()
    joined = {
        **nothing("2025-12-31"),
        "2026-01-01": ["1", "0", "1"],
        "2026-01-02": ["1", "0", "1"],  # agreeing again changes nothing
        "2026-01-03": ["0", "0", "1"],
    }
    assert consent_columns(client, group) == joined
    assert_group_rollups_exact()
    assert remove_manual_member(group, s["ana"].id)
    refresh_rollups()
    assert consent_columns(client, group) == nothing(*DAYS)
    assert_group_rollups_exact()


def test_a_member_and_its_first_agreement_in_one_run_count_once(app, client, login_as):
    s = chart_store(app, client, login_as)
    group = make_group(code="fresh")
    newcomer = factories.contact(email="cy@example.com", created_at=NEW_YEAR)
    agreement(newcomer, s["consent"], "agree", NEW_YEAR + timedelta(hours=2))
    db.session.add(ContactGroupMember(group_id=group.id, contact_id=newcomer.id, manual=True))
    db.session.commit()
    refresh_rollups()
    assert consent_columns(client, group)["2026-01-01"] == ["1", "0", "1"]
    assert_group_rollups_exact()


def test_a_merge_recounts_the_survivors_groups(app, client, login_as):
    s = chart_store(app, client, login_as)
    ana_group = make_group(s["ana"], code="ana")
    anon_group = make_group(s["anon"], code="anon")
    assert consent_columns(client, anon_group)["2026-01-03"] == ["0", "1", "0"]
    merge_contacts(survivor=s["ana"], child=s["anon"])
    db.session.commit()
    refresh_rollups()
    # Ana now holds both histories: agree, agree (the anonymous one: no change), agree again,
    # revoke (she no longer agrees).
    merged = {
        **nothing("2025-12-31"),
        "2026-01-01": ["2", "0", "1"],
        "2026-01-02": ["1", "0", "1"],
        "2026-01-03": ["0", "1", "0"],
    }
    assert consent_columns(client, ana_group) == merged
    assert consent_columns(client, anon_group) == merged  # the membership moved to Ana (R10)
    assert_group_rollups_exact()


def test_erasing_a_member_removes_its_agreements(app, client, login_as):
    s = chart_store(app, client, login_as)
    group = make_group(s["ana"], s["anon"], code="both")
    assert consent_columns(client, group)["2026-01-02"] == ["1", "0", "2"]
    erase_contact(s["anon"], factories.user(role=Role.ADMIN, email="admin@example.com"))
    refresh_rollups()
    assert consent_columns(client, group) == {
        **nothing("2025-12-31"),
        "2026-01-01": ["1", "0", "1"],
        "2026-01-02": ["1", "0", "1"],
        "2026-01-03": ["0", "0", "1"],
    }
    assert_group_rollups_exact()
