"""Identification (R8) and merge (R10) decisions, as pure functions."""

import enum
from collections.abc import Mapping


class Identification(enum.Enum):
    """What a submitted email does to the current contact (R8)."""

    NONE = "none"  # no email submitted: fields go to the current contact
    SAME = "same"  # the current contact already has this email
    SET_EMAIL = "set_email"  # current contact has no email and nobody else has it
    MERGE = "merge"  # current contact has no email, another contact has it: merge (R10)
    ROUTE = "route"  # current contact has another email: data goes to the owner of this one


def identify(
    current_email: str | None, submitted: str | None, owner_exists: bool
) -> Identification:
    """Decide R8 for a datainput / bizformsubmit carrying ``submitted`` (normalised) email."""
    if submitted is None:
        return Identification.NONE
    if current_email is None:
        return Identification.MERGE if owner_exists else Identification.SET_EMAIL
    if current_email == submitted:
        return Identification.SAME
    return Identification.ROUTE


def merged_fields(
    survivor: Mapping[str, object], child: Mapping[str, object], fields: tuple[str, ...]
) -> dict[str, object]:
    """Field values after merging ``child`` into ``survivor`` (R10): newer, child values win
    where the child has one; the survivor's email is never replaced."""
    result = {}
    for name in fields:
        child_value = child.get(name)
        keep_survivor = name == "email" or child_value in (None, "")
        result[name] = survivor.get(name) if keep_survivor else child_value
    return result
