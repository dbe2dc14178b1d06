"""Agreement rollups, store-wide (``consent_daily``) and per group (``group_consent_daily``).

Each agreement row adds one agree or one revoke to its UTC day and consent, and its change in
current agreements (R14): +1 for an agree after none or a revoke, -1 for a revoke after an
agree, 0 otherwise; the previous row is the contact's row for the consent with the next lower
id. Summed over a contact's rows the changes telescope to whether it agrees now, so the agreed
count at the start of a range is the sum of ``net`` before it.

The group rollups add the rows of the members in ``group_rollup_member`` (the membership the job
last applied, ``group_rollups.py``): the agreement stream adds its window for that membership,
the activity stream adds (or takes out) a joining (or leaving) contact's already rolled-up
agreements, and recounts whole groups whose members' agreements were deleted or changed.
"""

from sqlalchemy import and_, case, delete, func, select
from sqlalchemy.sql import ColumnElement

from ..extensions import db
from ..models import AgreementAction, ConsentAgreement
from ..models.analytics import ConsentDaily
from ..models.group_analytics import GroupConsentDaily, GroupRollupMember
from .sql import add_counts, utc_day

VALUES = ["agrees", "revokes", "net"]


def _agreed(action: ColumnElement) -> ColumnElement[int]:
    return case((action == AgreementAction.AGREE, 1), else_=0)


def _totals(condition: ColumnElement[bool], groups: list[int] | None, *, grouped: bool) -> list:
    """(group id when ``grouped``, day, consent id, agrees, revokes, net) of the matched rows,
    aggregated in SQL (by the rolled members' groups when ``grouped``)."""
    previous = ConsentAgreement.__table__.alias("previous")
    prior = (
        select(previous.c.action)
        .where(
            previous.c.contact_id == ConsentAgreement.contact_id,
            previous.c.consent_id == ConsentAgreement.consent_id,
            previous.c.id < ConsentAgreement.id,
        )
        .order_by(previous.c.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    agreed = _agreed(ConsentAgreement.action)
    keys = [GroupRollupMember.group_id.label("group_id")] if grouped else []
    rows = select(
        *keys,
        utc_day(ConsentAgreement.created_at).label("day"),
        ConsentAgreement.consent_id.label("consent_id"),
        agreed.label("agreed"),
        (agreed - _agreed(prior)).label("change"),
    ).where(condition)
    if grouped:
        on = GroupRollupMember.contact_id == ConsentAgreement.contact_id
        if groups is not None:
            on = and_(on, GroupRollupMember.group_id.in_(groups))
        rows = rows.join(GroupRollupMember, on)
    changes = rows.subquery()
    columns = [changes.c.group_id] if grouped else []
    columns += [changes.c.day, changes.c.consent_id]
    agrees = func.sum(changes.c.agreed)
    return list(
        db.session.execute(
            select(*columns, agrees, func.count() - agrees, func.sum(changes.c.change)).group_by(
                *columns
            )
        )
    )


def _add(
    condition: ColumnElement[bool], groups: list[int] | None, *, grouped: bool, sign: int
) -> list:
    """Add ``sign`` times the totals of the matched rows to ``group_consent_daily`` (by the
    rolled members' groups) when ``grouped``, else to ``consent_daily``; return the totals."""
    rows = _totals(condition, groups, grouped=grouped)
    keys = ["group_id", "day", "consent_id"] if grouped else ["day", "consent_id"]
    width = len(keys)
    add_counts(
        GroupConsentDaily if grouped else ConsentDaily,
        keys,
        VALUES,
        [
            dict(
                zip(
                    [*keys, *VALUES],
                    [*row[:width], *(int(v) * sign for v in row[width:])],
                    strict=True,
                )
            )
            for row in rows
        ],
    )
    return rows


def roll_agreements(condition: ColumnElement[bool]) -> int:
    """Add the matched rows to ``consent_daily``; return their number."""
    rows = _add(condition, None, grouped=False, sign=1)
    return sum(int(a) + int(r) for *_, a, r, _ in rows)


def roll_group_agreements(
    condition: ColumnElement[bool], groups: list[int] | None = None, *, sign: int = 1
) -> None:
    """Add (``sign`` -1: take out) the matched rows to the groups of their contacts in the rolled
    membership (every group, or only ``groups``)."""
    _add(condition, groups, grouped=True, sign=sign)


def recount_groups(groups: list[int], rolled: ColumnElement[bool]) -> None:
    """Rebuild the consent rollups of ``groups`` from the rolled-up agreements (``rolled``) of
    their rolled members."""
    if groups:
        db.session.execute(delete(GroupConsentDaily).where(GroupConsentDaily.group_id.in_(groups)))
        roll_group_agreements(rolled, groups)
