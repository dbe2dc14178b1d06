"""Contact-group conditions (domain.md section 7): the tree, its rule catalogue and validation.

A condition is JSON::

    {"op": "all" | "any",
     "groups": [{"op": "all" | "any",
                 "rules": [{"type": "activity_count", "negate": false,
                            "params": {"type_id": 1, "times": 3, "days": 30}}]}]}

The top level combines rule groups, a rule group combines rules, and each rule may be negated
("is not" / "has not"). Rules name activity types, consents, channels and other groups by id; a
``Catalogue`` gives their names, so validation can refuse unknown ids and sentences can say
"Page visit" rather than "type 1". Nothing here touches Flask or the database:
``dashboard/groups/compiler.py`` turns a validated ``Condition`` into SQL.
"""

import re
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

ALL = "all"
ANY = "any"
COMBINATORS = (ALL, ANY)
COMBINATOR_LABELS = {ALL: "all of", ANY: "any of"}

MAX_GROUPS = 20
MAX_RULES_PER_GROUP = 20
MAX_CHOICES = 50
MAX_DAYS = 3650
MAX_TIMES = 1000
MAX_TEXT = 250

# ASCII-only case folding: what SQLite's lower() does, and what the compiler makes PostgreSQL do,
# so "contains" means the same on both engines.
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
_COUNTRY = re.compile(r"[A-Z]{2}")


def fold_case(text: str) -> str:
    """Lower-case the ASCII letters of ``text`` (the case-insensitivity text rules use)."""
    return text.translate(_ASCII_LOWER)


# --- The tree ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    """One rule of the catalogue with its validated parameters."""

    type: str
    params: Mapping[str, Any]
    negate: bool = False

    def to_json(self) -> dict[str, Any]:
        """The rule as stored."""
        return {"type": self.type, "negate": self.negate, "params": dict(self.params)}


@dataclass(frozen=True)
class RuleGroup:
    """Rules combined with ``all`` or ``any``."""

    op: str
    rules: tuple[Rule, ...]

    def to_json(self) -> dict[str, Any]:
        """The rule group as stored."""
        return {"op": self.op, "rules": [r.to_json() for r in self.rules]}


@dataclass(frozen=True)
class Condition:
    """Rule groups combined with ``all`` or ``any``; no groups means "no condition"."""

    op: str = ALL
    groups: tuple[RuleGroup, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """The condition as stored in ``contact_group.condition``."""
        return {"op": self.op, "groups": [g.to_json() for g in self.groups]}

    def rules(self) -> list[Rule]:
        """Every rule of every group."""
        return [r for g in self.groups for r in g.rules]

    def referenced_groups(self) -> set[int]:
        """Ids of the contact groups the condition's "is in group" rules name."""
        return {gid for r in self.rules() if r.type == IN_GROUPS for gid in r.params["group_ids"]}


# --- What rules may refer to ----------------------------------------------------------------


@dataclass(frozen=True)
class Catalogue:
    """Names of what rules can refer to, by id: the choices the builder offers."""

    activity_types: Mapping[int, str] = field(default_factory=dict)
    consents: Mapping[int, str] = field(default_factory=dict)
    channels: Mapping[int, str] = field(default_factory=dict)
    groups: Mapping[int, str] = field(default_factory=dict)

    def names(self, kind: str) -> Mapping[int, str]:
        """The id -> name mapping of ``kind`` (a ``RefParam.kind``)."""
        return getattr(self, kind)


# --- Parameters ---------------------------------------------------------------------------


class ParamError(ValueError):
    """A parameter value that is missing or wrong; the message is shown next to the field."""


@dataclass(frozen=True)
class IntParam:
    """A whole number between ``low`` and ``high``; optional ones may be left empty."""

    name: str
    label: str
    low: int
    high: int
    default: int | None
    required: bool = True
    hint: str = ""

    def parse(self, raw: object, catalogue: Catalogue) -> int | None:
        """Return the number, None when optional and empty, or raise ``ParamError``."""
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            if self.required:
                raise ParamError(f"Enter {self.label.lower()}.")
            return None
        text = raw.strip() if isinstance(raw, str) else None
        if isinstance(raw, int) and not isinstance(raw, bool):
            value = raw
        elif text is not None and text.isascii() and text.isdigit():
            value = int(text) if len(text) <= 18 else self.high + 1
        else:
            raise ParamError(f"{self.label} must be a whole number.")
        if not self.low <= value <= self.high:
            raise ParamError(f"{self.label} must be between {self.low} and {self.high}.")
        return value


@dataclass(frozen=True)
class TextParam:
    """A non-empty text of at most ``max_length`` characters (surrounding spaces removed)."""

    name: str
    label: str
    max_length: int = MAX_TEXT
    hint: str = ""
    default: str = ""

    def parse(self, raw: object, catalogue: Catalogue) -> str:
        """Return the stripped text or raise ``ParamError``."""
        if not isinstance(raw, str) or not raw.strip():
            raise ParamError(f"Enter {self.label.lower()}.")
        value = raw.strip()
        if len(value) > self.max_length:
            raise ParamError(f"{self.label} must be at most {self.max_length} characters.")
        if any(ord(c) < 32 for c in value):
            raise ParamError(f"{self.label} must not contain control characters.")
        return value


@dataclass(frozen=True)
class ChoiceParam:
    """One of a fixed list of values."""

    name: str
    label: str
    choices: tuple[tuple[str, str], ...]
    default: str
    hint: str = ""

    def parse(self, raw: object, catalogue: Catalogue) -> str:
        """Return the chosen value or raise ``ParamError``."""
        if raw not in dict(self.choices):
            raise ParamError(f"Choose {self.label.lower()} from the list.")
        return str(raw)


@dataclass(frozen=True)
class RefParam:
    """Activity types, consents, channels or groups, by id: one, or a non-empty set."""

    name: str
    label: str
    kind: str  # a Catalogue attribute
    multiple: bool = False
    required: bool = True
    hint: str = ""

    @property
    def default(self) -> list[int] | None:
        """Nothing is chosen until the user chooses."""
        return [] if self.multiple else None

    def _one(self, raw: object, catalogue: Catalogue) -> int:
        if isinstance(raw, str) and raw.strip().isdigit():
            raw = int(raw.strip())
        if (
            not isinstance(raw, int)
            or isinstance(raw, bool)
            or raw not in catalogue.names(self.kind)
        ):
            raise ParamError(f"Choose {self.label.lower()} from the list.")
        return raw

    def parse(self, raw: object, catalogue: Catalogue) -> int | list[int] | None:
        """Return the id (or sorted ids) or raise ``ParamError``."""
        if not self.multiple:
            if not self.required and raw in (None, ""):
                return None
            return self._one(raw, catalogue)
        items = raw if isinstance(raw, list | tuple) else ([] if raw in (None, "") else [raw])
        if not items:
            raise ParamError(f"Choose at least one {self.label.lower().rstrip('s')}.")
        if len(items) > MAX_CHOICES:
            raise ParamError(f"Choose at most {MAX_CHOICES}.")
        return sorted({self._one(item, catalogue) for item in items})


@dataclass(frozen=True)
class CountriesParam:
    """ISO 3166 alpha-2 country codes, given as a list or as text like "DE, AT, CH"."""

    name: str
    label: str
    hint: str = "Two-letter ISO codes separated by commas, e.g. DE, AT, CH."
    default: tuple[str, ...] = ()

    def parse(self, raw: object, catalogue: Catalogue) -> list[str]:
        """Return the sorted, upper-cased codes or raise ``ParamError``."""
        if isinstance(raw, str):
            items: Sequence[object] = [p for p in re.split(r"[\s,;]+", raw) if p]
        elif isinstance(raw, list | tuple):
            items = raw
        else:
            items = []
        if not items:
            raise ParamError("Enter at least one country code.")
        codes = set()
        for item in items:
            code = item.strip().upper() if isinstance(item, str) else ""
            if not _COUNTRY.fullmatch(code):
                raise ParamError(f"{_quote(str(item)[:20])} is not a two-letter country code.")
            codes.add(code)
        if len(codes) > MAX_CHOICES:
            raise ParamError(f"Enter at most {MAX_CHOICES} countries.")
        return sorted(codes)


Param = IntParam | TextParam | ChoiceParam | RefParam | CountriesParam

# --- The rule catalogue -------------------------------------------------------------------

CONTACT_FIELD = "contact_field"
ANY_ACTIVITY = "any_activity"
ACTIVITY_TYPES = "activity_types"
ACTIVITY_COUNT = "activity_count"
ACTIVITY_VALUE = "activity_value"
VISITED_URL = "visited_url"
LANDING_PAGE = "landing_page"
FORM_SUBMITTED = "form_submitted"
CONSENT_AGREED = "consent_agreed"
IN_GROUPS = "in_groups"
INACTIVE = "inactive"
COUNTRY = "country"
IDENTIFIED = "identified"
CHANNEL_ACTIVE = "channel_active"

# Contact columns the field rule may test (text columns only), with their labels.
CONTACT_FIELDS: dict[str, str] = {
    "email": "Email",
    "first_name": "First name",
    "middle_name": "Middle name",
    "last_name": "Last name",
    "company": "Company",
    "job_title": "Job title",
    "address": "Address",
    "city": "City",
    "zip": "ZIP code",
    "country": "Country",
    "mobile_phone": "Mobile phone",
    "business_phone": "Business phone",
    "notes": "Notes",
}

# Text operators: value -> (label, phrase, negated phrase).
FIELD_OPERATORS: dict[str, tuple[str, str, str]] = {
    "contains": ("contains", "contains", "does not contain"),
    "not_contains": ("does not contain", "does not contain", "contains"),
    "starts_with": ("starts with", "starts with", "does not start with"),
    "ends_with": ("ends with", "ends with", "does not end with"),
    "equals": ("equals", "equals", "does not equal"),
    "not_equals": ("does not equal", "does not equal", "equals"),
    "is_empty": ("is empty", "is empty", "is not empty"),
}
VALUE_OPERATORS = ("contains", "starts_with", "ends_with", "equals")
OPERATORS_WITHOUT_VALUE = frozenset({"is_empty"})

MATCH = ChoiceParam("match", "Match", ((ANY, "any of"), (ALL, "all of")), ANY)


def _days(required: bool = True, default: int | None = 30) -> IntParam:
    return IntParam(
        "days",
        "Days",
        1,
        MAX_DAYS,
        default,
        required=required,
        hint="" if required else "Leave empty for any time.",
    )


@dataclass(frozen=True)
class RuleDef:
    """A rule of the catalogue: its parameters and how it reads as a sentence."""

    type: str
    label: str
    params: tuple[Param, ...]
    # (params, catalogue, negate) -> the sentence after "Contact ".
    phrase: Callable[[Mapping[str, Any], Catalogue, bool], str]

    def default_params(self) -> dict[str, Any]:
        """Parameter values of a newly added rule."""
        return {p.name: p.default for p in self.params}


def _name(catalogue: Catalogue, kind: str, ref: int | None, what: str) -> str:
    if ref is None:
        return ""
    return catalogue.names(kind).get(ref, f"(deleted {what} #{ref})")


def _names(catalogue: Catalogue, kind: str, refs: Sequence[int], what: str) -> str:
    return ", ".join(_name(catalogue, kind, r, what) for r in refs)


def _verb(negate: bool, yes: str, no: str) -> str:
    return no if negate else yes


def _window(days: int | None) -> str:
    return "" if days is None else f" in the last {days} day{'s' if days != 1 else ''}"


def _quote(text: str) -> str:
    return f"“{text}”"


def _field_phrase(p: Mapping[str, Any], c: Catalogue, negate: bool) -> str:
    _, positive, negative = FIELD_OPERATORS[p["operator"]]
    phrase = negative if negate else positive
    label = CONTACT_FIELDS[p["field"]].lower()
    if p["operator"] in OPERATORS_WITHOUT_VALUE:
        return f"{label} {phrase}"
    return f"{label} {phrase} {_quote(p['value'])}"


def _activity_types_phrase(p: Mapping[str, Any], c: Catalogue, negate: bool) -> str:
    types = _names(c, "activity_types", p["type_ids"], "activity type")
    verb = _verb(negate, "has performed", "has not performed")
    return f"{verb} {COMBINATOR_LABELS[p['match']]}: {types}{_window(p['days'])}"


def _activity_count_phrase(p: Mapping[str, Any], c: Catalogue, negate: bool) -> str:
    name = _name(c, "activity_types", p["type_id"], "activity type")
    times = "once" if p["times"] == 1 else f"{p['times']} times"
    verb = _verb(negate, "has performed", "has not performed")
    return f"{verb} {name} at least {times}{_window(p['days'])}"


def _activity_value_phrase(p: Mapping[str, Any], c: Catalogue, negate: bool) -> str:
    kind = _name(c, "activity_types", p["type_id"], "activity type") or "any type"
    operator = FIELD_OPERATORS[p["operator"]][1]
    verb = _verb(negate, "has performed", "has not performed")
    return (
        f"{verb} an activity ({kind}) whose value {operator} {_quote(p['value'])}"
        f"{_window(p['days'])}"
    )


def _visited_phrase(p: Mapping[str, Any], c: Catalogue, negate: bool) -> str:
    verb = _verb(negate, "has visited", "has not visited")
    return f"{verb} a page whose URL contains {_quote(p['url'])}{_window(p['days'])}"


def _landing_phrase(p: Mapping[str, Any], c: Catalogue, negate: bool) -> str:
    verb = _verb(negate, "has come to", "has not come to")
    return f"{verb} a landing page whose URL contains {_quote(p['url'])}{_window(p['days'])}"


def _form_phrase(p: Mapping[str, Any], c: Catalogue, negate: bool) -> str:
    verb = _verb(negate, "has submitted", "has not submitted")
    return f"{verb} form {_quote(p['form'])}{_window(p['days'])}"


def _consent_phrase(p: Mapping[str, Any], c: Catalogue, negate: bool) -> str:
    name = _name(c, "consents", p["consent_id"], "consent")
    return f"{_verb(negate, 'has agreed', 'has not agreed')} with consent {name}"


def _groups_phrase(p: Mapping[str, Any], c: Catalogue, negate: bool) -> str:
    names = _names(c, "groups", p["group_ids"], "group")
    return f"{_verb(negate, 'is in', 'is not in')} {COMBINATOR_LABELS[p['match']]}: {names}"


def _inactive_phrase(p: Mapping[str, Any], c: Catalogue, negate: bool) -> str:
    days = p["days"]
    verb = _verb(negate, "has been inactive", "has not been inactive")
    return f"{verb} for at least {days} day{'s' if days != 1 else ''}"


def _country_phrase(p: Mapping[str, Any], c: Catalogue, negate: bool) -> str:
    return f"{_verb(negate, 'is from', 'is not from')} any of: {', '.join(p['countries'])}"


def _identified_phrase(p: Mapping[str, Any], c: Catalogue, negate: bool) -> str:
    return "is not identified (has no email)" if negate else "is identified (has an email)"


def _channel_phrase(p: Mapping[str, Any], c: Catalogue, negate: bool) -> str:
    name = _name(c, "channels", p["channel_id"], "channel")
    verb = _verb(negate, "has been active", "has not been active")
    return f"{verb} on channel {name}{_window(p['days'])}"


def _any_activity_phrase(p: Mapping[str, Any], c: Catalogue, negate: bool) -> str:
    verb = _verb(negate, "has performed", "has not performed")
    return f"{verb} any activity{_window(p['days'])}"


ACTIVITY_TYPE = RefParam("type_id", "Activity type", "activity_types")

RULES: dict[str, RuleDef] = {
    d.type: d
    for d in (
        RuleDef(
            CONTACT_FIELD,
            "Contact field",
            (
                ChoiceParam("field", "Field", tuple(CONTACT_FIELDS.items()), "email"),
                ChoiceParam(
                    "operator",
                    "Operator",
                    tuple((k, v[0]) for k, v in FIELD_OPERATORS.items()),
                    "contains",
                ),
                TextParam("value", "Value", hint="Not needed for “is empty”. Ignores case."),
            ),
            _field_phrase,
        ),
        RuleDef(ANY_ACTIVITY, "Did any activity", (_days(),), _any_activity_phrase),
        RuleDef(
            ACTIVITY_TYPES,
            "Did activities of types",
            (MATCH, RefParam("type_ids", "Activity types", "activity_types", True), _days()),
            _activity_types_phrase,
        ),
        RuleDef(
            ACTIVITY_COUNT,
            "Did an activity at least K times",
            (ACTIVITY_TYPE, IntParam("times", "Times", 1, MAX_TIMES, 3), _days()),
            _activity_count_phrase,
        ),
        RuleDef(
            ACTIVITY_VALUE,
            "Activity with a value",
            (
                RefParam(
                    "type_id",
                    "Activity type",
                    "activity_types",
                    required=False,
                    hint="Leave empty for any type.",
                ),
                ChoiceParam(
                    "operator",
                    "Operator",
                    tuple((k, FIELD_OPERATORS[k][0]) for k in VALUE_OPERATORS),
                    "contains",
                ),
                TextParam("value", "Value", hint="Ignores case."),
                _days(),
            ),
            _activity_value_phrase,
        ),
        RuleDef(
            VISITED_URL,
            "Visited a URL",
            (TextParam("url", "URL contains", 500, "Part of the address, e.g. /pricing."), _days()),
            _visited_phrase,
        ),
        RuleDef(
            LANDING_PAGE,
            "Came to a landing page",
            (TextParam("url", "URL contains", 500), _days(required=False, default=None)),
            _landing_phrase,
        ),
        RuleDef(
            FORM_SUBMITTED,
            "Submitted a form",
            (TextParam("form", "Form", 250, "The form's code name, e.g. contact-us."), _days()),
            _form_phrase,
        ),
        RuleDef(
            CONSENT_AGREED,
            "Agreed with a consent",
            (RefParam("consent_id", "Consent", "consents"),),
            _consent_phrase,
        ),
        RuleDef(
            IN_GROUPS,
            "Is in contact groups",
            (MATCH, RefParam("group_ids", "Groups", "groups", True)),
            _groups_phrase,
        ),
        RuleDef(
            INACTIVE,
            "Inactive for N days",
            (IntParam("days", "Days", 1, MAX_DAYS, 90),),
            _inactive_phrase,
        ),
        RuleDef(
            COUNTRY, "From countries", (CountriesParam("countries", "Countries"),), _country_phrase
        ),
        RuleDef(IDENTIFIED, "Is identified", (), _identified_phrase),
        RuleDef(
            CHANNEL_ACTIVE,
            "Active on a channel",
            (RefParam("channel_id", "Channel", "channels"), _days()),
            _channel_phrase,
        ),
    )
}


def describe_rule(rule: Rule, catalogue: Catalogue) -> str:
    """The rule as a sentence, e.g. "Contact has performed any of: Page visit in the last 30
    days"."""
    return "Contact " + RULES[rule.type].phrase(rule.params, catalogue, rule.negate)


def describe_condition(condition: Condition, catalogue: Catalogue) -> list[str]:
    """One line per rule group, e.g. "all of: Contact is identified; Contact is from ...",
    preceded by how the groups combine."""
    if not condition.groups:
        return []
    lines = [f"Contacts matching {COMBINATOR_LABELS[condition.op]} these rule groups:"]
    for group in condition.groups:
        sentences = "; ".join(describe_rule(r, catalogue) for r in group.rules)
        lines.append(f"{COMBINATOR_LABELS[group.op].capitalize()}: {sentences}")
    return lines


# --- Validation ---------------------------------------------------------------------------


@dataclass
class Validation:
    """The validated condition (None when there are errors) and errors by field path.

    Paths name the builder's fields: ``op``, ``g0-op``, ``g0`` (the rule group itself),
    ``g0-r1-type``, ``g0-r1-days`` (a parameter) and ``""`` (the whole condition).
    """

    condition: Condition | None
    errors: dict[str, str]


def rule_path(group: int, rule: int, name: str | None = None) -> str:
    """Field path of a rule (or of one of its parameters)."""
    base = f"g{group}-r{rule}"
    return f"{base}-{name}" if name else base


def _parse_rule(
    raw: object, catalogue: Catalogue, gi: int, ri: int, errors: dict[str, str]
) -> Rule | None:
    if not isinstance(raw, Mapping):
        errors[rule_path(gi, ri)] = "This rule is not readable."
        return None
    definition = RULES.get(raw.get("type"))  # type: ignore[arg-type]
    if definition is None:
        errors[rule_path(gi, ri, "type")] = "Unknown rule: choose a rule from the list."
        return None
    raw_params = raw.get("params")
    raw_params = raw_params if isinstance(raw_params, Mapping) else {}
    params: dict[str, Any] = {}
    failed = False
    for param in definition.params:
        if param.name == "value" and params.get("operator") in OPERATORS_WITHOUT_VALUE:
            params["value"] = ""
            continue
        try:
            params[param.name] = param.parse(raw_params.get(param.name), catalogue)
        except ParamError as exc:
            errors[rule_path(gi, ri, param.name)] = str(exc)
            failed = True
    negate = raw.get("negate", False)
    if not isinstance(negate, bool):
        errors[rule_path(gi, ri, "negate")] = "Negation must be on or off."
        failed = True
    return None if failed else Rule(definition.type, params, negate)


def _combinator(raw: Mapping, path: str, errors: dict[str, str]) -> str:
    op = raw.get("op", ALL)
    if op not in COMBINATORS:
        errors[path] = "Choose “all of” or “any of”."
        return ALL
    return op


def find_cycle(
    group_id: int, referenced: Collection[int], references: Mapping[int, Collection[int]]
) -> list[int] | None:
    """The chain of groups from ``group_id`` back to itself, if its condition (referencing
    ``referenced``) would make it contain itself; ``references`` maps every other group's id to
    the ids its saved condition references."""
    stack: list[tuple[int, list[int]]] = [(r, [group_id, r]) for r in sorted(referenced)]
    seen: set[int] = set()
    while stack:
        current, path = stack.pop()
        if current == group_id:
            return path
        if current in seen:
            continue
        seen.add(current)
        for nxt in sorted(references.get(current, ()), reverse=True):
            stack.append((nxt, [*path, nxt]))
    return None


def _check_cycles(
    condition: Condition,
    catalogue: Catalogue,
    group_id: int | None,
    references: Mapping[int, Collection[int]],
    errors: dict[str, str],
) -> None:
    if group_id is None:
        return  # a group not yet saved cannot be referenced by any other
    for gi, group in enumerate(condition.groups):
        for ri, rule in enumerate(group.rules):
            if rule.type != IN_GROUPS:
                continue
            cycle = find_cycle(group_id, rule.params["group_ids"], references)
            if cycle is None:
                continue
            if len(cycle) == 2:
                message = "A group cannot contain itself: choose other groups."
            else:
                chain = " → ".join(
                    "this group" if g == group_id else _name(catalogue, "groups", g, "group")
                    for g in cycle
                )
                message = f"This would make the group contain itself: {chain}."
            errors[rule_path(gi, ri, "group_ids")] = message


def validate_condition(
    raw: object,
    catalogue: Catalogue,
    *,
    group_id: int | None = None,
    references: Mapping[int, Collection[int]] | None = None,
) -> Validation:
    """Check a condition tree from JSON or the builder and normalise it.

    ``group_id`` is the group the condition belongs to (None for a new group); ``references``
    maps other groups' ids to the group ids their conditions reference, for the cycle check.
    An empty tree (no rule groups) is valid and means "no condition" (a static group).
    """
    errors: dict[str, str] = {}
    if raw is None:
        return Validation(Condition(), errors)
    if not isinstance(raw, Mapping):
        return Validation(None, {"": "The condition is not readable."})
    op = _combinator(raw, "op", errors)
    raw_groups = raw.get("groups", [])
    if not isinstance(raw_groups, list):
        return Validation(None, {"": "The condition is not readable."})
    if len(raw_groups) > MAX_GROUPS:
        errors[""] = f"Use at most {MAX_GROUPS} rule groups."
    groups: list[RuleGroup] = []
    for gi, raw_group in enumerate(raw_groups[:MAX_GROUPS]):
        if not isinstance(raw_group, Mapping):
            errors[f"g{gi}"] = "This rule group is not readable."
            continue
        group_op = _combinator(raw_group, f"g{gi}-op", errors)
        raw_rules = raw_group.get("rules", [])
        if not isinstance(raw_rules, list) or not raw_rules:
            errors[f"g{gi}"] = "Add a rule to this group or remove the group."
            continue
        if len(raw_rules) > MAX_RULES_PER_GROUP:
            errors[f"g{gi}"] = f"Use at most {MAX_RULES_PER_GROUP} rules in a group."
        rules = [
            _parse_rule(r, catalogue, gi, ri, errors)
            for ri, r in enumerate(raw_rules[:MAX_RULES_PER_GROUP])
        ]
        groups.append(RuleGroup(group_op, tuple(r for r in rules if r is not None)))
    condition = Condition(op, tuple(groups))
    if not errors:
        _check_cycles(condition, catalogue, group_id, references or {}, errors)
    return Validation(None if errors else condition, errors)


def condition_from_json(stored: Mapping[str, Any] | None) -> Condition:
    """Rebuild a condition saved by ``Condition.to_json`` without a catalogue (trusted input).

    Used by the compiler's callers: ids that no longer exist simply match nothing.
    """
    if not stored:
        return Condition()
    return Condition(
        stored.get("op", ALL),
        tuple(
            RuleGroup(
                g.get("op", ALL),
                tuple(
                    Rule(r["type"], dict(r.get("params", {})), bool(r.get("negate", False)))
                    for r in g.get("rules", [])
                    if r.get("type") in RULES
                ),
            )
            for g in stored.get("groups", [])
        ),
    )


def stored_references(stored: Mapping[str, Any] | None) -> set[int]:
    """Group ids a stored condition references (tolerant of old or damaged JSON)."""
    try:
        return condition_from_json(stored).referenced_groups()
    except (AttributeError, KeyError, TypeError):
        return set()


def dependency_order(references: Mapping[int, Collection[int]]) -> list[int]:
    """Group ids ordered so that every group comes after the groups its condition uses.

    Groups caught in a cycle (which validation prevents) come last, in id order.
    """
    order: list[int] = []
    placed: set[int] = set()
    remaining = dict(references)
    while remaining:
        ready = sorted(
            g
            for g, refs in remaining.items()
            if all(r in placed or r not in remaining for r in refs)
        )
        if not ready:
            ready = sorted(remaining)
        for g in ready:
            order.append(g)
            placed.add(g)
            del remaining[g]
    return order
