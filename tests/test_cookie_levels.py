"""Cookie levels and the effective-level rules R1, R2, R3 (domain.md section 3).

Pure-function tests: no Flask app, no database, no conftest fixtures.

The expected values come from an independent oracle written from the R1 text, using plain
integers copied from the spec's table, never from the module under test.
"""

from itertools import product

import pytest

from dashboard.domain.cookie_levels import (
    CookieLevel,
    InvalidCookieLevel,
    cookies_to_clear,
    effective_level,
    may_track,
    parse_cookie_level,
)

# --- The spec's table (domain.md section 3), as plain integers --------------------------------

SPEC_LEVELS: dict[str, int] = {
    "None": -1000,
    "System": -100,
    "Essential": 0,
    "Editor": 100,
    "Visitor": 200,
    "All": 1000,
}
LABEL_OF: dict[int, str] = {value: name for name, value in SPEC_LEVELS.items()}
ESSENTIAL = SPEC_LEVELS["Essential"]
VISITOR = SPEC_LEVELS["Visitor"]
VISITOR_COOKIE_NAMES = ["CurrentContact", "CMSLandingPageLoaded"]  # R3 / R6

ABSENT = None
# Claimed values that are not one of the six levels: R1 says "a 400 error".
INVALID_CLAIMS: tuple[object, ...] = (5, 999, -1, True, False, "200", 200.0)
CLAIMS: tuple[object, ...] = (ABSENT, *SPEC_LEVELS.values(), *INVALID_CLAIMS)

INVALID = "400 error"  # oracle result for a claim that is not one of the six values


# --- Oracle: R1 read literally -------------------------------------------------------------------


def r1_oracle(
    claimed: object, default: int, *, agreement: bool, gpc: bool, honours_gpc: bool
) -> int | str:
    """Effective level per R1, written from the spec text with plain integers.

    - A C that is not one of the six values is a 400 error.
    - C absent -> D.  C <= D -> C.
    - C > D -> C only with a current agreement; otherwise D.
    - Then, if the channel honours GPC and Sec-GPC: 1 and no current agreement
      -> min(level, Essential).
    """
    # Only genuine integers are levels: a bool, a float or a string is not one of the values.
    is_one_of_the_six = type(claimed) is int and claimed in SPEC_LEVELS.values()
    if claimed is not None and not is_one_of_the_six:
        return INVALID

    if claimed is None:
        level = default  # C absent -> D
    elif claimed <= default:
        level = claimed  # C <= D -> C: a visitor may always lower
    else:
        # C > D -> C only with a current agreement; otherwise D (a forged raise is ignored).
        level = claimed if agreement else default

    if honours_gpc and gpc and not agreement:
        level = min(level, ESSENTIAL)
    return level


def _claim_id(claimed: object) -> str:
    if claimed is None:
        return "absent"
    if type(claimed) is int and claimed in LABEL_OF:
        return LABEL_OF[claimed]
    return f"invalid-{type(claimed).__name__}-{claimed}"


def _yes_no(flag: bool) -> str:
    return "yes" if flag else "no"


def _on_off(flag: bool) -> str:
    return "on" if flag else "off"


def _r1_cases() -> list:
    cases = []
    for claimed, default, agreement, gpc, honours in product(
        CLAIMS, SPEC_LEVELS.values(), (True, False), (True, False), (True, False)
    ):
        case_id = (
            f"claimed={_claim_id(claimed)}"
            f"-default={LABEL_OF[default]}"
            f"-agreement={_yes_no(agreement)}"
            f"-gpc={_on_off(gpc)}"
            f"-honours_gpc={_yes_no(honours)}"
        )
        cases.append(pytest.param(claimed, default, agreement, gpc, honours, id=case_id))
    return cases


R1_CASES = _r1_cases()


# --- R1: every combination -----------------------------------------------------------------------


@pytest.mark.parametrize(("claimed", "default", "agreement", "gpc", "honours"), R1_CASES)
def test_r1_effective_level_every_combination(
    claimed: object, default: int, agreement: bool, gpc: bool, honours: bool
) -> None:
    """R1: parse the claimed level, then compute the effective level; compare with the oracle."""
    expected = r1_oracle(claimed, default, agreement=agreement, gpc=gpc, honours_gpc=honours)

    if expected == INVALID:
        with pytest.raises(InvalidCookieLevel):
            parse_cookie_level(claimed)
        return

    result = effective_level(
        parse_cookie_level(claimed),
        CookieLevel(default),
        has_agreement=agreement,
        gpc=gpc,
        honours_gpc=honours,
    )
    assert type(result) is CookieLevel
    assert int(result) == expected


# Hand-worked examples, so a mistake shared by the oracle and the module would still show.
R1_WORKED_EXAMPLES = [
    # (claimed, default, agreement, gpc, honours, expected, id)
    (None, 0, False, False, True, 0, "R1-absent-takes-default"),
    (None, 1000, False, True, False, 1000, "R1-absent-default-All-gpc-ignored-by-channel"),
    (None, 1000, False, True, True, 0, "R1-absent-default-All-gpc-caps-to-Essential"),
    (-100, 200, False, False, True, -100, "R1-lowering-always-allowed"),
    (-1000, 1000, True, False, True, -1000, "R1-lowering-to-None-with-agreement"),
    (1000, 0, False, False, True, 0, "R1-forged-raise-ignored"),
    (1000, 0, True, False, True, 1000, "R1-raise-with-agreement-counts"),
    (1000, 0, True, True, True, 1000, "R1-agreement-overrides-gpc"),
    (200, 100, False, True, True, 0, "R1-forged-raise-and-gpc-gives-Essential"),
    (-100, 1000, False, True, True, -100, "R1-gpc-cap-keeps-lower-claim"),
    (200, 200, False, True, False, 200, "R1-equal-claim-gpc-not-honoured"),
]


@pytest.mark.parametrize(
    ("claimed", "default", "agreement", "gpc", "honours", "expected"),
    [pytest.param(*case[:6], id=case[6]) for case in R1_WORKED_EXAMPLES],
)
def test_r1_worked_examples(
    claimed: int | None, default: int, agreement: bool, gpc: bool, honours: bool, expected: int
) -> None:
    """R1: a few cases computed by hand from the spec text."""
    claimed_level = None if claimed is None else CookieLevel(claimed)
    result = effective_level(
        claimed_level,
        CookieLevel(default),
        has_agreement=agreement,
        gpc=gpc,
        honours_gpc=honours,
    )
    assert int(result) == expected


# --- R1: parsing the claimed level ------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        *INVALID_CLAIMS,
        1,
        -1001,
        1001,
        0.0,
        1000.0,
        "All",
        "",
        [200],
        {"level": 200},
    ],
    ids=lambda v: f"{type(v).__name__}-{v!r}",
)
def test_r1_invalid_claimed_level_is_400(value: object) -> None:
    """R1: a C that is not one of the six values is a 400 error (InvalidCookieLevel)."""
    with pytest.raises(InvalidCookieLevel):
        parse_cookie_level(value)


def test_r1_invalid_cookie_level_is_a_value_error() -> None:
    """R1: the 400 error is signalled as a ValueError subclass."""
    assert issubclass(InvalidCookieLevel, ValueError)


@pytest.mark.parametrize(("name", "value"), list(SPEC_LEVELS.items()), ids=list(SPEC_LEVELS))
def test_r1_valid_claimed_level_parses(name: str, value: int) -> None:
    """R1: each of the six integer values parses to its level."""
    result = parse_cookie_level(value)
    assert type(result) is CookieLevel
    assert int(result) == value
    assert result.label == name


def test_r1_absent_claimed_level_parses_to_none() -> None:
    """R1: an absent claim (None) is not an error; it parses to None."""
    assert parse_cookie_level(None) is None


# --- R1: safety properties -----------------------------------------------------------------------


FORGED_RAISE_CASES = [
    pytest.param(
        claimed,
        default,
        gpc,
        honours,
        id=(
            f"claimed={LABEL_OF[claimed]}-default={LABEL_OF[default]}"
            f"-gpc={_on_off(gpc)}-honours_gpc={_yes_no(honours)}"
        ),
    )
    for claimed, default, gpc, honours in product(
        SPEC_LEVELS.values(), SPEC_LEVELS.values(), (True, False), (True, False)
    )
    if claimed > default
]


@pytest.mark.parametrize(("claimed", "default", "gpc", "honours"), FORGED_RAISE_CASES)
def test_r1_forged_raise_without_agreement_never_exceeds_default(
    claimed: int, default: int, gpc: bool, honours: bool
) -> None:
    """R1: a raise above the default without a current agreement is ignored (forged raise)."""
    result = effective_level(
        CookieLevel(claimed),
        CookieLevel(default),
        has_agreement=False,
        gpc=gpc,
        honours_gpc=honours,
    )
    assert int(result) <= default


GPC_CAP_CASES = [
    pytest.param(claimed, default, id=f"claimed={_claim_id(claimed)}-default={LABEL_OF[default]}")
    for claimed, default in product((ABSENT, *SPEC_LEVELS.values()), SPEC_LEVELS.values())
]


@pytest.mark.parametrize(("claimed", "default"), GPC_CAP_CASES)
def test_r1_gpc_honoured_without_agreement_never_exceeds_essential(
    claimed: int | None, default: int
) -> None:
    """R1: Sec-GPC: 1 on a channel that honours GPC, no agreement -> at most Essential."""
    claimed_level = None if claimed is None else CookieLevel(claimed)
    result = effective_level(
        claimed_level,
        CookieLevel(default),
        has_agreement=False,
        gpc=True,
        honours_gpc=True,
    )
    assert int(result) <= ESSENTIAL


# --- R2: tracking only at Visitor or above -------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value", "tracked"),
    [
        ("None", -1000, False),
        ("System", -100, False),
        ("Essential", 0, False),
        ("Editor", 100, False),
        ("Visitor", 200, True),
        ("All", 1000, True),
    ],
    ids=["None", "System", "Essential", "Editor", "Visitor", "All"],
)
def test_r2_may_track_only_at_visitor_or_above(name: str, value: int, tracked: bool) -> None:
    """R2: contacts and activities are tracked only when the effective level >= Visitor (200)."""
    assert may_track(CookieLevel(value)) is tracked


def test_r2_may_track_is_true_exactly_for_visitor_and_all() -> None:
    """R2: the set of tracked levels is exactly {Visitor, All}."""
    tracked = {level.label for level in CookieLevel if may_track(level)}
    assert tracked == {"Visitor", "All"}


# --- R3: cookies to delete below Visitor ---------------------------------------------------------


@pytest.mark.parametrize(("name", "value"), list(SPEC_LEVELS.items()), ids=list(SPEC_LEVELS))
def test_r3_cookies_to_clear(name: str, value: int) -> None:
    """R3: below Visitor the browser deletes CurrentContact and CMSLandingPageLoaded; at None
    (no cookies at all, section 3) also CMSCookieLevel; at Visitor and above nothing."""
    expected = VISITOR_COOKIE_NAMES if value < VISITOR else []
    if value == -1000:
        expected = [*VISITOR_COOKIE_NAMES, "CMSCookieLevel"]
    result = cookies_to_clear(CookieLevel(value))
    assert isinstance(result, list)
    assert sorted(result) == sorted(expected)
    assert len(result) == len(set(result)), "no cookie is listed twice"


# --- Enum values (domain.md section 3 table) -----------------------------------------------------


def test_cookie_level_values_match_the_spec_table() -> None:
    """Section 3: the six levels and their integer values are exactly those of the table."""
    assert {member.name: member.value for member in CookieLevel} == {
        "NONE": -1000,
        "SYSTEM": -100,
        "ESSENTIAL": 0,
        "EDITOR": 100,
        "VISITOR": 200,
        "ALL": 1000,
    }


def test_cookie_level_labels_match_the_spec_names() -> None:
    """Section 3: each level's human label is the spec's name for that value."""
    assert {member.label: int(member) for member in CookieLevel} == SPEC_LEVELS


def test_cookie_levels_compare_as_integers() -> None:
    """Section 3: values are stored and compared as integers, in table order."""
    ordered = sorted(CookieLevel)
    assert [int(level) for level in ordered] == sorted(SPEC_LEVELS.values())
    assert all(isinstance(level, int) for level in CookieLevel)
