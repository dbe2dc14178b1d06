"""Materialised membership (R16, R17): refresh after changes, recalculation, command line."""

import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from dashboard import create_app
from dashboard.domain import segments as s
from dashboard.extensions import db
from dashboard.groups import membership, services
from dashboard.groups.freshness import queue_membership_refresh
from dashboard.groups.membership import RecalculationRefused, recalculate_group
from dashboard.groups.refresher import drain_membership_refresh
from dashboard.models import (
    Contact,
    ContactGroup,
    ContactGroupMember,
    GroupStatus,
    MembershipRefresh,
    utcnow,
)
from tests import factories
from tests.tracking_helpers import collect, event


def rule(rule_type: str, negate: bool = False, **params: object) -> dict:
    return {"type": rule_type, "negate": negate, "params": params}


def make_group(
    code: str,
    *rules: dict,
    status: GroupStatus = GroupStatus.READY,
    enabled: bool = True,
) -> ContactGroup:
    condition = {"op": "all", "groups": [{"op": "all", "rules": list(rules)}]} if rules else None
    group = ContactGroup(
        code_name=code,
        display_name=code.title(),
        condition=condition,
        status=status,
        enabled=enabled,
    )
    db.session.add(group)
    db.session.commit()
    return group


def rows(group: ContactGroup) -> dict[int, tuple[bool, bool]]:
    """{contact_id: (by_condition, manual)} of the group."""
    db.session.expire_all()
    member = ContactGroupMember
    return {
        cid: (cond, manual)
        for cid, cond, manual in db.session.execute(
            select(member.contact_id, member.by_condition, member.manual).where(
                member.group_id == group.id
            )
        )
    }


def add_member(group: ContactGroup, contact: Contact, by_condition: bool, manual: bool) -> None:
    db.session.add(
        ContactGroupMember(
            group_id=group.id, contact_id=contact.id, by_condition=by_condition, manual=manual
        )
    )
    db.session.commit()


def queue(*contacts: Contact) -> None:
    queue_membership_refresh(c.id for c in contacts)
    db.session.commit()


def queued() -> set[int]:
    db.session.expire_all()
    return set(db.session.scalars(select(MembershipRefresh.contact_id)))


# --- R17: fresh within seconds, without a recalculation ------------------------------------


def test_tracked_activity_moves_the_contact_into_a_matching_group(client):
    factories.channel("corporate-site", level=1000)
    pricing = make_group("pricing-visitors", rule("visited_url", url="/pricing", days=30))
    others = make_group("blog-readers", rule("visited_url", url="/blog", days=30))
    response = collect(
        client, events=[event("pagevisit", url="http://localhost:5000/demo/pricing")]
    )
    assert response.status_code == 200
    contact = db.session.scalars(select(Contact)).one()
    assert queued() == {contact.id}
    assert rows(pricing) == {}  # nothing moves before the refresh

    assert drain_membership_refresh() == 1

    assert rows(pricing) == {contact.id: (True, False)}
    assert rows(others) == {}
    assert queued() == set()
    assert db.session.get(ContactGroup, pricing.id).status == GroupStatus.READY


def test_refresh_removes_non_matching_members_but_keeps_manual_ones(app):
    germans = make_group("germans", rule("country", countries=["DE"]))
    moved = factories.contact(country="DE")
    pinned = factories.contact(country="DE")
    stays = factories.contact(country="DE")
    add_member(germans, moved, True, False)
    add_member(germans, pinned, True, True)
    add_member(germans, stays, True, False)
    db.session.execute(
        update(Contact).where(Contact.id.in_([moved.id, pinned.id])).values(country="FR")
    )
    queue(moved, pinned, stays)

    assert drain_membership_refresh() == 3

    assert rows(germans) == {pinned.id: (False, True), stays.id: (True, False)}


def test_refresh_flags_a_manual_member_that_starts_matching(app):
    germans = make_group("germans", rule("country", countries=["DE"]))
    person = factories.contact(country="DE")
    add_member(germans, person, False, True)
    queue(person)
    drain_membership_refresh()
    assert rows(germans) == {person.id: (True, True)}


def test_groups_waiting_for_recalculation_or_disabled_are_left_alone(app):
    changed = make_group(
        "changed", rule("country", countries=["DE"]), status=GroupStatus.CONDITION_CHANGED
    )
    disabled = make_group("disabled", rule("country", countries=["DE"]), enabled=False)
    static = make_group("static")
    person = factories.contact(country="DE")
    add_member(static, person, False, True)
    queue(person)
    drain_membership_refresh()
    assert rows(changed) == {}
    assert rows(disabled) == {}
    assert rows(static) == {person.id: (False, True)}
    assert queued() == set()


def test_groups_using_other_groups_see_their_fresh_membership(app):
    # Created in the "wrong" order on purpose: the refresh follows dependencies, not ids.
    fans = make_group("fans", rule("in_groups", match="any", group_ids=[2]))
    germans = make_group("germans", rule("country", countries=["DE"]))
    assert germans.id == 2
    person = factories.contact(country="DE")
    queue(person)
    drain_membership_refresh()
    assert rows(germans) == {person.id: (True, False)}
    assert rows(fans) == {person.id: (True, False)}


def test_manual_changes_refresh_groups_that_use_the_group(app):
    vips = make_group("vips")
    fans = make_group("fans", rule("in_groups", match="any", group_ids=[vips.id]))
    person = factories.contact(email="vip@example.com")
    services.add_manual_members(vips, {"vip@example.com"}, set())
    drain_membership_refresh()
    assert rows(fans) == {person.id: (True, False)}
    services.remove_manual_member(vips, person.id)
    drain_membership_refresh()
    assert rows(vips) == {}
    assert rows(fans) == {}


def test_drain_is_one_pass_in_batches(app):
    group = make_group("everyone", rule("identified", True))
    people = [factories.contact() for _ in range(7)]
    queue(*people)
    assert drain_membership_refresh(batch_size=3) == 7
    assert set(rows(group)) == {p.id for p in people}
    assert drain_membership_refresh() == 0


def test_two_processes_drain_at_once_without_errors(app, other_app):
    group = make_group("everyone", rule("identified", True))
    people = [factories.contact() for _ in range(40)]
    queue(*people)
    failures: list[BaseException] = []

    def drain(flask_app) -> None:  # type: ignore[no-untyped-def]
        with flask_app.app_context():
            try:
                drain_membership_refresh(batch_size=5)
            except BaseException as exc:  # pragma: no cover - reported below
                failures.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=drain, args=(a,)) for a in (other_app, other_app)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
    assert set(rows(group)) == {p.id for p in people}
    assert queued() == set()


def test_background_thread_refreshes_within_seconds(database_url, tmp_path, app):
    """With an interval configured, a request starts the refresher thread of its process."""
    germans = make_group("germans", rule("country", countries=["DE"]))
    person = factories.contact(country="DE")
    live = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test",
            "DATABASE_URL": database_url,
            "GROUP_REFRESH_INTERVAL_SECONDS": 0.05,
        },
        instance_path=str(tmp_path),
    )
    refresher = live.extensions["group_refresher"]
    try:
        queue(person)
        db.session.rollback()
        live.test_client().get("/auth/login")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not rows(germans):
            db.session.rollback()
            time.sleep(0.05)
        assert rows(germans) == {person.id: (True, False)}
    finally:
        refresher.stop()
        with live.app_context():
            db.engine.dispose()


def test_refresher_is_off_under_testing_by_default(app):
    assert "group_refresher" not in app.extensions


# --- Recalculation -----------------------------------------------------------------------------


def test_recalculation_in_batches_keeps_manual_members(app):
    germans = make_group(
        "germans", rule("country", countries=["DE"]), status=GroupStatus.CONDITION_CHANGED
    )
    people = [factories.contact(country="DE" if i % 2 else "FR") for i in range(11)]
    stale = people[0]  # FR: a leftover of an old condition
    pinned = people[2]  # FR, added by hand
    add_member(germans, stale, True, False)
    add_member(germans, pinned, True, True)
    now = utcnow()

    result = recalculate_group(germans.id, now=now, batch_size=3)

    expected = {p.id: (True, False) for p in people if p.country == "DE"}
    assert rows(germans) == {**expected, pinned.id: (False, True)}
    assert result.completed
    assert result.members == len(expected) + 1
    db.session.expire_all()
    group = db.session.get(ContactGroup, germans.id)
    assert group.status == GroupStatus.READY
    assert group.last_calculated_at == now


def test_removing_the_condition_clears_condition_members(app):
    group = make_group("was-dynamic", status=GroupStatus.CONDITION_CHANGED)
    a, b = factories.contact(), factories.contact()
    add_member(group, a, True, False)
    add_member(group, b, True, True)
    recalculate_group(group.id)
    assert rows(group) == {b.id: (False, True)}


def test_recalculation_stops_when_the_condition_changes_meanwhile(app):
    group = make_group("germans", rule("country", countries=["DE"]))
    for _ in range(6):
        factories.contact(country="DE")
    edits: list[str] = []

    def edit_condition(message: str) -> None:
        if not edits:
            edits.append(message)
            saved = db.session.get(ContactGroup, group.id)
            services.save_group(
                saved,
                services.GroupDetails("germans", "Germans", "", True),
                s.condition_from_json({"groups": [{"rules": [rule("country", countries=["AT"])]}]}),
            )

    result = recalculate_group(group.id, batch_size=2, progress=edit_condition)
    assert not result.completed
    assert len(rows(group)) == 2  # only the first batch was applied
    db.session.expire_all()
    assert db.session.get(ContactGroup, group.id).status == GroupStatus.CONDITION_CHANGED


def test_recalculation_is_refused_while_running_unless_interrupted(app):
    group = make_group("busy", rule("identified"), status=GroupStatus.CALCULATING)
    with pytest.raises(RecalculationRefused, match="being recalculated"):
        recalculate_group(group.id)
    db.session.execute(
        update(ContactGroup)
        .where(ContactGroup.id == group.id)
        .values(updated_at=utcnow() - membership.STALE_CALCULATION - timedelta(seconds=1))
    )
    db.session.commit()
    assert recalculate_group(group.id).completed
    with pytest.raises(RecalculationRefused, match="no longer exists"):
        recalculate_group(999)


def test_recalculate_also_rebuilds_groups_that_use_it(app):
    germans = make_group("germans", rule("country", countries=["DE"]), status=GroupStatus.READY)
    fans = make_group("fans", rule("in_groups", match="all", group_ids=[germans.id]))
    unrelated = make_group("unrelated", rule("identified"), status=GroupStatus.CONDITION_CHANGED)
    person = factories.contact(country="DE")
    done = services.recalculate(germans.id)
    assert [r.group_id for r in done] == [germans.id, fans.id]
    assert rows(fans) == {person.id: (True, False)}
    assert rows(unrelated) == {}


def test_dependents_are_ordered_and_transitive(app):
    a = make_group("a", rule("identified"))
    b = make_group("b", rule("in_groups", match="any", group_ids=[a.id]))
    c = make_group("c", rule("in_groups", match="any", group_ids=[b.id, a.id]))
    make_group("d", rule("identified"))
    assert membership.dependents_of(a.id) == [b.id, c.id]
    assert membership.dependents_of(c.id) == []


# --- Command line ------------------------------------------------------------------------------


def test_recalculate_groups_command(runner):
    germans = make_group(
        "germans", rule("country", countries=["DE"]), status=GroupStatus.CONDITION_CHANGED
    )
    make_group("off", rule("identified"), enabled=False)
    make_group("static")
    person = factories.contact(country="DE")
    result = runner.invoke(args=["recalculate-groups"])
    assert result.exit_code == 0, result.output
    assert "Recalculated 1 of 1 groups (1 members)" in result.stdout
    assert rows(germans) == {person.id: (True, False)}

    result = runner.invoke(args=["recalculate-groups", "--group", "off"])
    assert result.exit_code == 0, result.output
    assert "Recalculated 1 of 1 groups" in result.stdout


def test_recalculate_groups_command_fails_for_unknown_or_busy_groups(runner):
    make_group("busy", rule("identified"), status=GroupStatus.CALCULATING)
    result = runner.invoke(args=["recalculate-groups", "--group", "nope"])
    assert result.exit_code != 0
    assert "No group with code name 'nope'" in result.output
    result = runner.invoke(args=["recalculate-groups"])
    assert result.exit_code != 0
    assert "Not recalculated: busy" in result.output


def test_refresh_groups_command(runner):
    group = make_group("everyone", rule("identified", True))
    person = factories.contact()
    queue(person)
    result = runner.invoke(args=["refresh-groups"])
    assert result.exit_code == 0, result.output
    assert "Refreshed the memberships of 1 contacts" in result.stdout
    assert rows(group) == {person.id: (True, False)}
