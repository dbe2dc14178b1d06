"""Contact-group forms; the condition builder's fields are read by ``builder.tree_from_form``."""

from flask_wtf import FlaskForm
from wtforms import BooleanField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, Regexp

from .services import MAX_MANUAL_ENTRIES


def _strip(value: str | None) -> str | None:
    return value.strip() if isinstance(value, str) else value


class GroupForm(FlaskForm):
    """A group's name, description and enabled switch."""

    display_name = StringField(
        "Display name", filters=[_strip], validators=[DataRequired(), Length(max=200)]
    )
    code_name = StringField(
        "Code name",
        filters=[_strip],
        validators=[
            DataRequired(),
            Length(max=100),
            Regexp(
                r"^[a-z0-9][a-z0-9_-]*$",
                message="Use lower-case letters, digits, hyphens and underscores.",
            ),
        ],
    )
    description = TextAreaField(
        "Description", filters=[_strip], validators=[Optional(), Length(max=2000)]
    )
    enabled = BooleanField("Enabled", default=True)


class ManualMembersForm(FlaskForm):
    """Contacts to add by hand, by email or GUID."""

    entries = TextAreaField(
        "Emails or GUIDs",
        validators=[DataRequired(), Length(max=MAX_MANUAL_ENTRIES * 60)],
        description="One per line, or separated by commas.",
    )


class ConfirmForm(FlaskForm):
    """Submit-only form: its CSRF token guards a state change without fields."""
