"""The condition builder as plain form fields: parse, edit and lay out a condition tree.

The whole tree round-trips through named fields, so the builder works without JavaScript:

    op                      how rule groups combine (all / any)
    g0-op                   how the rules of group 0 combine
    g0-r1-type              rule 1 of group 0: its catalogue type
    g0-r1-shown             the type its parameter fields were rendered for
    g0-r1-negate            "1" when the rule is negated
    g0-r1-<param>           a parameter (repeated for multiple choices)
    g0-new                  the type of rule the group's "Add rule" button adds
    new-group               the type of the first rule of a new group

Submit buttons are named ``action`` with values ``add_group``, ``remove_group:<g>``,
``add_rule:<g>``, ``remove_rule:<g>:<r>``, ``change_type:<g>:<r>``, ``preview``, ``save`` and
``save_recalculate``. Field names equal the paths of ``segments.Validation.errors``, so errors land
next to their fields. Nothing here imports Flask.
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..domain import segments as s

DEFAULT_RULE = s.CONTACT_FIELD
_GROUP_KEY = re.compile(r"g(\d{1,3})-op")
_RULE_KEY = re.compile(r"g(\d{1,3})-r(\d{1,3})-type")
_ACTION = re.compile(
    r"(add_group|remove_group|add_rule|remove_rule|change_type)((?::\d{1,3}){0,2})"
)
EDIT_ACTIONS = ("add_group", "remove_group", "add_rule", "remove_rule", "change_type")


class FormData(Protocol):
    """What the builder reads from a request's form (a werkzeug ``MultiDict``)."""

    def get(self, key: str, default: Any = None) -> Any: ...

    def getlist(self, key: str) -> list[str]: ...

    def keys(self) -> Any: ...


def new_rule(rule_type: str) -> dict[str, Any]:
    """A rule of ``rule_type`` (the default rule for an unknown type) with default parameters."""
    definition = s.RULES.get(rule_type) or s.RULES[DEFAULT_RULE]
    return {"type": definition.type, "negate": False, "params": definition.default_params()}


def new_group(rule_type: str) -> dict[str, Any]:
    """A rule group holding one new rule."""
    return {"op": s.ALL, "rules": [new_rule(rule_type)]}


def _indices(pattern: re.Pattern[str], keys: list[str], limit: int) -> list[tuple[int, ...]]:
    found = {tuple(int(g) for g in m.groups()) for k in keys if (m := pattern.fullmatch(k))}
    return sorted(found)[:limit]


def _param_value(data: FormData, name: str, param: s.Param, shown: bool) -> Any:
    if isinstance(param, s.RefParam) and param.multiple:
        values = data.getlist(name)
        return values if values or shown else param.default
    value = data.get(name)
    return value if value is not None or shown else param.default


def _rule_from_form(data: FormData, gi: int, ri: int) -> dict[str, Any]:
    base = f"g{gi}-r{ri}"
    rule_type = data.get(f"{base}-type", "")
    definition = s.RULES.get(rule_type)
    if definition is None:
        return {"type": rule_type, "negate": False, "params": {}}
    # Fields rendered for another type (the type was just changed) are not this rule's values.
    shown = data.get(f"{base}-shown") == rule_type
    params = {p.name: _param_value(data, f"{base}-{p.name}", p, shown) for p in definition.params}
    return {"type": rule_type, "negate": data.get(f"{base}-negate") == "1", "params": params}


def tree_from_form(data: FormData) -> dict[str, Any]:
    """The condition tree the builder's fields describe (unvalidated, values as typed)."""
    keys = list(data.keys())
    rule_keys = _indices(_RULE_KEY, keys, (s.MAX_GROUPS + 1) * (s.MAX_RULES_PER_GROUP + 1))
    groups = []
    for (gi,) in _indices(_GROUP_KEY, keys, s.MAX_GROUPS + 1):
        rules = [_rule_from_form(data, gi, ri) for g, ri in rule_keys if g == gi]
        groups.append({"op": data.get(f"g{gi}-op", s.ALL), "rules": rules})
    return {"op": data.get("op", s.ALL), "groups": groups}


def requested_action(data: FormData) -> str:
    """The ``action`` button pressed; a plain Enter in a field means ``preview``."""
    action = data.get("action") or "preview"
    return action if isinstance(action, str) else "preview"


def _numbers(suffix: str) -> list[int]:
    return [int(p) for p in suffix.split(":") if p]


def apply_action(tree: dict[str, Any], action: str, data: FormData) -> tuple[dict, str | None]:
    """Apply an editing action to ``tree``; return the tree and the id of the field to focus.

    Unknown actions and out-of-range indices change nothing.
    """
    match = _ACTION.fullmatch(action)
    if match is None:
        return tree, None
    verb, numbers = match.group(1), _numbers(match.group(2))
    groups = tree["groups"]
    if verb == "add_group" and len(groups) < s.MAX_GROUPS:
        groups.append(new_group(data.get("new-group", DEFAULT_RULE)))
        return tree, f"g{len(groups) - 1}-r0-type"
    if not numbers or numbers[0] >= len(groups):
        return tree, None
    gi = numbers[0]
    rules = groups[gi]["rules"]
    if verb == "remove_group":
        del groups[gi]
        return tree, f"g{gi - 1}-new" if gi else "new-group"
    if verb == "add_rule" and len(rules) < s.MAX_RULES_PER_GROUP:
        rules.append(new_rule(data.get(f"g{gi}-new", DEFAULT_RULE)))
        return tree, f"g{gi}-r{len(rules) - 1}-type"
    if len(numbers) < 2 or numbers[1] >= len(rules):
        return tree, None
    ri = numbers[1]
    if verb == "remove_rule":
        del rules[ri]
        return tree, f"g{gi}-new"
    if verb == "change_type":
        return tree, f"g{gi}-r{ri}-type"
    return tree, None


def tree_from_condition(stored: Mapping[str, Any] | None) -> dict[str, Any]:
    """The editable tree of a stored condition (a new group starts with one rule group)."""
    if not stored or not stored.get("groups"):
        return {"op": s.ALL, "groups": [new_group(DEFAULT_RULE)]}
    return {
        "op": stored.get("op", s.ALL),
        "groups": [
            {
                "op": g.get("op", s.ALL),
                "rules": [
                    {
                        "type": r.get("type"),
                        "negate": bool(r.get("negate")),
                        "params": dict(r.get("params") or {}),
                    }
                    for r in g.get("rules", [])
                ],
            }
            for g in stored["groups"]
        ],
    }


# --- Layout for the template ------------------------------------------------------------------


@dataclass(frozen=True)
class Option:
    """A choice of a select or a checkbox list."""

    value: str
    label: str
    selected: bool


@dataclass(frozen=True)
class FieldView:
    """One parameter field: ``kind`` is number, text, select or checkboxes."""

    name: str
    label: str
    kind: str
    value: str
    options: list[Option]
    error: str | None
    hint: str
    low: int | None = None
    high: int | None = None


@dataclass(frozen=True)
class RuleView:
    """A rule row of the builder."""

    index: int
    name: str  # the field-name prefix, e.g. g0-r1
    type: str
    negate: bool
    fields: list[FieldView]
    error: str | None
    sentence: str | None


@dataclass(frozen=True)
class GroupView:
    """A rule group box of the builder."""

    index: int
    op: str
    rules: list[RuleView]
    error: str | None


@dataclass(frozen=True)
class TreeView:
    """The whole builder."""

    op: str
    groups: list[GroupView]
    error: str | None
    rule_types: list[Option] = field(default_factory=list)
    combinators: list[Option] = field(default_factory=list)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    return str(value)


def _chosen(value: Any) -> set[str]:
    if isinstance(value, list | tuple):
        return {str(v) for v in value}
    return set() if value is None else {str(value)}


def _field(
    name: str, param: s.Param, value: Any, catalogue: s.Catalogue, hide: set[str], error: str | None
) -> FieldView:
    if isinstance(param, s.IntParam):
        return FieldView(
            name, param.label, "number", _text(value), [], error, param.hint, param.low, param.high
        )
    if isinstance(param, s.ChoiceParam):
        chosen = _chosen(value)
        options = [Option(v, label, v in chosen) for v, label in param.choices]
        return FieldView(name, param.label, "select", "", options, error, param.hint)
    if isinstance(param, s.RefParam):
        chosen = _chosen(value)
        names = catalogue.names(param.kind)
        options = [
            Option(str(i), n, str(i) in chosen)
            for i, n in sorted(names.items(), key=lambda item: (item[1].lower(), item[0]))
            if str(i) not in hide or str(i) in chosen
        ]
        if param.multiple:
            return FieldView(name, param.label, "checkboxes", "", options, error, param.hint)
        empty = "Any" if not param.required else "Choose…"
        options.insert(0, Option("", empty, not chosen))
        return FieldView(name, param.label, "select", "", options, error, param.hint)
    return FieldView(name, param.label, "text", _text(value), [], error, param.hint)


def _sentence(raw: Mapping[str, Any], catalogue: s.Catalogue) -> str | None:
    checked = s.validate_condition({"groups": [{"rules": [raw]}]}, catalogue)
    if checked.condition is None:
        return None
    return s.describe_rule(checked.condition.groups[0].rules[0], catalogue)


def tree_view(
    tree: Mapping[str, Any],
    catalogue: s.Catalogue,
    errors: Mapping[str, str],
    *,
    group_id: int | None = None,
) -> TreeView:
    """Lay the tree out for the template; ``group_id`` (the group edited) is not offered as a
    group to be in."""
    hide = {str(group_id)} if group_id is not None else set()
    groups = []
    for gi, group in enumerate(tree.get("groups", [])):
        rules = []
        for ri, rule in enumerate(group.get("rules", [])):
            name = s.rule_path(gi, ri)
            definition = s.RULES.get(rule.get("type"))
            params = rule.get("params", {})
            fields = (
                [
                    _field(
                        f"{name}-{p.name}",
                        p,
                        params.get(p.name),
                        catalogue,
                        hide,
                        errors.get(f"{name}-{p.name}"),
                    )
                    for p in definition.params
                ]
                if definition
                else []
            )
            rules.append(
                RuleView(
                    ri,
                    name,
                    rule.get("type", ""),
                    bool(rule.get("negate")),
                    fields,
                    errors.get(f"{name}-type") or errors.get(name),
                    _sentence(rule, catalogue) if definition else None,
                )
            )
        groups.append(GroupView(gi, group.get("op", s.ALL), rules, errors.get(f"g{gi}")))
    return TreeView(
        tree.get("op", s.ALL),
        groups,
        errors.get(""),
        rule_types=[Option(d.type, d.label, False) for d in s.RULES.values()],
        combinators=[Option(op, label, False) for op, label in s.COMBINATOR_LABELS.items()],
    )
