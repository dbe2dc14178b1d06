"""Demo contact groups, so a newcomer's marketer view shows segments with members.

They are built through the same validation, save and recalculation services as the builder
page, from conditions written as the builder stores them: the demo exercises the real path.
"""

from sqlalchemy import select

from ..database import write_intent
from ..domain import segments as s
from ..extensions import db
from ..models import ActivityType, Consent
from .services import GroupDetails, load_catalogue, recalculate, save_group, validate_tree


def _rule(rule_type: str, **params: object) -> dict:
    return {"type": rule_type, "negate": False, "params": params}


def _demo_conditions() -> list[tuple[GroupDetails, dict]]:
    page_visit = db.session.scalar(
        select(ActivityType.id).where(ActivityType.code_name == "pagevisit")
    )
    consent = db.session.scalar(select(Consent.id).order_by(Consent.id))
    engaged = [_rule(s.ACTIVITY_COUNT, type_id=page_visit, times=3, days=30)]
    if consent is not None:
        engaged.append(_rule(s.CONSENT_AGREED, consent_id=consent))
    return [
        (
            GroupDetails(
                "engaged-visitors",
                "Engaged visitors",
                "Three or more page visits in the last 30 days, with the tracking consent.",
                True,
            ),
            {"op": s.ALL, "groups": [{"op": s.ALL, "rules": engaged}]},
        ),
        (
            GroupDetails(
                "dach-identified",
                "Identified contacts in DACH",
                "Known by email, from Germany, Austria or Switzerland.",
                True,
            ),
            {
                "op": s.ALL,
                "groups": [
                    {
                        "op": s.ALL,
                        "rules": [
                            _rule(s.IDENTIFIED),
                            _rule(s.COUNTRY, countries=["DE", "AT", "CH"]),
                        ],
                    }
                ],
            },
        ),
    ]


def seed_demo_groups() -> list[str]:
    """Create and calculate the demo groups; return their names with member counts."""
    done = []
    for details, raw in _demo_conditions():
        validation = validate_tree(raw, load_catalogue())
        if validation.condition is None:
            raise ValueError(f"demo group {details.code_name}: {validation.errors}")
        with write_intent():
            group = save_group(None, details, validation.condition)
        result = recalculate(group.id)[0]
        done.append(f"{details.display_name}: {result.members:,} members")
    return done
