"""Compile a segment condition (``dashboard.domain.segments``) into one SQL boolean over Contact.

Every rule becomes a test of ``contact``'s columns or a correlated ``EXISTS`` / newest-row subquery
against ``activity``, ``consent_agreement`` or ``contact_group_member``; the whole tree is one WHERE
clause, so a count, a sample or a recalculation batch is one statement over the store (R16).

* **Per contact through the contact's own index.** Each subquery seeks the contact's few rows in an
  index that starts with ``contact_id``. The cost of a query is then proportional to the contacts
  it looks at: the database tests cheap column rules first, so a selective field rule makes the
  activity rules nearly free, and restricting ``contact.id`` (a refresh batch, a recalculation
  range) restricts all the work. SQLite has no statistics after a bulk load and would otherwise
  pick the (type, created) index and read a whole type per contact, so the index is named there.
* **Contacts in id order.** Consecutive contacts' rows sit side by side in those indexes, so a
  query that visits contacts in id order moves forward through them, page after page, while one
  that visits them in another order seeks a random page for every contact. Scopes by id keep that
  order; a count over the whole store asks for it (``count_matching``).
* **Two-valued.** Every rule is TRUE or FALSE, never NULL (text columns are coalesced to ``''``,
  nullable comparisons guarded), so negation and ``any`` behave as in the Python reference.
* **Same on both engines.** Text rules compare ASCII-case-folded text with ``LIKE`` patterns whose
  wildcards are escaped; on PostgreSQL ``lower()`` runs under the "C" collation, which folds ASCII
  only, exactly like SQLite's built-in ``lower()``. Time windows are ``>= now - N days`` with
  ``now`` passed in, so tests can pin the edges.
"""

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Boolean, String, and_, false, func, literal, not_, or_, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql import ColumnElement, Select
from sqlalchemy.sql.functions import FunctionElement

from ..domain import segments as s
from ..models import (
    Activity,
    ActivityType,
    AgreementAction,
    ConsentAgreement,
    Contact,
    ContactGroupMember,
    UTCDateTime,
)

# Indexes that start with the contact id, named for SQLite (see the module docstring).
ACTIVITY_BY_CONTACT = "ix_activity_contact_created"
# The newest agreement's action is the index's last column: no table row per contact.
AGREEMENT_BY_CONTACT = "INDEXED BY ix_consent_agreement_contact_consent_action"
# Rules that name an activity type read only this index (migration 0003; no table row per
# activity to learn its type): about half the cost of the (contact, created) index.
ACTIVITY_OF_TYPE_BY_CONTACT = "ix_activity_contact_type_created"


def activity_index(typed: bool, declared: set[str]) -> str:
    """The SQLite hint for a contact's activities; ``typed`` when the rule filters by type."""
    name = ACTIVITY_OF_TYPE_BY_CONTACT if typed else ACTIVITY_BY_CONTACT
    return f"INDEXED BY {name if name in declared else ACTIVITY_BY_CONTACT}"


class ascii_like(FunctionElement[bool]):
    """``column LIKE pattern ESCAPE '/'`` ignoring the case of ASCII letters only.

    ``pattern`` must be lower-case (``segments.fold_case``). SQLite's built-in LIKE already folds
    exactly the ASCII letters, so the column is compared as it is, without a function call per
    row; PostgreSQL's LIKE is case-sensitive, so the column is lowered under the "C" collation,
    which also folds ASCII only (a locale would fold "Ä" too, and the engines would disagree).
    """

    type = Boolean()
    inherit_cache = True
    name = "ascii_like"


@compiles(ascii_like)
def _ascii_like(element, compiler, **kw):  # type: ignore[no-untyped-def]
    column, pattern = (compiler.process(c, **kw) for c in element.clauses)
    return f"{column} LIKE {pattern} ESCAPE '/'"


@compiles(ascii_like, "postgresql")
def _ascii_like_postgresql(element, compiler, **kw):  # type: ignore[no-untyped-def]
    column, pattern = (compiler.process(c, **kw) for c in element.clauses)
    return f"lower(({column}) COLLATE \"C\") LIKE {pattern} ESCAPE '/'"


def like_pattern(operator: str, value: str) -> str:
    """The LIKE pattern of a text operator, the value's wildcards escaped with ``/``."""
    text = s.fold_case(value).replace("/", "//").replace("%", "/%").replace("_", "/_")
    return {"contains": f"%{text}%", "starts_with": f"{text}%", "ends_with": f"%{text}"}.get(
        operator, text
    )


def text_matches(column: Any, operator: str, value: str) -> ColumnElement[bool]:
    """NULL-safe, ASCII-case-insensitive text test of the field operators."""
    if operator == "is_empty":
        return or_(column.is_(None), column == "")
    positive = {"not_contains": "contains", "not_equals": "equals"}.get(operator, operator)
    if positive not in s.VALUE_OPERATORS:
        raise ValueError(f"unknown text operator {operator!r}")
    pattern = literal(like_pattern(positive, value), String())
    test = and_(column.is_not(None), ascii_like(column, pattern))
    return test if positive == operator else not_(test)


class _Compiler:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def since(self, days: int) -> ColumnElement[datetime]:
        return literal(self.now - timedelta(days=days), UTCDateTime())

    def activities(
        self, *where: ColumnElement[bool], days: int | None, typed: bool = True
    ) -> Select:
        """The contact's activities matching ``where`` in the last ``days`` (None: ever)."""
        conditions = [Activity.contact_id == Contact.id, *where]
        if days is not None:
            conditions.append(Activity.created_at >= self.since(days))
        declared = {str(ix.name) for ix in Activity.__table__.indexes}
        return (
            select(literal(1))
            .select_from(Activity)
            .where(*conditions)
            .with_hint(Activity, activity_index(typed, declared), "sqlite")
        )

    def has_activity(
        self, *where: ColumnElement[bool], days: int | None, typed: bool = True
    ) -> ColumnElement[bool]:
        return self.activities(*where, days=days, typed=typed).exists()

    def rule(self, rule: s.Rule) -> ColumnElement[bool]:
        expression = _RULES[rule.type](self, rule.params)
        return not_(expression) if rule.negate else expression

    def condition(self, condition: s.Condition) -> ColumnElement[bool]:
        if not condition.groups:
            return false()
        groups = [
            _combine(group.op, [self.rule(r) for r in group.rules]) for group in condition.groups
        ]
        return _combine(condition.op, groups)


def _combine(op: str, parts: list[ColumnElement[bool]]) -> ColumnElement[bool]:
    if len(parts) == 1:
        return parts[0]
    return and_(*parts) if op == s.ALL else or_(*parts)


def _type_named(code_name: str) -> ColumnElement[int]:
    return select(ActivityType.id).where(ActivityType.code_name == code_name).scalar_subquery()


def _contact_field(c: _Compiler, p: dict) -> ColumnElement[bool]:
    return text_matches(getattr(Contact, p["field"]), p["operator"], p["value"])


def _any_activity(c: _Compiler, p: dict) -> ColumnElement[bool]:
    return c.has_activity(days=p["days"], typed=False)


def _activity_types(c: _Compiler, p: dict) -> ColumnElement[bool]:
    if p["match"] == s.ANY:
        return c.has_activity(Activity.type_id.in_(p["type_ids"]), days=p["days"])
    return and_(*(c.has_activity(Activity.type_id == t, days=p["days"]) for t in p["type_ids"]))


def _activity_count(c: _Compiler, p: dict) -> ColumnElement[bool]:
    # "At least K": the K-th matching row exists; the search stops there instead of counting.
    query = c.activities(Activity.type_id == p["type_id"], days=p["days"])
    return query.limit(1).offset(p["times"] - 1).exists()


def _activity_value(c: _Compiler, p: dict) -> ColumnElement[bool]:
    where = [text_matches(Activity.value, p["operator"], p["value"])]
    if p["type_id"] is not None:
        where.append(Activity.type_id == p["type_id"])
    return c.has_activity(*where, days=p["days"], typed=p["type_id"] is not None)


def _activity_of_type(
    c: _Compiler, code_name: str, column: Any, operator: str, text: str, days: int | None
) -> ColumnElement[bool]:
    return c.has_activity(
        Activity.type_id == _type_named(code_name),
        text_matches(column, operator, text),
        days=days,
    )


def _visited_url(c: _Compiler, p: dict) -> ColumnElement[bool]:
    return _activity_of_type(c, "pagevisit", Activity.url, "contains", p["url"], p["days"])


def _landing_page(c: _Compiler, p: dict) -> ColumnElement[bool]:
    return _activity_of_type(c, "landingpage", Activity.url, "contains", p["url"], p["days"])


def _form_submitted(c: _Compiler, p: dict) -> ColumnElement[bool]:
    return _activity_of_type(c, "bizformsubmit", Activity.value, "equals", p["form"], p["days"])


def _consent_agreed(c: _Compiler, p: dict) -> ColumnElement[bool]:
    """R14: the newest agreement row of the contact for the consent is an agree."""
    newest_action = (
        select(ConsentAgreement.action)
        .where(
            ConsentAgreement.contact_id == Contact.id,
            ConsentAgreement.consent_id == p["consent_id"],
        )
        .order_by(ConsentAgreement.id.desc())
        .limit(1)
        .with_hint(ConsentAgreement, AGREEMENT_BY_CONTACT, "sqlite")
        .scalar_subquery()
    )
    # No row at all is "not agreed", not NULL.
    return func.coalesce(newest_action, "") == AgreementAction.AGREE.value


def _in_groups(c: _Compiler, p: dict) -> ColumnElement[bool]:
    def member_of(group_ids: list[int]) -> ColumnElement[bool]:
        return (
            select(literal(1))
            .select_from(ContactGroupMember)
            .where(
                ContactGroupMember.contact_id == Contact.id,
                ContactGroupMember.group_id.in_(group_ids),
            )
            .exists()
        )

    if p["match"] == s.ANY:
        return member_of(p["group_ids"])
    return and_(*(member_of([g]) for g in p["group_ids"]))


def _inactive(c: _Compiler, p: dict) -> ColumnElement[bool]:
    last_seen = func.coalesce(Contact.last_activity_at, Contact.created_at, type_=UTCDateTime())
    return last_seen < c.since(p["days"])


def _country(c: _Compiler, p: dict) -> ColumnElement[bool]:
    return and_(Contact.country.is_not(None), Contact.country.in_(p["countries"]))


def _identified(c: _Compiler, p: dict) -> ColumnElement[bool]:
    return and_(Contact.email.is_not(None), Contact.email != "")


def _channel_active(c: _Compiler, p: dict) -> ColumnElement[bool]:
    return c.has_activity(Activity.channel_id == p["channel_id"], days=p["days"], typed=False)


_RULES: dict[str, Callable[[_Compiler, dict], ColumnElement[bool]]] = {
    s.CONTACT_FIELD: _contact_field,
    s.ANY_ACTIVITY: _any_activity,
    s.ACTIVITY_TYPES: _activity_types,
    s.ACTIVITY_COUNT: _activity_count,
    s.ACTIVITY_VALUE: _activity_value,
    s.VISITED_URL: _visited_url,
    s.LANDING_PAGE: _landing_page,
    s.FORM_SUBMITTED: _form_submitted,
    s.CONSENT_AGREED: _consent_agreed,
    s.IN_GROUPS: _in_groups,
    s.INACTIVE: _inactive,
    s.COUNTRY: _country,
    s.IDENTIFIED: _identified,
    s.CHANNEL_ACTIVE: _channel_active,
}


def compile_condition(condition: s.Condition, *, now: datetime) -> ColumnElement[bool]:
    """The condition as one WHERE clause over ``Contact`` (FALSE for an empty condition)."""
    return _Compiler(now).condition(condition)


def matching_contacts(
    condition: s.Condition, *where: ColumnElement[bool], now: datetime
) -> Select[tuple[int]]:
    """``SELECT contact.id`` of the contacts the condition matches (and ``where``)."""
    return select(Contact.id).where(*where, compile_condition(condition, now=now))


def count_matching(condition: s.Condition, *, now: datetime, dialect: str) -> Select[tuple[int]]:
    """``SELECT count(*)`` of the contacts the condition matches (the builder's preview).

    On SQLite the matching ids are counted from a subquery ordered by id. Left alone, SQLite
    scans the narrowest index that covers the contact columns a rule reads (the email index for
    an email rule) and so visits contacts in email order: every per-contact subquery then seeks
    a random page. The ORDER BY, which SQLite keeps on the only FROM term of an aggregate, makes
    it walk the contacts in id order instead, unless an index is selective enough to sort the
    few ids it finds (an "email equals" rule still uses the unique email index). For the
    condition of ``bench/groups.py`` at 1M contacts the count drops from 1.0-1.2 s to 0.6-0.65 s
    of CPU. PostgreSQL plans correlated subqueries as joins with its own statistics: no ORDER BY
    there.
    """
    matching = matching_contacts(condition, now=now)
    if dialect == "sqlite":
        matching = matching.order_by(Contact.id)
    return select(func.count()).select_from(matching.subquery())
